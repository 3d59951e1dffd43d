// Tests for the auto-augment policies (auto_augment.h) and timm's RandAugment string
// (augment_ops.h's parse_rand_augment): every section, the defaults, errors that name
// the bad part; the level draws; that the policies pick their ops, bins and signs with
// the expected frequencies (by recognising every output among all the outcomes the
// op tables allow); determinism per rng state, threads, shapes; and the time per image.
#include "tessera/data/auto_augment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/error_of.h"
#include "tessera/core/error.h"
#include "tessera/data/augment_color.h"
#include "tessera/data/augment_ops.h"
#include "tessera/data/sample_rng.h"

namespace tessera::data {
namespace {

using testing::error_of;

const std::vector<uint8_t> kFill{124, 116, 104};
// The fill a 1-channel image gets: PIL's grey of kFill.
constexpr uint8_t kFillGrey = pil_luma(124, 116, 104);
static_assert(kFillGrey == 117);

// Blocks, ramps and noise in [lo, hi] (a range short of 0..255, so that autocontrast
// changes it and solarize at high thresholds does not).
Image textured(int64_t channels, int64_t height, int64_t width, uint64_t seed, int lo = 40, int hi = 210) {
  Image image;
  image.resize(channels, height, width);
  SampleRng rng(seed);
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    const auto [c, rest] = std::lldiv(static_cast<int64_t>(i), height * width);
    const auto [y, x] = std::lldiv(rest, width);
    const double block = ((x / 3 + y / 3 + c) % 2) ? 0.45 : 0.0;
    const double ramp = 0.5 * static_cast<double>(x + 2 * y) / static_cast<double>(width + height);
    image.pixels[i] =
        static_cast<uint8_t>(lo + std::lround(std::fmod(ramp + block + 0.2 * rng.uniform(), 1.0) * (hi - lo)));
  }
  // The extremes present, so every channel spans exactly [lo, hi].
  for (int64_t c = 0; c < channels; ++c) {
    image.at(c, 0, 0) = static_cast<uint8_t>(lo);
    image.at(c, height - 1, width - 1) = static_cast<uint8_t>(hi);
  }
  return image;
}

// ---- the RandAugment string ------------------------------------------------------------

void expect_settings(const std::string& spec, int m, int n, double mstd, double mmax, bool inc, double p) {
  const RandAugmentSettings s = parse_rand_augment(spec, "k");
  EXPECT_EQ(s.magnitude, m) << spec;
  EXPECT_EQ(s.num_ops, n) << spec;
  EXPECT_EQ(s.magnitude_std, mstd) << spec;
  EXPECT_EQ(s.magnitude_max, mmax) << spec;
  EXPECT_EQ(s.increasing, inc) << spec;
  EXPECT_EQ(s.prob, p) << spec;
}

TEST(RandAugmentSpec, Defaults) { expect_settings("rand", 10, 2, 0.0, 10.0, false, 0.5); }

TEST(RandAugmentSpec, EverySection) {
  expect_settings("rand-m9-n3-mstd0.5-mmax12-inc1-p0.7", 9, 3, 0.5, 12.0, true, 0.7);
  expect_settings("rand-m9-mstd0.5-inc1", 9, 2, 0.5, 10.0, true, 0.5);
  // Any order; a later section wins, as in timm's loop.
  expect_settings("rand-inc0-p1-m7-m5-n0", 5, 0, 0.0, 10.0, false, 1.0);
}

TEST(RandAugmentSpec, TimmSpecialValues) {
  // mstd > 100: uniform levels in [0, m] (timm turns it into infinity).
  EXPECT_TRUE(std::isinf(parse_rand_augment("rand-mstd101", "k").magnitude_std));
  EXPECT_EQ(parse_rand_augment("rand-mstd100", "k").magnitude_std, 100.0);
  // mmax0 falls back to 10 (timm's `magnitude_max or _LEVEL_DENOM`).
  EXPECT_EQ(parse_rand_augment("rand-mmax0", "k").magnitude_max, 10.0);
  EXPECT_EQ(parse_rand_augment("rand-m15-mmax15", "k").magnitude, 15);
}

TEST(RandAugmentSpec, ErrorsNameTheBadSection) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"rand-x9", "section 'x9' is unknown"},
      {"rand-m9-foo", "section 'foo' is unknown"},
      {"rand-m", "section 'm' has no value"},
      {"rand-m9.5", "section 'm9.5' needs a whole number, not '9.5'"},
      {"rand-n2x", "section 'n2x' needs a whole number, not '2x'"},
      {"rand-mstd0.5.1", "section 'mstd0.5.1' needs a number, not '0.5.1'"},
      {"rand-inc2", "section 'inc2' must be inc0 or inc1"},
      {"rand-p1.5", "section 'p1.5' needs a probability in [0, 1]"},
      {"rand-tweights", "section 'tweights' names one of timm's weighted op sets"},
      {"rand--m9", "has an empty section"},
      {"rand-m9-", "has an empty section"},
  };
  for (const auto& [spec, expected] : cases) {
    const std::string message = error_of([&] { make_auto_augment(spec, kFill, "data.train.auto_augment"); });
    EXPECT_NE(message.find("data.train.auto_augment: "), std::string::npos) << message;
    EXPECT_NE(message.find("'" + spec + "'"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << spec << " → " << message;
  }
}

TEST(AutoAugmentFactory, ErrorsNameThePolicyOrFill) {
  for (const std::string spec : {"rnd-m9", "randm9", "trivialaugment-m9", "augmix-m3", "original", ""}) {
    const std::string message = error_of([&] { make_auto_augment(spec, kFill, "aa"); });
    EXPECT_NE(message.find("aa: unknown auto-augment policy '" + spec + "'"), std::string::npos) << message;
  }
  const std::string message = error_of([] { make_auto_augment("trivialaugment", {1, 2}, "aa"); });
  EXPECT_NE(message.find("aa: the auto-augment fill colour has 2 values"), std::string::npos) << message;
  EXPECT_NO_THROW(make_auto_augment("ta_wide", {}, "aa"));
  EXPECT_NO_THROW(make_auto_augment("trivialaugment", {9}, "aa"));
  EXPECT_NO_THROW(make_auto_augment("rand-m9-mstd0.5-inc1", kFill, "aa"));
  try {
    make_auto_augment("rand-q1", kFill, "data.augment.auto_augment");
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "data.augment.auto_augment");
  }
}

