// Resampling (src/tessera/data/resize.h) against torchvision's F.resize and
// F.resized_crop with antialias=True on uint8 tensors, run at test time
// (tests/reference/torchvision_transforms.py): up- and downscaling, odd sizes, one axis
// only, 1 and 3 channels, noise and smooth content, the three interpolations. Also the
// window variant against the full resize, flat images, and bad boxes.
#include "tessera/data/resize.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "fixtures/transform_reference.h"
#include "tessera/data/crop_params.h"

namespace tessera::data {
namespace {

using testing::level_diff;
using testing::LevelDiff;

// Where torch resizes uint8 itself (AVX2, AVX512, arm64) Tessera's fixed-point passes
// are its own, so the results must be equal. Elsewhere torch resizes in float and
// rounds once: then a value near a rounding boundary may differ by a level.
constexpr int kMaxLevelsFloatTorch = 1;
constexpr double kMaxDifferingShareFloatTorch = 0.05;

const std::map<std::string, Image>& inputs() {
  static const std::map<std::string, Image> images = {
      {"noise3_37x53", testing::noise_image(3, 37, 53, 1)},
      {"noise3_32x32", testing::noise_image(3, 32, 32, 2)},
      {"noise1_31x17", testing::noise_image(1, 31, 17, 3)},
      {"photo3_300x200", testing::photo_like_image(3, 300, 200, 4)},
      {"photo3_64x80", testing::photo_like_image(3, 64, 80, 5)},
      {"photo1_100x9", testing::photo_like_image(1, 100, 9, 6)},
  };
  return images;
}

struct ResizeCase {
  std::string input;
  CropBox box;  // height 0: the whole image (F.resize), else F.resized_crop
  int64_t out_h;
  int64_t out_w;
  Interpolation interpolation;

