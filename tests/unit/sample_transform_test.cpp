// The per-sample pipeline (src/tessera/data/sample_transform.h) end to end against
// torchvision / timm run at test time (tests/reference/torchvision_transforms.py): the
// eval path against timm's eval transform, the training paths against torchvision's ops
// with the crop, flip and jitter the pipeline drew (replayed from a copy of the sample's
// generator), and the distributions of the crop boxes and of erasing against
// torchvision's and timm's own draws. Then the properties without a reference: the
// identity fast path, determinism, threads, erasing last, auto-augment turning color
// jitter off, settings checks; and a timing printout.
#include "tessera/data/sample_transform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/transform_reference.h"
#include "tessera/data/color_jitter.h"
#include "tessera/data/crop_params.h"
#include "tessera/data/random_erasing.h"

namespace tessera::data {
namespace {

using nlohmann::json;

const std::vector<double> kImagenetMean{0.485, 0.456, 0.406};
const std::vector<double> kImagenetStd{0.229, 0.224, 0.225};

const std::map<std::string, Image>& inputs() {
  static const std::map<std::string, Image> images = {
      {"cifar", testing::photo_like_image(3, 32, 32, 21)},  {"big", testing::photo_like_image(3, 300, 200, 22)},
      {"small", testing::photo_like_image(3, 20, 30, 23)},  {"odd", testing::photo_like_image(3, 61, 47, 24)},
      {"grey28", testing::photo_like_image(1, 28, 28, 25)}, {"rgb50x40", testing::photo_like_image(3, 50, 40, 26)},
      {"noise", testing::noise_image(3, 45, 38, 27)},       {"wide", testing::noise_image(1, 12, 90, 28)},
      {"erase", testing::noise_image(3, 24, 40, 29)},
  };
  return images;
}

TransformSpec spec_of(int64_t channels, int64_t height, int64_t width, Interpolation interpolation) {
  TransformSpec s;
  s.channels = channels;
  s.height = height;
  s.width = width;
  s.interpolation = interpolation;
  s.mean = channels == 3 ? kImagenetMean : std::vector<double>{0.5};
  s.std = channels == 3 ? kImagenetStd : std::vector<double>{0.5};
  return s;
}

json normalize_op(const TransformSpec& s) { return {{"op", "normalize"}, {"mean", s.mean}, {"std", s.std}}; }

// One comparison: Tessera's pipeline on `input` with `spec` from generator state
// `seed`, and the torchvision ops that must give the same floats.
struct Case {
  std::string name;
  std::string input;
  TransformSpec spec;
  uint64_t seed;
  json ops;
  bool resamples;  // a resize is involved
};

// What the pipeline draws for one sample, replayed in its documented order.
struct Replay {
  CropBox box;
  int64_t pad_top = 0, pad_left = 0;
  bool flip = false;
  ColorJitterDraw jitter;
};

Replay replay(const TransformSpec& s, const Image& src, uint64_t seed) {
  SampleRng rng(seed);
  Replay r;
  if (s.random_resized_crop) r.box = random_resized_crop_box(src.height, src.width, *s.random_resized_crop, rng);
  if (s.crop_padding > 0) {
    r.pad_top = rng.below(2 * s.crop_padding + 1);
    r.pad_left = rng.below(2 * s.crop_padding + 1);
  }
  if (s.hflip > 0.0) r.flip = rng.bernoulli(s.hflip);
  if (s.color_jitter) r.jitter = draw_color_jitter(*s.color_jitter, rng);
  return r;
}

// torchvision's ops for the random steps of `s` as drawn in `r` (after any
// eval-path ops the caller put first).
json train_ops(const TransformSpec& s, const Replay& r) {
  json ops = json::array();
  const char* mode = testing::interpolation_name(s.interpolation);
  if (s.random_resized_crop) {
    ops.push_back({{"op", "resized_crop"},
                   {"top", r.box.top},
                   {"left", r.box.left},
                   {"height", r.box.height},
                   {"width", r.box.width},
                   {"size", {s.height, s.width}},
                   {"interpolation", mode}});
  }
  if (s.crop_padding > 0) {
    ops.push_back({{"op", "pad_crop"},
                   {"padding", s.crop_padding},
                   {"top", r.pad_top},
                   {"left", r.pad_left},
                   {"size", {s.height, s.width}}});
  }
  if (r.flip) ops.push_back({{"op", "hflip"}});
  if (s.color_jitter) {
    static const char* names[] = {"brightness", "contrast", "saturation", "hue"};
    const std::optional<double> factors[] = {r.jitter.brightness, r.jitter.contrast, r.jitter.saturation, r.jitter.hue};
    for (const int k : r.jitter.order) {
      if (factors[k]) ops.push_back({{"op", names[k]}, {"factor", *factors[k]}});
    }
  }
  ops.push_back(normalize_op(s));
  return ops;
}

std::vector<Case> cases() {
  std::vector<Case> all;
  // timm's eval path: (name, input, output channels, height, width, interpolation,
  // crop_pct, torchvision ops that come first).
  const auto eval = [&](const std::string& name, const std::string& input, int64_t channels, int64_t height,
                        int64_t width, Interpolation mode, double crop_pct, json pre = json::array()) {
    auto s = spec_of(channels, height, width, mode);
    s.crop_pct = crop_pct;
    const json size = height == width ? json(height) : json({height, width});
    pre.push_back({{"op", "timm_eval"},
                   {"img_size", size},
                   {"crop_pct", crop_pct},
                   {"interpolation", testing::interpolation_name(mode)}});
    pre.push_back(normalize_op(s));
    const Image& src = inputs().at(input);
    const bool resamples = src.height != height || src.width != width || crop_pct != 1.0;
    all.push_back({"eval " + name, input, s, 0, pre, resamples});
  };
  const auto bilinear = Interpolation::Bilinear, bicubic = Interpolation::Bicubic;
  eval("300x200 -> 224 bicubic crop_pct 0.875", "big", 3, 224, 224, bicubic, 0.875);
  eval("32x32 -> 32 identity", "cifar", 3, 32, 32, bilinear, 1.0);
  eval("32x32 -> 64 bilinear crop_pct 0.875", "cifar", 3, 64, 64, bilinear, 0.875);
  eval("20x30 -> 24 bilinear crop_pct 0.9", "small", 3, 24, 24, bilinear, 0.9);
  // crop_pct > 1: the resize falls short of the crop, which pads with zeros.
  eval("20x30 -> 24 bilinear crop_pct 1.25", "small", 3, 24, 24, bilinear, 1.25);
  eval("61x47 -> 24x40 bicubic crop_pct 0.9 (ResizeKeepRatio)", "odd", 3, 24, 40, bicubic, 0.9);
  eval("300x200 -> 48 nearest crop_pct 0.95", "big", 3, 48, 48, Interpolation::Nearest, 0.95);
  eval("grey 28x28 -> rgb 32", "grey28", 3, 32, 32, bilinear, 0.875, json::array({{{"op", "to_rgb"}}}));
  eval("rgb 50x40 -> grey 24", "rgb50x40", 1, 24, 24, bilinear, 0.875,
       json::array({{{"op", "grayscale"}, {"channels", 1}}}));

  const auto train = [&](const std::string& name, const std::string& input, const TransformSpec& t,
                         std::vector<uint64_t> seeds, json pre = json::array()) {
    for (const uint64_t seed : seeds) {
      json ops = pre;
      for (auto& op : train_ops(t, replay(t, inputs().at(input), seed))) ops.push_back(op);
      all.push_back(
          {"train " + name + " seed " + std::to_string(seed), input, t, seed, ops, t.random_resized_crop.has_value()});
    }
  };
  auto cifar = spec_of(3, 32, 32, Interpolation::Bilinear);
  cifar.crop_padding = 4;
  cifar.hflip = 0.5;
  train("cifar pad 4 flip", "cifar", cifar, {1, 2, 3, 4, 5, 6, 7, 8});
  auto rrc = spec_of(3, 224, 224, Interpolation::Bilinear);
  rrc.random_resized_crop = RandomResizedCropSpec{};
  rrc.hflip = 0.5;
  train("32 -> 224 rrc flip", "cifar", rrc, {11, 12, 13, 14});
  auto rrc_big = spec_of(3, 64, 64, Interpolation::Bicubic);
  rrc_big.random_resized_crop = RandomResizedCropSpec{{0.3, 1.0}, {0.5, 2.0}};
  rrc_big.crop_padding = 3;
  rrc_big.hflip = 1.0;
  train("300x200 -> 64 rrc bicubic pad 3 flip", "big", rrc_big, {21, 22, 23});
  auto jitter = spec_of(3, 45, 38, Interpolation::Bilinear);
  jitter.hflip = 0.5;
  jitter.color_jitter = ColorJitterSpec{0.4, 0.4, 0.4, 0.1};
  train("jitter flip", "noise", jitter, {31, 32, 33, 34});
  // A grey source is replicated before the colour ops, as timm's RGB-converted images.
  auto grey_jitter = spec_of(3, 28, 28, Interpolation::Bilinear);
  grey_jitter.color_jitter = ColorJitterSpec{0.3, 0.3, 0.5, 0.2};
  train("grey source jitter", "grey28", grey_jitter, {41, 42}, json::array({{{"op", "to_rgb"}}}));
  return all;
}

// Distributions compared with torchvision's and timm's own random draws.
constexpr int kDraws = 4000;
const RandomResizedCropSpec kWideCrop{{0.05, 1.0}, {3.0 / 4.0, 4.0 / 3.0}};  // 12 x 90: often falls back
RandomErasingSpec erasing_spec() {
  RandomErasingSpec e;
  e.prob = 0.7;
  e.mode = ErasingMode::Const;
  e.min_count = 1;
  e.max_count = 3;
  return e;
}

const std::map<std::string, at::Tensor>& reference() {
  static const auto outputs = [] {
    testing::TorchvisionJobs jobs;
    for (const auto& [name, image] : inputs()) jobs.input(name, image);
    for (const auto& c : cases()) jobs.job(c.name, c.input, c.ops);
    const RandomResizedCropSpec standard;
    jobs.job(
        "rrc boxes cifar", "cifar",
        {{{"op", "rrc_boxes"}, {"count", kDraws}, {"scale", standard.scale}, {"ratio", standard.ratio}, {"seed", 1}}});
    jobs.job("rrc boxes wide", "wide",
             {{{"op", "rrc_boxes"},
               {"count", kDraws},
               {"scale", kWideCrop.scale},
               {"ratio", kWideCrop.ratio},
               {"seed", 2}}});
    const auto e = erasing_spec();
    jobs.job("timm erasing", "erase",
             {{{"op", "timm_erasing"},
               {"count", kDraws},
               {"probability", e.prob},
               {"min_area", e.min_area},
               {"max_area", e.max_area},
               {"min_aspect", e.min_aspect},
               {"min_count", e.min_count},
               {"max_count", e.max_count},
               {"seed", 3}}});
    return jobs.run(testing::scratch_dir());
  }();
  return outputs;
}

// Two samples of the same distribution have means within a few standard errors of each
// other: 5 of them is a false alarm once in millions (and these samples are fixed).
void expect_same_mean(const std::string& what, const at::Tensor& ours, const at::Tensor& theirs) {
  const auto a = ours.to(at::kDouble), b = theirs.to(at::kDouble);
  const double se = std::sqrt(a.var().item<double>() / a.numel() + b.var().item<double>() / b.numel());
  const double ma = a.mean().item<double>(), mb = b.mean().item<double>();
  std::printf("  %-40s Tessera %.4f, reference %.4f (standard error %.4f)\n", what.c_str(), ma, mb, se);
  EXPECT_LE(std::abs(ma - mb), 5.0 * se + 1e-12) << what;
}

std::vector<float> run(const SampleTransform& t, const Image& src, uint64_t seed) {
  std::vector<float> out(static_cast<size_t>(t.output_floats()));
  SampleRng rng(seed);
  t(src, rng, out.data());
  return out;
}

TEST(SampleTransform, MatchesTorchvision) {
  ASSERT_FALSE(reference().empty()) << "the torchvision reference did not run";
  for (const auto& c : cases()) {
    const SampleTransform t(c.spec);
    const auto out = run(t, inputs().at(c.input), c.seed);
    ASSERT_TRUE(reference().count(c.name)) << c.name;
    const at::Tensor& want = reference().at(c.name);
    ASSERT_EQ(want.sizes(), at::IntArrayRef({t.channels(), t.height(), t.width()})) << c.name;
    const auto got = at::from_blob(const_cast<float*>(out.data()), want.sizes(), at::kFloat);
    const auto diff = (got - want).abs();
    const double max_diff = diff.max().item<double>();
    const double share = diff.gt(1e-5).to(at::kDouble).mean().item<double>();
    std::printf("  %-52s max |diff| %.3g, %.3f%% of values differ\n", c.name.c_str(), max_diff, 100.0 * share);
    // Exact, unless torch resized in float here (see resize_test.cpp): then one grey
    // level through the smallest std, rarely.
    const auto native = reference().at("native_uint8_resize");
    const bool float_torch = c.resamples && c.spec.interpolation != Interpolation::Nearest &&
                             native[c.spec.interpolation == Interpolation::Bilinear ? 0 : 1].item<int64_t>() == 0;
    if (float_torch) {
      EXPECT_LE(max_diff, 1.0 / (255.0 * 0.224) + 1e-5) << c.name;
      EXPECT_LE(share, 0.05) << c.name;
    } else {
      EXPECT_LE(max_diff, 1e-6) << c.name;
    }
  }
}

// The boxes of random_resized_crop_box against torchvision's RandomResizedCrop's own
// draws: the same distribution of top, left, height, width and area, with and without
// the centre-crop fallback.
TEST(SampleTransform, RandomResizedCropDrawsLikeTorchvision) {
  ASSERT_FALSE(reference().empty()) << "the torchvision reference did not run";
  for (const auto& [name, spec] : std::vector<std::pair<std::string, RandomResizedCropSpec>>{
           {"cifar", RandomResizedCropSpec{}}, {"wide", kWideCrop}}) {
    const Image& image = inputs().at(name);
    ASSERT_TRUE(reference().count("rrc boxes " + name));
    const at::Tensor theirs = reference().at("rrc boxes " + name).to(at::kDouble);  // (draws, 4)
    at::Tensor ours = at::empty({kDraws, 4}, at::kDouble);
    SampleRng rng(99);
    for (int i = 0; i < kDraws; ++i) {
      const CropBox b = random_resized_crop_box(image.height, image.width, spec, rng);
      const int64_t fields[4] = {b.top, b.left, b.height, b.width};
      for (int k = 0; k < 4; ++k) ours[i][k] = static_cast<double>(fields[k]);
    }
    const char* fields[] = {"top", "left", "height", "width"};
    for (int k = 0; k < 4; ++k) expect_same_mean(name + " " + fields[k], ours.select(1, k), theirs.select(1, k));
    expect_same_mean(name + " area", ours.select(1, 2) * ours.select(1, 3), theirs.select(1, 2) * theirs.select(1, 3));
  }
}

// random_erase against timm's RandomErasing: the same distribution of the erased share
// (probability, count, areas and aspects together), and as often nothing erased.
TEST(SampleTransform, RandomErasingErasesLikeTimm) {
  ASSERT_FALSE(reference().empty()) << "the torchvision reference did not run";
  ASSERT_TRUE(reference().count("timm erasing"));
  const at::Tensor theirs = reference().at("timm erasing");
  const auto spec = erasing_spec();
  at::Tensor ours = at::empty({kDraws}, at::kDouble);
  SampleRng rng(7);
  std::vector<float> image(3 * 24 * 40);
  for (int i = 0; i < kDraws; ++i) {
    std::fill(image.begin(), image.end(), 1.0f);
    random_erase(image.data(), 3, 24, 40, spec, rng);
    ours[i] = 1.0 - std::accumulate(image.begin(), image.end(), 0.0) / static_cast<double>(image.size());
  }
  expect_same_mean("erased share", ours, theirs);
  expect_same_mean("runs erasing nothing", ours.eq(0).to(at::kDouble), theirs.eq(0).to(at::kDouble));
}

TEST(SampleTransform, IdentityFastPathIsPlainNormalization) {
  auto spec = spec_of(3, 32, 32, Interpolation::Bicubic);
  const SampleTransform t(spec);
  EXPECT_FALSE(t.is_random());
  const Image& src = inputs().at("cifar");
  SampleRng rng(5), untouched(5);
  std::vector<float> out(static_cast<size_t>(t.output_floats()));
  t(src, rng, out.data());
  EXPECT_EQ(rng.next(), untouched.next()) << "nothing random was drawn";
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t i = 0; i < 32 * 32; ++i) {
      const float want = (static_cast<float>(src.plane(c)[i]) / 255.0f - static_cast<float>(kImagenetMean[c])) /
                         static_cast<float>(kImagenetStd[c]);
      ASSERT_EQ(out[static_cast<size_t>(c * 1024 + i)], want);
    }
  }
}