// ---- level draws --------------------------------------------------------------------------

struct Moments {
  double mean = 0.0, std = 0.0, min = 1e9, max = -1e9;
  int at_max = 0;
};

Moments level_moments(const RandAugmentSettings& s, int n) {
  Moments m;
  SampleRng rng(42);
  double sum = 0.0, sum2 = 0.0;
  for (int i = 0; i < n; ++i) {
    const double v = draw_rand_augment_level(s, rng);
    sum += v;
    sum2 += v * v;
    m.min = std::min(m.min, v);
    m.max = std::max(m.max, v);
    m.at_max += v == s.magnitude_max;
  }
  m.mean = sum / n;
  m.std = std::sqrt(std::max(0.0, sum2 / n - m.mean * m.mean));
  return m;
}

TEST(RandAugmentLevels, FixedWithoutNoiseAndClipped) {
  RandAugmentSettings s = parse_rand_augment("rand-m9", "k");
  SampleRng rng(1), untouched(1);
  EXPECT_EQ(draw_rand_augment_level(s, rng), 9.0);
  EXPECT_EQ(rng.next(), untouched.next());  // nothing drawn
  EXPECT_EQ(draw_rand_augment_level(parse_rand_augment("rand-m14", "k"), rng), 10.0);
  EXPECT_EQ(draw_rand_augment_level(parse_rand_augment("rand-m14-mmax12", "k"), rng), 12.0);
}

TEST(RandAugmentLevels, NormalNoise) {
  constexpr int n = 20000;
  const Moments m = level_moments(parse_rand_augment("rand-m5-mstd1", "k"), n);  // clipping 5 sigma away
  EXPECT_NEAR(m.mean, 5.0, 4.0 / std::sqrt(n));
  EXPECT_NEAR(m.std, 1.0, 0.03);
  // N(9, 3) clipped to [0, 10]: P(level = 10) = P(Z > 1/3) = 0.3694.
  const Moments c = level_moments(parse_rand_augment("rand-m9-mstd3", "k"), n);
  EXPECT_GE(c.min, 0.0);
  EXPECT_EQ(c.max, 10.0);
  EXPECT_NEAR(static_cast<double>(c.at_max) / n, 0.3694, 4.0 * std::sqrt(0.37 * 0.63 / n));
}

TEST(RandAugmentLevels, UniformWhenStdOver100) {
  constexpr int n = 20000;
  const Moments m = level_moments(parse_rand_augment("rand-m8-mstd101", "k"), n);
  EXPECT_GE(m.min, 0.0);
  EXPECT_LT(m.max, 8.0);
  EXPECT_NEAR(m.mean, 4.0, 4.0 * (8.0 / std::sqrt(12.0)) / std::sqrt(n));
  EXPECT_NEAR(m.std, 8.0 / std::sqrt(12.0), 0.05);
}

