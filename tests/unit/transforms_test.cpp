// Tests for the per-sample transforms: normalize values, flip, crop with padding, the random draws.
#include "tessera/data/transforms.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace {

using namespace tessera::data;

std::vector<uint8_t> ramp(size_t n, int step = 17) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * step + 5);
  return v;
}

TransformOptions plain(double mean = 0.0, double std = 1.0) {
  TransformOptions o;
  o.mean = {mean};
  o.std = {std};
  return o;
}

TEST(Transform, NormalizeValues) {
  const std::vector<uint8_t> src{0, 51, 128, 255};
  Transform t(1, 2, 2, plain(0.5, 0.5));
  std::vector<float> dst(4);
  t.apply(src.data(), Placement{}, dst.data());
  EXPECT_FLOAT_EQ(dst[0], -1.0f);
  EXPECT_FLOAT_EQ(dst[1], -0.6f);  // 51 / 255 = 0.2
  EXPECT_NEAR(dst[2], (128.0 / 255.0 - 0.5) / 0.5, 1e-6);
  EXPECT_FLOAT_EQ(dst[3], 1.0f);
}

TEST(Transform, NormalizePerChannel) {
  TransformOptions o;
  o.mean = {0.1, 0.2, 0.3};
  o.std = {0.5, 1.0, 2.0};
  Transform t(3, 1, 2, o);
  const std::vector<uint8_t> src{0, 255, 0, 255, 102, 204};  // (C=3, H=1, W=2)
  std::vector<float> dst(6);
  t.apply(src.data(), Placement{}, dst.data());
  const double want[6] = {(0 - 0.1) / 0.5, (1 - 0.1) / 0.5, (0 - 0.2) / 1.0,
                          (1 - 0.2) / 1.0, (0.4 - 0.3) / 2.0, (0.8 - 0.3) / 2.0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(dst[i], want[i], 1e-6) << i;
}

TEST(Transform, FlipIsExactMirror) {
  const int64_t C = 2, H = 3, W = 5;
  const auto src = ramp(C * H * W);
  TransformOptions o = plain();
  o.hflip = 1.0;
  Transform t(C, H, W, o);
  SampleRng rng(42);
  const Placement placement = t.draw(rng);
  ASSERT_TRUE(placement.flip);  // p = 1: always
  std::vector<float> dst(C * H * W);
  t.apply(src.data(), placement, dst.data());
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t y = 0; y < H; ++y) {
      for (int64_t x = 0; x < W; ++x) {
        EXPECT_EQ(dst[(c * H + y) * W + x], static_cast<float>(src[(c * H + y) * W + (W - 1 - x)]) / 255.0f);
      }
    }
  }
}

// A 3x3 image 1..9, padding 1 → the 5x5 padded image
//   0 0 0 0 0
//   0 1 2 3 0
//   0 4 5 6 0
//   0 7 8 9 0
//   0 0 0 0 0
// Normalized with mean 0, std 1/255 the output is the pixel value itself.
std::vector<float> crop_3x3(const Placement& placement) {
  const std::vector<uint8_t> src{1, 2, 3, 4, 5, 6, 7, 8, 9};
  TransformOptions o = plain(0.0, 1.0 / 255.0);
  o.crop_padding = 1;
  Transform t(1, 3, 3, o);
  std::vector<float> dst(9);
  t.apply(src.data(), placement, dst.data());
  return dst;
}

void expect_pixels(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << "pixel " << i;
}

TEST(Transform, CropWithPaddingHandComputed) {
  expect_pixels(crop_3x3({0, 2, false}), {0, 0, 0, 2, 3, 0, 5, 6, 0});  // rows 0-2, cols 2-4
  expect_pixels(crop_3x3({2, 0, false}), {0, 4, 5, 0, 7, 8, 0, 0, 0});  // rows 2-4, cols 0-2
  expect_pixels(crop_3x3({1, 1, false}), {1, 2, 3, 4, 5, 6, 7, 8, 9});  // the centre: no change
  expect_pixels(crop_3x3({0, 2, true}), {0, 0, 0, 0, 3, 2, 0, 6, 5});   // crop, then mirror
  expect_pixels(crop_3x3({2, 2, true}), {0, 6, 5, 0, 9, 8, 0, 0, 0});   // crop 5 6 0 / 8 9 0 / 0 0 0, mirrored
}