TransformSpec everything() {
  auto s = spec_of(3, 40, 40, Interpolation::Bicubic);
  s.random_resized_crop = RandomResizedCropSpec{};
  s.crop_padding = 2;
  s.hflip = 0.5;
  s.color_jitter = ColorJitterSpec{0.4, 0.4, 0.4, 0.1};
  s.random_erasing.prob = 0.5;
  s.random_erasing.mode = ErasingMode::Pixel;
  return s;
}

TEST(SampleTransform, SameGeneratorStateSameOutput) {
  const SampleTransform t(everything());
  const Image& src = inputs().at("big");
  int differing = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EXPECT_EQ(run(t, src, seed), run(t, src, seed)) << seed;
    differing += run(t, src, seed) != run(t, src, seed + 100);
  }
  EXPECT_EQ(differing, 20) << "different streams give different samples";
}

TEST(SampleTransform, ThreadsGiveTheSerialResults) {
  const SampleTransform t(everything());
  std::vector<std::vector<float>> serial;
  const std::vector<std::string> names{"big", "cifar", "noise", "grey28"};
  for (int i = 0; i < 16; ++i) serial.push_back(run(t, inputs().at(names[i % 4]), i));
  std::vector<std::vector<std::vector<float>>> threaded(4);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int rep = 0; rep < 3; ++rep) {
        for (int i = 0; i < 16; ++i) {
          if (rep == 2)
            threaded[w].push_back(run(t, inputs().at(names[i % 4]), i));
          else
            run(t, inputs().at(names[(i + w) % 4]), i + 50);  // scratch buffers of other sizes in between
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w = 0; w < 4; ++w) EXPECT_EQ(threaded[w], serial) << "thread " << w;
}