// ---- draw frequencies -------------------------------------------------------------------

// An image's pixels as a string: the key the outcome tables use.
std::string bytes(const Image& image) { return std::string(image.pixels.begin(), image.pixels.end()); }

// One thing a policy can do to an image: the output, the op that made it, its probability.
struct Outcome {
  std::string pixels;  // the output's bytes
  std::string op;
  double p;
};

// The outcomes grouped into classes one can tell apart by looking at the output: the
// outputs of one op form its class, outputs equal to the input form "unchanged", and
// ops that can make the same image share a class.
struct Classes {
  std::map<std::string, std::string> class_of;  // output bytes → class
  std::map<std::string, double> probability;    // class → expected share
};

Classes classify(const Image& input, const std::vector<Outcome>& outcomes) {
  std::map<std::string, std::string> parent;  // union-find over labels
  std::function<std::string(const std::string&)> find = [&](const std::string& x) -> std::string {
    const std::string up = parent.at(x);
    return up == x ? x : parent[x] = find(up);
  };
  const std::string unchanged = bytes(input);
  const auto label_of = [&](const Outcome& o) { return o.pixels == unchanged ? std::string("unchanged") : o.op; };
  std::map<std::string, std::string> first_label;
  for (const Outcome& o : outcomes) {
    const std::string label = label_of(o);
    parent.emplace(label, label);
    const auto [it, inserted] = first_label.emplace(o.pixels, label);
    if (!inserted) parent[find(label)] = find(it->second);
  }
  Classes c;
  for (const auto& [pixels, label] : first_label) c.class_of[pixels] = find(label);
  for (const Outcome& o : outcomes) c.probability[find(label_of(o))] += o.p;
  return c;
}

// Draws `n` samples of `policy` and checks the share of each class against `expected`
// (binomial, 4.5 sigma); an output outside every class fails the test.
void expect_frequencies(const AutoAugment& policy, const Image& input, const std::vector<Outcome>& outcomes, int n,
                        const std::string& label) {
  const Classes expected = classify(input, outcomes);
  std::map<std::string, int> counts;
  int unknown = 0;
  for (int i = 0; i < n; ++i) {
    SampleRng rng = SampleRng::derive(7, SampleRng::Stream::Augment, 0, static_cast<uint64_t>(i));
    Image image = input;
    policy(image, rng);
    const auto it = expected.class_of.find(bytes(image));
    if (it == expected.class_of.end()) {
      ++unknown;
      continue;
    }
    ++counts[it->second];
  }
  EXPECT_EQ(unknown, 0) << label << ": outputs that no (op, level, sign) of the table makes";
  double worst_sigma = 0.0;
  for (const auto& [cls, p] : expected.probability) {
    const double observed = static_cast<double>(counts[cls]) / n;
    const double sigma = std::sqrt(std::max(p * (1.0 - p), 1e-12) / n);
    worst_sigma = std::max(worst_sigma, std::abs(observed - p) / sigma);
    EXPECT_NEAR(observed, p, 4.5 * sigma + 1e-9) << label << ": class " << cls;
  }
  std::string names;
  for (const auto& [cls, p] : expected.probability) names += (names.empty() ? "" : " ") + cls;
  std::cout << "[ auto augment ] " << label << ": " << n << " samples, worst deviation " << std::setprecision(3)
            << worst_sigma << " sigma over " << expected.probability.size() << " classes: " << names << "\n";
}

// RandAugment with n ops of probability p: the outcomes of one op, enumerated over
// the op set, signs and interpolations (uniform), at a fixed level.
std::vector<Outcome> rand_augment_outcomes(const Image& input, const RandAugmentSettings& s) {
  std::vector<Outcome> o;
  const auto ops = rand_augment_op_set(s.increasing);
  for (RandAugmentOp op : ops) {
    const bool is_signed = rand_augment_op_signed(op), geometric = rand_augment_op_geometric(op);
    for (bool negate : {false, true}) {
      if (negate && !is_signed) continue;
      for (Interpolation interp : {Interpolation::Bilinear, Interpolation::Bicubic}) {
        if (interp == Interpolation::Bicubic && !geometric) continue;
        const double p = s.prob / static_cast<double>(ops.size()) * (is_signed ? 0.5 : 1.0) * (geometric ? 0.5 : 1.0);
        Image out = input;
        apply_rand_augment_op(out, op, s.magnitude, negate, interp, kFill);
        o.push_back({bytes(out), std::string(rand_augment_op_name(op)), p});
      }
    }
  }
  o.push_back({bytes(input), "skipped", 1.0 - s.prob});
  return o;
}

