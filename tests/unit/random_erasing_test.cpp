// timm's RandomErasing (src/tessera/data/random_erasing.h): the probability, the box
// count, sizes and positions, what each mode writes, and the normal numbers.
#include "tessera/data/random_erasing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

namespace tessera::data {
namespace {

constexpr int64_t C = 3, H = 24, W = 40;

std::vector<float> ones() { return std::vector<float>(static_cast<size_t>(C * H * W), 1.0f); }

bool inside(const CropBox& b, int64_t y, int64_t x) {
  return y >= b.top && y < b.top + b.height && x >= b.left && x < b.left + b.width;
}

TEST(RandomErasing, ProbabilityZeroLeavesTheImageAndTheStream) {
  RandomErasingSpec spec;
  spec.prob = 0.0;
  auto image = ones();
  SampleRng rng(1), untouched(1);
  random_erase(image.data(), C, H, W, spec, rng);
  EXPECT_EQ(image, ones());
  EXPECT_EQ(rng.next(), untouched.next());
}

TEST(RandomErasing, ErasesWithItsProbability) {
  RandomErasingSpec spec;
  spec.prob = 0.3;
  spec.mode = ErasingMode::Const;
  SampleRng rng(2);
  int erased = 0;
  constexpr int kTrials = 10000;
  for (int i = 0; i < kTrials; ++i) {
    auto image = ones();
    std::vector<CropBox> boxes;
    random_erase(image.data(), C, H, W, spec, rng, &boxes);
    erased += !boxes.empty();
  }
  EXPECT_NEAR(static_cast<double>(erased) / kTrials, 0.3, 0.02);
}

TEST(RandomErasing, ConstBoxesAreZeroAndInside) {
  RandomErasingSpec spec;
  spec.prob = 1.0;
  spec.mode = ErasingMode::Const;
  spec.min_count = 1;
  spec.max_count = 3;
  SampleRng rng(3);
  std::map<size_t, int> counts;
  double share_sum = 0.0;
  int boxes_seen = 0;
  for (int i = 0; i < 3000; ++i) {
    auto image = ones();
    std::vector<CropBox> boxes;
    random_erase(image.data(), C, H, W, spec, rng, &boxes);
    ++counts[boxes.size()];
    for (const auto& b : boxes) {
      ASSERT_GE(b.top, 0);
      ASSERT_GE(b.left, 0);
      ASSERT_LT(b.height, H);
      ASSERT_LT(b.width, W);
      ASSERT_LE(b.top + b.height, H);
      ASSERT_LE(b.left + b.width, W);
      share_sum += static_cast<double>(b.height * b.width) / (H * W) * static_cast<double>(boxes.size());
      ++boxes_seen;
    }
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t y = 0; y < H; ++y) {
        for (int64_t x = 0; x < W; ++x) {
          const bool erased =
              std::any_of(boxes.begin(), boxes.end(), [&](const CropBox& b) { return inside(b, y, x); });
          ASSERT_EQ(image[static_cast<size_t>((c * H + y) * W + x)], erased ? 0.0f : 1.0f);
        }
      }
    }
  }
  // Counts 1..3 (a box whose 10 tries all fail is skipped, so fewer can happen).
  EXPECT_EQ(counts.count(0), 0u);
  for (size_t n = 1; n <= 3; ++n) EXPECT_GT(counts[n], 800) << n;
  // A box covers U(0.02, 1/3) / count of the area (mean 0.177 before rounding and the
  // boxes refused for being too tall or wide, which are mostly the large ones).
  const double mean_share = share_sum / boxes_seen;
  EXPECT_GT(mean_share, 0.12);
  EXPECT_LT(mean_share, 0.19);
}