TEST(SampleTransform, ErasingComesLastOnTheNormalizedImage) {
  auto with = spec_of(3, 32, 32, Interpolation::Bilinear);
  with.crop_padding = 4;
  with.hflip = 0.5;
  with.random_erasing.prob = 1.0;
  with.random_erasing.mode = ErasingMode::Rand;
  auto without = with;
  without.random_erasing.prob = 0.0;
  const Image& src = inputs().at("cifar");
  const SampleTransform t_without(without);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    SampleRng rng(seed);
    std::vector<float> want(3 * 32 * 32);
    t_without(src, rng, want.data());
    std::vector<CropBox> boxes;
    random_erase(want.data(), 3, 32, 32, with.random_erasing, rng, &boxes);
    ASSERT_EQ(boxes.size(), 1u);
    EXPECT_EQ(run(SampleTransform(with), src, seed), want) << seed;
  }
}

TEST(SampleTransform, AutoAugmentTurnsColorJitterOff) {
  auto aa = spec_of(3, 32, 32, Interpolation::Bilinear);
  aa.auto_augment = "rand-m9-mstd0.5";
  auto both = aa;
  both.color_jitter = ColorJitterSpec{0.4, 0.4, 0.4, 0.1};
  auto jitter_only = both;
  jitter_only.auto_augment.clear();
  const Image& src = inputs().at("cifar");
  int changed = 0;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const auto a = run(SampleTransform(aa), src, seed);
    EXPECT_EQ(run(SampleTransform(both), src, seed), a) << seed;
    changed += a != run(SampleTransform(spec_of(3, 32, 32, Interpolation::Bilinear)), src, seed);
  }
  EXPECT_GT(changed, 4) << "the policy changes images";
  EXPECT_NE(run(SampleTransform(jitter_only), src, 0),
            run(SampleTransform(spec_of(3, 32, 32, Interpolation::Bilinear)), src, 0));
}