  std::string name() const {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s box(%lld,%lld,%lldx%lld) -> %lldx%lld %s", input.c_str(),
                  static_cast<long long>(box.top), static_cast<long long>(box.left), static_cast<long long>(box.height),
                  static_cast<long long>(box.width), static_cast<long long>(out_h), static_cast<long long>(out_w),
                  testing::interpolation_name(interpolation));
    return buf;
  }
  bool whole() const { return box.height == 0; }
};

std::vector<ResizeCase> cases() {
  std::vector<ResizeCase> all;
  for (const auto mode : {Interpolation::Nearest, Interpolation::Bilinear, Interpolation::Bicubic}) {
    const CropBox whole{};
    all.push_back({"noise3_37x53", whole, 20, 71, mode});   // down in height, up in width
    all.push_back({"noise3_37x53", whole, 74, 106, mode});  // exactly x2 (nearest's shift path)
    all.push_back({"noise3_37x53", whole, 2, 3, mode});     // (1x1 trips an assert in torch's uint8 kernel)
    all.push_back({"noise3_32x32", whole, 32, 32, mode});   // same size: untouched
    all.push_back({"noise1_31x17", whole, 95, 6, mode});
    all.push_back({"photo3_300x200", whole, 64, 48, mode});  // ~4.5x down: wide antialias support
    all.push_back({"photo3_300x200", whole, 131, 223, mode});
    all.push_back({"photo3_64x80", whole, 224, 224, mode});  // 3.5x / 2.8x up
    all.push_back({"photo3_64x80", whole, 64, 23, mode});    // horizontal pass only
    all.push_back({"photo1_100x9", whole, 33, 9, mode});     // vertical pass only
    all.push_back({"photo3_64x80", {5, 7, 23, 41}, 224, 224, mode});
    all.push_back({"photo3_64x80", {0, 0, 64, 80}, 32, 32, mode});
    all.push_back({"photo3_64x80", {10, 3, 1, 1}, 8, 8, mode});       // one source pixel
    all.push_back({"photo3_64x80", {13, 20, 32, 32}, 32, 32, mode});  // a plain crop
    all.push_back({"noise3_37x53", {3, 2, 30, 47}, 17, 9, mode});
    all.push_back({"noise1_31x17", {30, 0, 1, 17}, 5, 40, mode});  // the last row
  }
  return all;
}

// torchvision's outputs of every case, computed once for the file.
const std::map<std::string, at::Tensor>& reference() {
  static const auto outputs = [] {
    testing::TorchvisionJobs jobs;
    for (const auto& [name, image] : inputs()) jobs.input(name, image);
    for (const auto& c : cases()) {
      const char* mode = testing::interpolation_name(c.interpolation);
      if (c.whole()) {
        jobs.job(c.name(), c.input, {{{"op", "resize"}, {"size", {c.out_h, c.out_w}}, {"interpolation", mode}}});
      } else {
        jobs.job(c.name(), c.input,
                 {{{"op", "resized_crop"},
                   {"top", c.box.top},
                   {"left", c.box.left},
                   {"height", c.box.height},
                   {"width", c.box.width},
                   {"size", {c.out_h, c.out_w}},
                   {"interpolation", mode}}});
      }
    }
    for (const auto& [name, image] : inputs()) {  // Resize(int): the shorter side
      jobs.job("short " + name, name, {{{"op", "resize"}, {"size", 23}, {"interpolation", "bilinear"}}});
    }
    return jobs.run(testing::scratch_dir());
  }();
  return outputs;
}

// Whether torch resized `mode` in fixed point as Tessera does (see the script).
bool torch_resizes_uint8_itself(Interpolation mode) {
  if (mode == Interpolation::Nearest) return true;  // no rounding at all
  const auto native = reference().at("native_uint8_resize");
  return native[mode == Interpolation::Bilinear ? 0 : 1].item<int64_t>() != 0;
}

void expect_close(const std::string& name, Interpolation mode, const LevelDiff& d) {
  if (torch_resizes_uint8_itself(mode)) {
    EXPECT_EQ(d.max, 0) << name;
  } else {
    EXPECT_LE(d.max, kMaxLevelsFloatTorch) << name;
    EXPECT_LE(d.fraction, kMaxDifferingShareFloatTorch) << name;
  }
}

LevelDiff run_case(const ResizeCase& c) {
  const Image& src = inputs().at(c.input);
  Image out;
  if (c.whole()) {
    resize(src, c.out_h, c.out_w, c.interpolation, out);
  } else {
    resized_crop(src, c.box, c.out_h, c.out_w, c.interpolation, out);
  }
  const auto& ref = reference();
  const auto it = ref.find(c.name());
  if (it == ref.end()) {
    ADD_FAILURE() << "no torchvision output for " << c.name();
    return {256, 1.0};
  }
  return level_diff(out, it->second);
}

TEST(Resize, MatchesTorchvision) {
  ASSERT_FALSE(reference().empty()) << "the torchvision reference did not run";
  for (const auto& c : cases()) {
    const LevelDiff d = run_case(c);
    std::printf("  %-60s max %d level(s), %.4f%% of values differ\n", c.name().c_str(), d.max, 100.0 * d.fraction);
    if ((c.out_h == c.box.height && c.out_w == c.box.width) ||
        (c.whole() && c.out_h == inputs().at(c.input).height && c.out_w == inputs().at(c.input).width)) {
      EXPECT_EQ(d.max, 0) << c.name() << ": same-size resizes are plain crops";
    }
    expect_close(c.name(), c.interpolation, d);
  }
}

TEST(Resize, ShorterSideSizeMatchesTorchvision) {
  ASSERT_FALSE(reference().empty()) << "the torchvision reference did not run";
  for (const auto& [name, image] : inputs()) {
    const auto [h, w] = shorter_side_size(image.height, image.width, 23);
    Image out;
    resize(image, h, w, Interpolation::Bilinear, out);
    ASSERT_TRUE(reference().count("short " + name)) << name;
    expect_close(name, Interpolation::Bilinear, level_diff(out, reference().at("short " + name)));
  }
}

TEST(Resize, WindowIsThatPartOfTheFullResult) {
  const Image& src = inputs().at("photo3_300x200");
  for (const auto mode : {Interpolation::Nearest, Interpolation::Bilinear, Interpolation::Bicubic}) {
    for (const auto& [box, out_h, out_w, window] :
         std::vector<std::tuple<CropBox, int64_t, int64_t, CropBox>>{{{0, 0, 300, 200}, 256, 170, {16, 0, 224, 170}},
                                                                     {{7, 9, 120, 33}, 90, 41, {3, 5, 1, 30}},
                                                                     {{0, 0, 300, 200}, 77, 200, {10, 20, 40, 100}}}) {
      Image full, part;
      resized_crop(src, box, out_h, out_w, mode, full);
      resized_crop_window(src, box, out_h, out_w, window, mode, part);
      ASSERT_EQ(part.channels, 3);
      ASSERT_EQ(part.height, window.height);
      ASSERT_EQ(part.width, window.width);
      for (int64_t c = 0; c < 3; ++c) {
        for (int64_t y = 0; y < window.height; ++y) {
          for (int64_t x = 0; x < window.width; ++x) {
            ASSERT_EQ(part.at(c, y, x), full.at(c, window.top + y, window.left + x))
                << testing::interpolation_name(mode) << " at " << c << "," << y << "," << x;
          }
        }
      }
    }
  }
}

TEST(Resize, ConstantImageStaysConstant) {
  // Taps sum to one: a flat image keeps its value at any scale (no drift from the
  // normalization or the rounding of the intermediate rows).
  Image flat;
  flat.resize(3, 41, 29);
  std::fill(flat.pixels.begin(), flat.pixels.end(), 173);
  for (const auto mode : {Interpolation::Bilinear, Interpolation::Bicubic}) {
    for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{7, 5}, {200, 150}, {41, 300}}) {
      Image out;
      resize(flat, h, w, mode, out);
      for (const uint8_t v : out.pixels) ASSERT_EQ(v, 173) << testing::interpolation_name(mode) << " " << h << "x" << w;
    }
  }
}

TEST(Resize, RejectsBoxesOutsideTheImage) {
  const Image& src = inputs().at("noise3_32x32");
  Image out;
  EXPECT_THROW(resized_crop(src, {0, 0, 33, 10}, 8, 8, Interpolation::Bilinear, out), c10::Error);
  EXPECT_THROW(resized_crop(src, {-1, 0, 10, 10}, 8, 8, Interpolation::Bilinear, out), c10::Error);
  EXPECT_THROW(resized_crop(src, {0, 0, 0, 10}, 8, 8, Interpolation::Bilinear, out), c10::Error);
  EXPECT_THROW(resize(src, 0, 8, Interpolation::Bilinear, out), c10::Error);
  EXPECT_THROW(resized_crop_window(src, {0, 0, 32, 32}, 8, 8, {4, 4, 5, 1}, Interpolation::Bilinear, out), c10::Error);
}

}  // namespace
}  // namespace tessera::data
