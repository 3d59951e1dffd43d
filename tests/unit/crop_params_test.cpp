// Crop placement and resize sizes (src/tessera/data/crop_params.h): RandomResizedCrop's
// boxes (always inside, share of area and aspect in range, the centre-crop fallback),
// CenterCrop's anchor and padding, Resize(int) and timm's eval sizes.
#include "tessera/data/crop_params.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tessera::data {
namespace {

TEST(CropParams, RandomResizedCropBoxesLieInsideAndFollowTheSpec) {
  const RandomResizedCropSpec spec;  // scale (0.08, 1), ratio (3/4, 4/3)
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{32, 32}, {375, 500}, {17, 90}, {1, 1}, {2, 3}}) {
    SampleRng rng(static_cast<uint64_t>(h * 1000 + w));
    bool top_zero = false, bottom_edge = false;
    for (int i = 0; i < 5000; ++i) {
      const CropBox b = random_resized_crop_box(h, w, spec, rng);
      ASSERT_GT(b.height, 0);
      ASSERT_GT(b.width, 0);
      ASSERT_GE(b.top, 0);
      ASSERT_GE(b.left, 0);
      ASSERT_LE(b.top + b.height, h);
      ASSERT_LE(b.left + b.width, w);
      top_zero |= b.top == 0;
      bottom_edge |= b.top + b.height == h;
      if (h >= 32 && w >= 32) {  // large enough that rounding stays small
        const double share = static_cast<double>(b.height * b.width) / static_cast<double>(h * w);
        EXPECT_LE(share, 1.0 + 0.1);
        EXPECT_GE(share, 0.08 * 0.7);
      }
    }
    EXPECT_TRUE(top_zero && bottom_edge) << h << "x" << w << ": offsets reach both edges";
  }
}

TEST(CropParams, RandomResizedCropFallsBackToTheCentre) {
  // 10 x 100 at scale >= 0.9: every try is taller than 10, so torchvision takes the
  // widest allowed ratio (4/3) of the full height, centred.
  RandomResizedCropSpec spec;
  spec.scale = {0.9, 1.0};
  SampleRng rng(1);
  const CropBox b = random_resized_crop_box(10, 100, spec, rng);
  EXPECT_EQ(b, (CropBox{0, 43, 10, 13}));  // w = round(10 * 4/3) = 13, left = (100 - 13) // 2
  // The same on a tall image: the full width and round(w / (3/4)) rows.
  const CropBox t = random_resized_crop_box(100, 10, spec, rng);
  EXPECT_EQ(t, (CropBox{43, 0, 13, 10}));
  // Ten tries are two uniforms each, then nothing more.
  SampleRng a(5), b2(5);
  random_resized_crop_box(10, 100, spec, a);
  for (int i = 0; i < 20; ++i) b2.uniform();
  EXPECT_EQ(a.next(), b2.next());
}

TEST(CropParams, CenterCropAnchorsAndPads) {
  EXPECT_EQ(center_crop_box(256, 341, 224, 224), (CropBox{16, 58, 224, 224}));  // round(58.5) = 58 (half to even)
  EXPECT_EQ(center_crop_box(227, 229, 224, 224), (CropBox{2, 2, 224, 224}));    // round(1.5) = 2, round(2.5) = 2
  EXPECT_EQ(center_crop_box(20, 30, 24, 24), (CropBox{-2, 3, 24, 24}));         // pads 2 rows above
  EXPECT_EQ(center_crop_box(21, 30, 24, 24), (CropBox{-1, 3, 24, 24}));         // pads (24 - 21) // 2 = 1 above
}

TEST(CropParams, ResizeSizes) {
  EXPECT_EQ(shorter_side_size(375, 500, 256), (std::array<int64_t, 2>{256, 341}));  // int(256 * 500 / 375)
  EXPECT_EQ(shorter_side_size(500, 375, 256), (std::array<int64_t, 2>{341, 256}));
  EXPECT_EQ(shorter_side_size(32, 32, 36), (std::array<int64_t, 2>{36, 36}));
  EXPECT_EQ(eval_resize_size(375, 500, 224, 224, 0.875), (std::array<int64_t, 2>{256, 341}));
  EXPECT_EQ(eval_resize_size(375, 500, 224, 224, 0.9), (std::array<int64_t, 2>{248, 330}));  // floor(248.9)
  EXPECT_EQ(eval_resize_size(32, 32, 32, 32, 1.0), (std::array<int64_t, 2>{32, 32}));
  // Non-square: timm's ResizeKeepRatio, round(side / min(375 / 266, 500 / 355)).
  EXPECT_EQ(eval_resize_size(375, 500, 240, 320, 0.9), (std::array<int64_t, 2>{266, 355}));
}

}  // namespace
}  // namespace tessera::data