TEST(SampleTransform, RejectsBadSettings) {
  const auto bad = [](auto change) {
    auto s = spec_of(3, 32, 32, Interpolation::Bilinear);
    change(s);
    EXPECT_THROW(SampleTransform{s}, c10::Error);
  };
  bad([](TransformSpec& s) { s.channels = 2; });
  bad([](TransformSpec& s) { s.height = 0; });
  bad([](TransformSpec& s) { s.crop_pct = 0.0; });
  bad([](TransformSpec& s) { s.crop_padding = -1; });
  bad([](TransformSpec& s) { s.hflip = 1.5; });
  bad([](TransformSpec& s) { s.random_resized_crop = RandomResizedCropSpec{{0.5, 0.2}, {0.75, 1.33}}; });
  bad([](TransformSpec& s) { s.random_resized_crop = RandomResizedCropSpec{{0.08, 1.0}, {0.0, 1.33}}; });
  bad([](TransformSpec& s) { s.color_jitter = ColorJitterSpec{0.1, 0.1, 0.1, 0.6}; });
  bad([](TransformSpec& s) { s.color_jitter = ColorJitterSpec{-0.1, 0.0, 0.0, 0.0}; });
  bad([](TransformSpec& s) { s.mean = {0.5, 0.5}; });
  bad([](TransformSpec& s) { s.std = {0.0}; });
  bad([](TransformSpec& s) { s.random_erasing.prob = 2.0; });
  bad([](TransformSpec& s) { s.random_erasing.max_count = 0; });
  bad([](TransformSpec& s) { s.random_erasing.min_area = 0.5; });
  const SampleTransform t(spec_of(3, 32, 32, Interpolation::Bilinear));
  Image two;
  two.resize(2, 4, 4);
  std::vector<float> out(static_cast<size_t>(t.output_floats()));
  SampleRng rng(0);
  EXPECT_THROW(t(two, rng, out.data()), c10::Error);
}