TEST(RandomErasing, FixedAreaAndAspectGiveFixedBoxesAtUniformPlaces) {
  RandomErasingSpec spec;
  spec.prob = 1.0;
  spec.mode = ErasingMode::Const;
  spec.min_area = spec.max_area = 0.25;  // 240 pixels
  spec.min_aspect = 1.0;                 // aspect 1: h = w = round(sqrt(240)) = 15
  SampleRng rng(4);
  double top_sum = 0.0;
  int64_t top_min = H, top_max = 0;
  constexpr int kTrials = 4000;
  for (int i = 0; i < kTrials; ++i) {
    auto image = ones();
    std::vector<CropBox> boxes;
    random_erase(image.data(), C, H, W, spec, rng, &boxes);
    ASSERT_EQ(boxes.size(), 1u);
    ASSERT_EQ(boxes[0].height, 15);
    ASSERT_EQ(boxes[0].width, 15);
    top_sum += static_cast<double>(boxes[0].top);
    top_min = std::min(top_min, boxes[0].top);
    top_max = std::max(top_max, boxes[0].top);
  }
  // timm's randint(0, H - h) includes both ends.
  EXPECT_EQ(top_min, 0);
  EXPECT_EQ(top_max, H - 15);
  EXPECT_NEAR(top_sum / kTrials, (H - 15) / 2.0, 0.2);
}

TEST(RandomErasing, RandFillsOneNormalPerChannel) {
  RandomErasingSpec spec;
  spec.prob = 1.0;
  spec.mode = ErasingMode::Rand;
  SampleRng rng(5);
  auto image = ones();
  std::vector<CropBox> boxes;
  random_erase(image.data(), C, H, W, spec, rng, &boxes);
  ASSERT_EQ(boxes.size(), 1u);
  const CropBox& b = boxes[0];
  for (int64_t c = 0; c < C; ++c) {
    const float v = image[static_cast<size_t>((c * H + b.top) * W + b.left)];
    EXPECT_NE(v, 1.0f);
    for (int64_t y = b.top; y < b.top + b.height; ++y) {
      for (int64_t x = b.left; x < b.left + b.width; ++x) ASSERT_EQ(image[static_cast<size_t>((c * H + y) * W + x)], v);
    }
  }
  EXPECT_NE(image[static_cast<size_t>(b.top * W + b.left)], image[static_cast<size_t>((H + b.top) * W + b.left)]);
}

TEST(RandomErasing, PixelModeFillsStandardNormalNoise) {
  RandomErasingSpec spec;
  spec.prob = 1.0;
  spec.mode = ErasingMode::Pixel;
  SampleRng rng(6);
  double sum = 0.0, sum_sq = 0.0;
  int64_t n = 0, within_one = 0;
  for (int i = 0; i < 200; ++i) {
    auto image = ones();
    std::vector<CropBox> boxes;
    random_erase(image.data(), C, H, W, spec, rng, &boxes);
    for (const auto& b : boxes) {
      for (int64_t c = 0; c < C; ++c) {
        for (int64_t y = b.top; y < b.top + b.height; ++y) {
          for (int64_t x = b.left; x < b.left + b.width; ++x) {
            const double v = image[static_cast<size_t>((c * H + y) * W + x)];
            sum += v;
            sum_sq += v * v;
            within_one += std::abs(v) < 1.0;
            ++n;
          }
        }
      }
    }
  }
  ASSERT_GT(n, 10000);
  const double mean = sum / n;
  EXPECT_NEAR(mean, 0.0, 0.03);
  EXPECT_NEAR(sum_sq / n - mean * mean, 1.0, 0.03);
  EXPECT_NEAR(static_cast<double>(within_one) / n, 0.6827, 0.01);  // the normal's one-sigma mass
}

TEST(RandomErasing, NormalNumbersAreStandardNormal) {
  SampleRng rng(8);
  std::vector<float> v(200001);  // odd: the last value uses half a pair
  fill_standard_normal(v.data(), static_cast<int64_t>(v.size()), rng);
  double sum = 0.0, sum_sq = 0.0, sum_4 = 0.0;
  int64_t beyond_two = 0;
  for (const float x : v) {
    sum += x;
    sum_sq += static_cast<double>(x) * x;
    sum_4 += std::pow(static_cast<double>(x), 4);
    beyond_two += std::abs(x) > 2.0f;
    ASSERT_TRUE(std::isfinite(x));
  }
  const double n = static_cast<double>(v.size());
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.01);
  EXPECT_NEAR(sum_4 / n, 3.0, 0.06);  // kurtosis of a normal
  EXPECT_NEAR(static_cast<double>(beyond_two) / n, 0.0455, 0.002);
}

}  // namespace
}  // namespace tessera::data