TEST(Transform, PaddingIsZeroBeforeNormalize) {
  TransformOptions o = plain(0.5, 0.25);
  o.crop_padding = 2;
  Transform t(1, 2, 2, o);
  const std::vector<uint8_t> src{255, 255, 255, 255};
  std::vector<float> dst(4);
  t.apply(src.data(), {0, 0, false}, dst.data());  // the corner of the padded image: all padding
  for (float v : dst) EXPECT_FLOAT_EQ(v, -2.0f);    // (0 - 0.5) / 0.25
}

// Every placement against pad → slice → flip → normalize done with ATen ops.
TEST(Transform, MatchesPadSliceFlipReference) {
  const int64_t C = 3, H = 5, W = 7, p = 3;
  const auto src = ramp(C * H * W, 37);
  TransformOptions o;
  o.crop_padding = p;
  o.hflip = 0.5;
  o.mean = {0.2, 0.4, 0.6};
  o.std = {0.3, 0.2, 0.1};
  Transform t(C, H, W, o);
  at::Tensor image = at::from_blob(const_cast<uint8_t*>(src.data()), {C, H, W}, at::kByte).to(at::kFloat);
  at::Tensor padded = at::constant_pad_nd(image, {p, p, p, p}, 0);  // (C, H + 2p, W + 2p)
  at::Tensor mean = at::tensor({0.2, 0.4, 0.6}, at::kFloat).view({C, 1, 1});
  at::Tensor std = at::tensor({0.3, 0.2, 0.1}, at::kFloat).view({C, 1, 1});
  std::vector<float> dst(C * H * W);
  for (int64_t top = 0; top <= 2 * p; ++top) {
    for (int64_t left = 0; left <= 2 * p; ++left) {
      for (bool flip : {false, true}) {
        at::Tensor want = padded.narrow(1, top, H).narrow(2, left, W);  // (C, H, W)
        if (flip) want = want.flip({2});
        want = (want / 255.0f - mean) / std;
        t.apply(src.data(), {top, left, flip}, dst.data());
        at::Tensor got = at::from_blob(dst.data(), {C, H, W}, at::kFloat);
        EXPECT_TRUE(at::allclose(got, want, 1e-5, 1e-5)) << "top " << top << " left " << left << " flip " << flip;
      }
    }
  }
}

TEST(Transform, DrawsCoverEveryOffsetAndFlipHalfTheTime) {
  TransformOptions o = plain();
  o.crop_padding = 2;
  o.hflip = 0.5;
  Transform t(1, 8, 8, o);
  std::set<int64_t> tops, lefts;
  int flips = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    SampleRng rng = SampleRng::derive(3, SampleRng::Stream::Augment, 0, i);
    const Placement pl = t.draw(rng);
    ASSERT_GE(pl.top, 0);
    ASSERT_LE(pl.top, 4);
    ASSERT_GE(pl.left, 0);
    ASSERT_LE(pl.left, 4);
    tops.insert(pl.top);
    lefts.insert(pl.left);
    flips += pl.flip;
  }
  EXPECT_EQ(tops.size(), 5u);
  EXPECT_EQ(lefts.size(), 5u);
  EXPECT_GT(flips, n * 45 / 100);
  EXPECT_LT(flips, n * 55 / 100);
}

TEST(Transform, DrawIsAFunctionOfTheGenerator) {
  TransformOptions o = plain();
  o.crop_padding = 4;
  o.hflip = 0.5;
  Transform t(1, 8, 8, o);
  for (uint64_t i = 0; i < 50; ++i) {
    SampleRng a = SampleRng::derive(1, SampleRng::Stream::Augment, 2, i);
    SampleRng b = SampleRng::derive(1, SampleRng::Stream::Augment, 2, i);
    const Placement pa = t.draw(a), pb = t.draw(b);
    EXPECT_EQ(pa.top, pb.top);
    EXPECT_EQ(pa.left, pb.left);
    EXPECT_EQ(pa.flip, pb.flip);
  }
}

TEST(Transform, EvalPipelineIsNotRandom) {
  tessera::config::DataConfig cfg;
  cfg.augment.random_crop_padding = 4;
  cfg.augment.hflip = 0.5;
  Transform eval(1, 4, 4, eval_transform(cfg));
  Transform train(1, 4, 4, train_transform(cfg));
  EXPECT_FALSE(eval.is_random());
  EXPECT_TRUE(train.is_random());
  SampleRng rng(9);
  const Placement pl = eval.draw(rng);
  EXPECT_EQ(pl.top, 0);
  EXPECT_EQ(pl.left, 0);
  EXPECT_FALSE(pl.flip);
}

}  // namespace