// Microseconds per image of `step(i)` (i = the sample's generator seed): the best of 5
// batches of n / 5 images, as the machine may be busy with other work.
template <typename Step>
double per_image_us(Step&& step, int n) {
  step(0);  // grow the scratch buffers
  double best = 1e30;
  for (int batch = 0, i = 1; batch < 5; ++batch) {
    const auto start = std::chrono::steady_clock::now();
    for (int k = 0; k < n / 5; ++k) step(i++);
    const auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    best = std::min(best, us / (n / 5));
  }
  return best;
}

double per_image_us(const TransformSpec& spec, const Image& src, int n) {
  const SampleTransform t(spec);
  std::vector<float> out(static_cast<size_t>(t.output_floats()));
  return per_image_us(
      [&](int i) {
        SampleRng rng(static_cast<uint64_t>(i));
        t(src, rng, out.data());
      },
      n);
}

// Per-image figures for the notes; nothing is asserted about them.
TEST(SampleTransform, Timing) {
  const Image& cifar_image = inputs().at("cifar");
  auto cifar = spec_of(3, 32, 32, Interpolation::Bilinear);
  cifar.crop_padding = 4;
  cifar.hflip = 0.5;
  const double ours = per_image_us(cifar, cifar_image, 20000);

  auto rrc = spec_of(3, 224, 224, Interpolation::Bilinear);
  rrc.random_resized_crop = RandomResizedCropSpec{};
  rrc.hflip = 0.5;
  const double rrc_us = per_image_us(rrc, cifar_image, 300);
  rrc.interpolation = Interpolation::Bicubic;
  const double rrc_cubic_us = per_image_us(rrc, cifar_image, 300);
  rrc.color_jitter = ColorJitterSpec{0.4, 0.4, 0.4, 0.1};
  const double rrc_jitter_us = per_image_us(rrc, cifar_image, 50);
  auto eval = spec_of(3, 224, 224, Interpolation::Bicubic);
  eval.crop_pct = 0.875;
  const double eval_us = per_image_us(eval, testing::photo_like_image(3, 375, 500, 1), 50);
  std::printf(
      "  per image: cifar pad-crop-flip-normalize %.2f us; 32 -> 224 "
      "rrc+flip+normalize bilinear %.1f us, bicubic %.1f us, bicubic + color jitter %.1f us; 375x500 -> 256 -> 224 "
      "eval bicubic %.1f us\n",
      ours, rrc_us, rrc_cubic_us, rrc_jitter_us, eval_us);
}

}  // namespace
}  // namespace tessera::data
