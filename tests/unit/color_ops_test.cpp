// Colour adjustments (src/tessera/data/color_ops.h) against torchvision.transforms.v2
// .functional on uint8 tensors, run at test time (tests/reference/
// torchvision_transforms.py): brightness, contrast, saturation, hue over their ranges,
// grey images, rgb_to_grayscale.
#include "tessera/data/color_ops.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fixtures/transform_reference.h"

namespace tessera::data {
namespace {

using testing::level_diff;
using testing::LevelDiff;

const std::map<std::string, Image>& inputs() {
  static const std::map<std::string, Image> images = {
      {"photo3", testing::photo_like_image(3, 45, 67, 11)},
      {"noise3", testing::noise_image(3, 23, 31, 12)},
      {"photo1", testing::photo_like_image(1, 19, 26, 13)},
  };
  return images;
}

struct ColorCase {
  std::string op;  // torchvision's name: brightness, contrast, saturation, hue
  std::string input;
  double factor;
  std::string name() const { return op + " " + input + " " + std::to_string(factor); }
};

std::vector<ColorCase> cases() {
  std::vector<ColorCase> all;
  for (const std::string input : {"photo3", "noise3", "photo1"}) {
    for (const double f : {0.0, 0.37, 1.0, 1.6, 2.5}) all.push_back({"brightness", input, f});
    for (const double f : {0.0, 0.5, 0.93, 1.3, 2.9}) all.push_back({"contrast", input, f});
    for (const double f : {0.0, 0.4, 1.0, 1.7, 3.3}) all.push_back({"saturation", input, f});
    for (const double f : {-0.5, -0.21, 0.0, 0.013, 0.13, 0.5}) all.push_back({"hue", input, f});
  }
  return all;
}

const std::map<std::string, at::Tensor>& reference() {
  static const auto outputs = [] {
    testing::TorchvisionJobs jobs;
    for (const auto& [name, image] : inputs()) jobs.input(name, image);
    for (const auto& c : cases()) jobs.job(c.name(), c.input, {{{"op", c.op}, {"factor", c.factor}}});
    for (const auto& [name, image] : inputs()) jobs.job("grey " + name, name, {{{"op", "grayscale"}, {"channels", 1}}});
    return jobs.run(testing::scratch_dir());
  }();
  return outputs;
}

void apply(const ColorCase& c, Image& image) {
  static const std::map<std::string, std::function<void(Image&, double)>> ops = {
      {"brightness", adjust_brightness},
      {"contrast", adjust_contrast},
      {"saturation", adjust_saturation},
      {"hue", adjust_hue},
  };
  ops.at(c.op)(image, c.factor);
}

TEST(ColorOps, MatchTorchvision) {
  ASSERT_FALSE(reference().empty()) << "the torchvision reference did not run";
  int differing_cases = 0;
  for (const auto& c : cases()) {
    Image image = inputs().at(c.input);
    apply(c, image);
    ASSERT_TRUE(reference().count(c.name())) << c.name();
    const LevelDiff d = level_diff(image, reference().at(c.name()));
    if (d.max > 0) {
      ++differing_cases;
      std::printf("  %-28s max %d level(s), %.4f%% of values differ\n", c.name().c_str(), d.max, 100.0 * d.fraction);
    }
    EXPECT_LE(d.max, 1) << c.name();
    EXPECT_LE(d.fraction, 0.001) << c.name();
  }
  std::printf("  %d of %zu colour cases differ from torchvision at all\n", differing_cases, cases().size());
}

TEST(ColorOps, GreyImagesKeepSaturationAndHue) {
  const Image& grey = inputs().at("photo1");
  for (const double f : {0.0, 2.0}) {
    Image image = grey;
    adjust_saturation(image, f);
    EXPECT_EQ(image.pixels, grey.pixels);
  }
  Image image = grey;
  adjust_hue(image, 0.3);
  EXPECT_EQ(image.pixels, grey.pixels);
}

TEST(ColorOps, RgbToGrayscaleMatchesTorchvision) {
  ASSERT_FALSE(reference().empty()) << "the torchvision reference did not run";
  for (const auto& [name, image] : inputs()) {
    Image grey;
    rgb_to_grayscale(image, grey);
    ASSERT_EQ(grey.channels, 1);
    ASSERT_TRUE(reference().count("grey " + name));
    const LevelDiff d = level_diff(grey, reference().at("grey " + name));
    EXPECT_EQ(d.max, 0) << name;
  }
}

TEST(ColorOps, RejectBadFactors) {
  Image image = inputs().at("noise3");
  EXPECT_THROW(adjust_brightness(image, -0.1), c10::Error);
  EXPECT_THROW(adjust_contrast(image, -1.0), c10::Error);
  EXPECT_THROW(adjust_saturation(image, -0.5), c10::Error);
  EXPECT_THROW(adjust_hue(image, 0.51), c10::Error);
  Image two;
  two.resize(2, 3, 3);
  EXPECT_THROW(adjust_brightness(two, 1.0), c10::Error);
}

}  // namespace
}  // namespace tessera::data