TEST(RandAugmentPolicy, OpsSignsAndInterpolationsAreUniform) {
  const Image input = textured(3, 24, 20, 3);  // large enough for PIL's equalize to act
  for (const std::string spec : {"rand-m9-n1-p1", "rand-m9-n1-p1-inc1", "rand-m6-n1-p0.3-inc1"}) {
    const auto policy = make_auto_augment(spec, kFill);
    expect_frequencies(*policy, input, rand_augment_outcomes(input, parse_rand_augment(spec, "k")), 6000, spec);
  }
}

TEST(RandAugmentPolicy, ChangesImagesWithTheOpProbability) {
  // n ops of probability p leave the image alone (1 - p)^n of the time: every op of the
  // increasing set at m9 changes this image (PIL's equalize leaves images of fewer than
  // about 256 pixels alone, hence not a smaller one).
  const Image input = textured(3, 24, 20, 4);
  for (auto [spec, expected] : {std::pair{"rand-m9-n1-p0.3-inc1", 0.7}, std::pair{"rand-m9-n2-inc1", 0.25},
                                std::pair{"rand-m9-n3-p0.2-inc1", 0.512}, std::pair{"rand-m9-n2-p0-inc1", 1.0},
                                std::pair{"rand-m9-n0-p1-inc1", 1.0}}) {
    const auto policy = make_auto_augment(spec, kFill);
    constexpr int n = 4000;
    int unchanged = 0;
    for (int i = 0; i < n; ++i) {
      SampleRng rng = SampleRng::derive(11, SampleRng::Stream::Augment, 0, static_cast<uint64_t>(i));
      Image image = input;
      (*policy)(image, rng);
      unchanged += image.pixels == input.pixels;
    }
    const double share = static_cast<double>(unchanged) / n;
    // Two ops can undo each other here (Invert and SolarizeIncreasing at threshold 26 are
    // both v -> 255 - v on this image): a slack of (2 / 15)^2.
    EXPECT_NEAR(share, expected, 4.5 * std::sqrt(expected * (1 - expected) / n) + 4.0 / 225) << spec;
    std::cout << "[ auto augment ] " << spec << ": unchanged " << share << " (expected " << expected << ")\n";
  }
}

TEST(TrivialAugmentPolicy, OpsBinsAndSignsAreUniform) {
  for (const auto& input : {textured(3, 24, 20, 5), textured(1, 17, 19, 6)}) {
    // What the policy hands the ops: PIL's grey of the fill colour for a 1-channel image.
    const std::vector<uint8_t> fill = input.channels == 1 ? std::vector<uint8_t>{kFillGrey} : kFill;
    std::vector<Outcome> o;
    for (int k = 0; k < kTrivialAugmentOps; ++k) {
      const auto op = static_cast<TrivialAugmentOp>(k);
      const int bins = trivial_augment_op_has_magnitude(op) ? kTrivialAugmentBins : 1;
      const bool is_signed = trivial_augment_op_signed(op);
      for (int bin = 0; bin < bins; ++bin) {
        for (bool negate : {false, true}) {
          if (negate && !is_signed) continue;
          Image out = input;
          apply_trivial_augment_op(out, op, bin, negate, fill);
          o.push_back({bytes(out), std::string(trivial_augment_op_name(op)),
                       1.0 / kTrivialAugmentOps / bins * (is_signed ? 0.5 : 1.0)});
        }
      }
    }
    const auto policy = make_auto_augment("trivialaugment", kFill);
    expect_frequencies(*policy, input, o, 6000, "trivialaugment " + std::to_string(input.channels) + " channel(s)");
  }
}

// ---- determinism, threads, shapes ----------------------------------------------------------

const std::vector<std::string> kSpecs = {"rand-m9-mstd0.5-inc1", "rand-m7-n3-mstd101-p0.8", "trivialaugment"};

TEST(AutoAugment, SameRngStateSameImage) {
  const Image input = textured(3, 33, 27, 8, 0, 255);
  for (const auto& spec : kSpecs) {
    const auto policy = make_auto_augment(spec, kFill);
    int differs_from_neighbour = 0;
    Image previous;
    for (uint64_t i = 0; i < 40; ++i) {
      Image a = input, b = input;
      SampleRng ra = SampleRng::derive(3, SampleRng::Stream::Augment, 1, i);
      SampleRng rb = ra;
      (*policy)(a, ra);
      (*policy)(b, rb);
      EXPECT_EQ(a.pixels, b.pixels) << spec << " sample " << i;
      EXPECT_EQ(ra.next(), rb.next()) << spec << ": the same draws";
      differs_from_neighbour += i > 0 && a.pixels != previous.pixels;
      previous = a;
    }
    EXPECT_GE(differs_from_neighbour, 25) << spec << ": other streams, other images";
  }
}

