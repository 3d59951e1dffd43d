// torchvision's ColorJitter (src/tessera/data/color_jitter.h): the draws (a uniform
// order, factors in their ranges, none for an adjustment that is off) and the
// application in the drawn order. The ops themselves are compared with torchvision in
// color_ops_test.cpp.
#include "tessera/data/color_jitter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "fixtures/transform_reference.h"
#include "tessera/data/color_ops.h"

namespace tessera::data {
namespace {

TEST(ColorJitter, DrawsFactorsInTheirRanges) {
  const ColorJitterSpec spec{0.4, 1.5, 0.2, 0.1};
  SampleRng rng(7);
  double lo[4] = {9, 9, 9, 9}, hi[4] = {-9, -9, -9, -9};
  for (int i = 0; i < 20000; ++i) {
    const ColorJitterDraw d = draw_color_jitter(spec, rng);
    ASSERT_TRUE(d.brightness && d.contrast && d.saturation && d.hue);
    const double v[4] = {*d.brightness, *d.contrast, *d.saturation, *d.hue};
    for (int k = 0; k < 4; ++k) lo[k] = std::min(lo[k], v[k]), hi[k] = std::max(hi[k], v[k]);
  }
  // [max(0, 1 - x), 1 + x] and [-h, h], each nearly reached over 20000 draws.
  const double want_lo[4] = {0.6, 0.0, 0.8, -0.1}, want_hi[4] = {1.4, 2.5, 1.2, 0.1};
  for (int k = 0; k < 4; ++k) {
    EXPECT_GE(lo[k], want_lo[k]) << k;
    EXPECT_LE(hi[k], want_hi[k]) << k;
    EXPECT_NEAR(lo[k], want_lo[k], 0.01) << k;
    EXPECT_NEAR(hi[k], want_hi[k], 0.01) << k;
  }
}

TEST(ColorJitter, OffAdjustmentsHaveNoFactor) {
  SampleRng rng(3);
  const ColorJitterDraw d = draw_color_jitter(ColorJitterSpec{0.0, 0.3, 0.0, 0.0}, rng);
  EXPECT_FALSE(d.brightness);
  EXPECT_TRUE(d.contrast);
  EXPECT_FALSE(d.saturation);
  EXPECT_FALSE(d.hue);
}

TEST(ColorJitter, OrderIsAUniformPermutation) {
  SampleRng rng(11);
  std::map<std::array<int, 4>, int> seen;
  constexpr int kDraws = 24000;
  for (int i = 0; i < kDraws; ++i) {
    const auto order = draw_color_jitter(ColorJitterSpec{0.1, 0.1, 0.1, 0.1}, rng).order;
    auto sorted = order;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted, (std::array<int, 4>{0, 1, 2, 3}));
    ++seen[order];
  }
  ASSERT_EQ(seen.size(), 24u);
  for (const auto& [order, n] : seen) {
    EXPECT_NEAR(n, kDraws / 24, 150) << order[0] << order[1] << order[2] << order[3];  // ~5 standard deviations
  }
}

TEST(ColorJitter, AppliesTheOpsInTheDrawnOrder) {
  const Image src = testing::photo_like_image(3, 20, 24, 5);
  ColorJitterDraw draw;
  draw.brightness = 1.3;
  draw.contrast = 0.6;
  draw.saturation = 1.8;
  draw.hue = -0.2;
  Image by_hand = src;
  adjust_hue(by_hand, -0.2);
  adjust_brightness(by_hand, 1.3);
  adjust_saturation(by_hand, 1.8);
  adjust_contrast(by_hand, 0.6);
  draw.order = {3, 0, 2, 1};
  Image jittered = src;
  apply_color_jitter(jittered, draw);
  EXPECT_EQ(jittered.pixels, by_hand.pixels);

  draw.order = {0, 1, 2, 3};  // another order gives another image
  Image other = src;
  apply_color_jitter(other, draw);
  EXPECT_NE(other.pixels, by_hand.pixels);

  draw.brightness.reset();  // an adjustment without a factor is skipped
  Image skipped = src;
  apply_color_jitter(skipped, draw);
  Image expect = src;
  adjust_contrast(expect, 0.6);
  adjust_saturation(expect, 1.8);
  adjust_hue(expect, -0.2);
  EXPECT_EQ(skipped.pixels, expect.pixels);
}

}  // namespace
}  // namespace tessera::data