TEST(AutoAugment, ThreadsGiveTheSerialResult) {
  const Image input = textured(3, 24, 20, 9, 0, 255);
  const auto policy = make_auto_augment("rand-m9-mstd0.5-inc1", kFill);
  constexpr int per_thread = 64, threads = 4;
  const auto run = [&](int t, std::vector<std::vector<uint8_t>>& out) {
    for (int i = 0; i < per_thread; ++i) {
      SampleRng rng = SampleRng::derive(5, SampleRng::Stream::Augment, 0, static_cast<uint64_t>(t * per_thread + i));
      Image image = input;
      (*policy)(image, rng);
      out[static_cast<size_t>(i)] = image.pixels;
    }
  };
  std::vector<std::vector<std::vector<uint8_t>>> serial(threads, std::vector<std::vector<uint8_t>>(per_thread));
  std::vector<std::vector<std::vector<uint8_t>>> parallel = serial;
  for (int t = 0; t < threads; ++t) run(t, serial[static_cast<size_t>(t)]);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(run, t, std::ref(parallel[static_cast<size_t>(t)]));
  for (auto& th : pool) th.join();
  EXPECT_EQ(serial, parallel);
}

TEST(AutoAugment, KeepsSizeAndChannels) {
  for (const auto& spec : kSpecs) {
    const auto policy = make_auto_augment(spec, kFill);
    for (auto [c, h, w] : {std::tuple{3, 1, 1}, std::tuple{1, 1, 1}, std::tuple{3, 2, 3}, std::tuple{1, 37, 29},
                           std::tuple{3, 37, 29}, std::tuple{3, 64, 48}}) {
      for (uint64_t i = 0; i < 30; ++i) {
        Image image = textured(c, h, w, i, 0, 255);
        SampleRng rng = SampleRng::derive(1, SampleRng::Stream::Augment, 0, i);
        (*policy)(image, rng);
        ASSERT_EQ(image.channels, c) << spec;
        ASSERT_EQ(image.height, h) << spec;
        ASSERT_EQ(image.width, w) << spec;
        ASSERT_EQ(image.pixels.size(), static_cast<size_t>(c * h * w)) << spec;
      }
    }
  }
}

TEST(AutoAugment, GrayImagesTakeTheGreyOfTheFill) {
  // A black 1-channel image: geometric ops fill what they expose with kFillGrey (the
  // resamplers only read the image, all 0); the other ops make 0, 255 (invert) or 110
  // (solarize-add).
  const auto policy = make_auto_augment("rand-m10-n1-p1", kFill);
  Image black;
  black.resize(1, 8, 8);
  std::fill(black.pixels.begin(), black.pixels.end(), 0);
  bool saw_fill = false;
  for (uint64_t i = 0; i < 300; ++i) {
    Image image = black;
    SampleRng rng = SampleRng::derive(4, SampleRng::Stream::Augment, 0, i);
    (*policy)(image, rng);
    for (uint8_t v : image.pixels) {
      saw_fill |= v == kFillGrey;
      EXPECT_TRUE(v == 0 || v == 110 || v == kFillGrey || v == 255) << static_cast<int>(v);
    }
  }
  EXPECT_TRUE(saw_fill);
}

// ---- time per image (printed, not asserted) -------------------------------------------------

TEST(AutoAugment, TimePerImage) {
  for (const std::string spec : {"rand-m9-mstd0.5-inc1", "trivialaugment"}) {
    const auto policy = make_auto_augment(spec, kFill);
    for (auto [size, n] : {std::pair{32, 3000}, std::pair{224, 200}}) {
      const Image input = textured(3, size, size, 1, 0, 255);
      Image image;
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) {
        image = input;
        SampleRng rng = SampleRng::derive(2, SampleRng::Stream::Augment, 0, static_cast<uint64_t>(i));
        (*policy)(image, rng);
      }
      const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / n;
      std::cout << "[ auto augment ] " << spec << " on 3x" << size << "x" << size << ": " << std::fixed
                << std::setprecision(1) << us << " us per image (" << n << " images, one thread)\n"
                << std::defaultfloat;
    }
  }
}

}  // namespace
}  // namespace tessera::data
