// Tests for Mixup / CutMix (src/tessera/train/mixup.h): parity with timm's Mixup on the
// same random numbers (tests/reference/timm_mixup.py runs the real timm), the statistics
// of the random draws, determinism per (seed, step), the identity at prob 0, and the
// train.mixup recipe section.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "reference_runner.h"
#include "tessera/config/load.h"
#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"
#include "tessera/train/mixup.h"

namespace tessera::train {
namespace {

using config::MixupConfig;
using config::MixupMode;
using testing::max_abs_diff;

constexpr double kTolerance = 1e-6;  // fp32, max abs
constexpr int64_t kClasses = 7;

std::string mode_name(MixupMode mode) {
  return mode == MixupMode::Batch ? "batch" : mode == MixupMode::Pair ? "pair" : "elem";
}

nlohmann::json draw_json(const MixDraw& d) {
  return {{"apply", d.apply}, {"use_cutmix", d.use_cutmix}, {"lam", d.lam},   {"centre_y", d.centre_y},
          {"centre_x", d.centre_x}, {"cut_h", d.cut_h},     {"cut_w", d.cut_w}, {"top", d.top},
          {"left", d.left}};
}

// A batch of distinct images (H != W, so a swapped axis shows), labels and logits.
struct Batch {
  at::Tensor images, labels, logits;
};

Batch make_batch(int64_t batch, int64_t height, int64_t width) {
  at::manual_seed(7);
  return {at::randn({batch, 3, height, width}), at::randint(0, kClasses, {batch}, at::kLong),
          at::randn({batch, kClasses})};
}

// Tessera and timm mix the same batch with the same draws; images, targets and the
// soft-target loss must agree. Returns Tessera's result for further checks.
MixedBatch expect_timm_parity(const MixupConfig& config, double smoothing, const std::vector<MixDraw>& draws,
                              int64_t batch = 6, int64_t height = 12, int64_t width = 10) {
  const Batch in = make_batch(batch, height, width);
  const Mixup mixup(config, kClasses, smoothing, /*seed=*/0);
  const MixPlan plan = mixup.plan(draws, batch, height, width);
  const MixedBatch ours = mixup.apply(in.images, in.labels, plan);
  const at::Tensor our_loss = soft_target_cross_entropy(in.logits, ours.targets);

  const auto dir = testing::scratch_dir();
  core::save_safetensors(dir / "in.safetensors", {{"images", in.images}, {"labels", in.labels}, {"logits", in.logits}});
  nlohmann::json spec = {{"mixup_alpha", config.mixup_alpha},
                         {"cutmix_alpha", config.cutmix_alpha},
                         {"cutmix_minmax", nullptr},
                         {"prob", config.prob},
                         {"switch_prob", config.switch_prob},
                         {"mode", mode_name(config.mode)},
                         {"correct_lam", config.correct_lam},
                         {"label_smoothing", smoothing},
                         {"num_classes", kClasses},
                         {"draws", nlohmann::json::array()}};
  if (config.cutmix_minmax) spec["cutmix_minmax"] = {(*config.cutmix_minmax)[0], (*config.cutmix_minmax)[1]};
  for (const auto& d : draws) spec["draws"].push_back(draw_json(d));
  testing::run_reference_script("timm_mixup.py", "'" + (dir / "in.safetensors").string() + "' '" +
                                                     (dir / "out.safetensors").string() + "' '" + spec.dump() + "'");
  if (::testing::Test::HasFailure()) return ours;
  auto timm = testing::read_tensors(dir / "out.safetensors");

  EXPECT_EQ(ours.images.sizes(), timm["images"].sizes());
  EXPECT_EQ(ours.targets.sizes(), timm["targets"].sizes());
  EXPECT_EQ(ours.targets.scalar_type(), at::kFloat);
  const double image_error = max_abs_diff(ours.images, timm["images"]);
  const double target_error = max_abs_diff(ours.targets, timm["targets"]);
  const double loss_error = std::abs(our_loss.item<double>() - timm["loss"].item<double>());
  EXPECT_LE(image_error, kTolerance);
  EXPECT_LE(target_error, kTolerance);
  EXPECT_LE(loss_error, kTolerance);
  std::cout << "[ timm mixup ] mode " << mode_name(config.mode) << ": images " << image_error << ", targets "
            << target_error << ", loss " << loss_error << " (max abs)\n";
  return ours;
}

MixDraw mixup_draw(double lam) {
  MixDraw d;
  d.apply = true;
  d.lam = lam;
  return d;
}

MixDraw cutmix_draw(double lam, int64_t centre_y, int64_t centre_x) {
  MixDraw d = mixup_draw(lam);
  d.use_cutmix = true;
  d.centre_y = centre_y;
  d.centre_x = centre_x;
  return d;
}

// ---- parity with timm ----------------------------------------------------------

TEST(MixupTimmParity, BatchMixupWithLabelSmoothing) {
  MixupConfig c;
  c.mixup_alpha = 0.8;
  const auto out = expect_timm_parity(c, 0.1, {mixup_draw(0.3712)});
  const Batch in = make_batch(6, 12, 10);
  EXPECT_GT(max_abs_diff(out.images, in.images), 0.1);  // something was mixed
}

TEST(MixupTimmParity, BatchCutmixCorrectedLambda) {
  MixupConfig c;
  c.cutmix_alpha = 1.0;
  c.correct_lam = true;
  // A centre near the corner: the box is clipped, so the corrected λ differs from 0.41.
  const auto out = expect_timm_parity(c, 0.1, {cutmix_draw(0.41, 1, 8)});
  const Batch in = make_batch(6, 12, 10);
  EXPECT_GT(max_abs_diff(out.images, in.images), 0.1);
}

TEST(MixupTimmParity, BatchCutmixUncorrectedLambda) {
  MixupConfig c;
  c.cutmix_alpha = 1.0;
  c.correct_lam = false;
  expect_timm_parity(c, 0.0, {cutmix_draw(0.41, 1, 8)});
  expect_timm_parity(c, 0.0, {cutmix_draw(0.25, 6, 5)});
}

TEST(MixupTimmParity, BatchSwitchBetweenMixupAndCutmix) {
  MixupConfig c;
  c.mixup_alpha = 0.8;
  c.cutmix_alpha = 1.0;
  c.switch_prob = 0.5;
  expect_timm_parity(c, 0.1, {cutmix_draw(0.55, 7, 3)});
  MixDraw blend = mixup_draw(0.2);
  blend.use_cutmix = false;
  expect_timm_parity(c, 0.1, {blend});
}

TEST(MixupTimmParity, BatchCutmixMinMax) {
  MixupConfig c;
  c.cutmix_minmax = std::array<double, 2>{0.3, 0.8};  // sides in [3, 9) x [3, 8) for 12 x 10
  MixDraw d = mixup_draw(0.5);
  d.use_cutmix = true;
  d.cut_h = 5;
  d.cut_w = 7;
  d.top = 6;
  d.left = 2;
  expect_timm_parity(c, 0.1, {d});
}

TEST(MixupTimmParity, BatchNotApplied) {
  MixupConfig c;
  c.mixup_alpha = 0.8;
  c.prob = 0.5;
  MixDraw d;
  d.apply = false;
  const auto out = expect_timm_parity(c, 0.1, {d});
  EXPECT_TRUE(out.images.equal(make_batch(6, 12, 10).images));
}

// Per element: a mix of mixup, clipped and unclipped cutmix boxes and unmixed elements.
TEST(MixupTimmParity, ElemMode) {
  MixupConfig c;
  c.mixup_alpha = 0.4;
  c.cutmix_alpha = 1.0;
  c.mode = MixupMode::Elem;
  c.prob = 0.8;
  MixDraw unmixed;
  unmixed.use_cutmix = true;
  unmixed.lam = 0.3;
  const std::vector<MixDraw> draws = {cutmix_draw(0.3, 0, 0),  mixup_draw(0.77),         unmixed,
                                      cutmix_draw(0.6, 6, 5),  cutmix_draw(0.123456789, 11, 9), mixup_draw(0.05)};
  expect_timm_parity(c, 0.1, draws);
  c.correct_lam = false;
  expect_timm_parity(c, 0.0, draws);
}

TEST(MixupTimmParity, ElemModeMinMax) {
  MixupConfig c;
  c.cutmix_minmax = std::array<double, 2>{0.2, 0.9};  // sides in [2, 10) x [2, 9)
  c.mode = MixupMode::Elem;
  std::vector<MixDraw> draws;
  for (int64_t i = 0; i < 4; ++i) {
    MixDraw d = mixup_draw(0.5);
    d.use_cutmix = true;
    d.cut_h = 2 + i * 2;
    d.cut_w = 8 - i * 2;
    d.top = 12 - d.cut_h - i;
    d.left = i;
    draws.push_back(d);
  }
  expect_timm_parity(c, 0.2, draws, /*batch=*/4);
}

TEST(MixupTimmParity, PairMode) {
  MixupConfig c;
  c.mixup_alpha = 1.0;
  c.cutmix_alpha = 0.5;
  c.mode = MixupMode::Pair;
  expect_timm_parity(c, 0.1, {cutmix_draw(0.4, 2, 2), mixup_draw(0.66), cutmix_draw(0.8, 10, 9)});
}

// ---- boxes and targets --------------------------------------------------------

TEST(Mixup, CutmixBoxArithmetic) {
  // 1 - λ = 0.25: sides ⌊12 · 0.5⌋ = 6 and ⌊10 · 0.5⌋ = 5, centred, then clipped at a corner.
  const CutBox centred = cutmix_box(12, 10, 0.75, 6, 5);
  EXPECT_EQ(centred.top, 3);
  EXPECT_EQ(centred.bottom, 9);
  EXPECT_EQ(centred.left, 3);
  EXPECT_EQ(centred.right, 8);
  EXPECT_DOUBLE_EQ(box_lambda(centred, 12, 10), 1.0 - 30.0 / 120.0);
  const CutBox corner = cutmix_box(12, 10, 0.75, 0, 9);
  EXPECT_EQ(corner.top, 0);
  EXPECT_EQ(corner.bottom, 3);
  EXPECT_EQ(corner.left, 7);
  EXPECT_EQ(corner.right, 10);
}

TEST(Mixup, SoftTargetLossEqualsLabelSmoothedCrossEntropyWhenUnmixed) {
  const Batch in = make_batch(8, 4, 4);
  const at::Tensor targets = mixup_targets(in.labels, kClasses, 0.1, 1.0);
  EXPECT_TRUE(at::allclose(targets.sum(1), at::ones({8})));
  const double ours = soft_target_cross_entropy(in.logits, targets).item<double>();
  const double torch_ce =
      at::cross_entropy_loss(in.logits, in.labels, {}, at::Reduction::Mean, -100, 0.1).item<double>();
  EXPECT_NEAR(ours, torch_ce, 1e-6);
}

TEST(Mixup, LabelOutsideTheClassesIsAnError) {
  MixupConfig c;
  c.mixup_alpha = 1.0;
  const Mixup mixup(c, 3, 0.0, 0);
  try {
    mixup(at::zeros({2, 1, 4, 4}), at::tensor(std::vector<int64_t>{0, 5}), 0);
    FAIL() << "expected a tessera::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 5 is outside [0, 3)"), std::string::npos) << e.what();
  }
}

// ---- random draws ---------------------------------------------------------------

struct Moments {
  double mean = 0, variance = 0, low = 1, high = 0;
};

Moments moments(const std::vector<double>& v) {
  Moments m;
  for (double x : v) {
    m.mean += x;
    m.low = std::min(m.low, x);
    m.high = std::max(m.high, x);
  }
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= static_cast<double>(v.size() - 1);
  return m;
}

// λ ~ Beta(α, α): mean 1/2, variance 1 / (4 (2α + 1)), within [0, 1].
TEST(Mixup, LambdaFollowsBetaAlphaAlpha) {
  for (double alpha : {0.1, 0.4, 1.0, 2.5}) {
    MixupConfig c;
    c.mixup_alpha = alpha;
    const Mixup mixup(c, kClasses, 0.0, /*seed=*/123);
    std::vector<double> lams;
    for (int64_t step = 0; step < 20000; ++step) lams.push_back(mixup.draw(2, 8, 8, step).params[0].lam);
    const Moments m = moments(lams);
    const double expected_variance = 1.0 / (4.0 * (2.0 * alpha + 1.0));
    EXPECT_GE(m.low, 0.0) << alpha;
    EXPECT_LE(m.high, 1.0) << alpha;
    // Standard errors: mean ~0.003, variance ~0.001 at 20000 draws.
    EXPECT_NEAR(m.mean, 0.5, 0.015) << "alpha " << alpha;
    EXPECT_NEAR(m.variance, expected_variance, 0.006) << "alpha " << alpha;
    EXPECT_TRUE(std::isfinite(m.mean));
  }
}

TEST(Mixup, ProbAndSwitchProbAreFrequencies) {
  MixupConfig c;
  c.mixup_alpha = 0.8;
  c.cutmix_alpha = 1.0;
  c.prob = 0.6;
  c.switch_prob = 0.3;
  c.mode = MixupMode::Elem;
  const Mixup mixup(c, kClasses, 0.0, 5);
  int64_t mixed = 0, cutmix = 0, total = 0;
  for (int64_t step = 0; step < 500; ++step) {
    for (const auto& p : mixup.draw(20, 16, 16, step).params) {
      ++total;
      mixed += p.lam != 1.0;
      cutmix += p.cutmix;
    }
  }
  EXPECT_NEAR(static_cast<double>(mixed) / total, 0.6, 0.02);
  EXPECT_NEAR(static_cast<double>(cutmix) / total, 0.6 * 0.3, 0.02);
}

TEST(Mixup, CutmixBoxesStayInsideTheImage) {
  MixupConfig c;
  c.cutmix_alpha = 1.0;
  c.mode = MixupMode::Elem;
  const Mixup mixup(c, kClasses, 0.0, 9);
  MixupConfig mm = c;
  mm.cutmix_minmax = std::array<double, 2>{0.25, 0.75};
  const Mixup minmax(mm, kClasses, 0.0, 9);
  for (int64_t step = 0; step < 200; ++step) {
    for (const auto& p : mixup.draw(8, 13, 11, step).params) {
      ASSERT_TRUE(p.cutmix || p.lam == 1.0);
      EXPECT_TRUE(0 <= p.box.top && p.box.top <= p.box.bottom && p.box.bottom <= 13);
      EXPECT_TRUE(0 <= p.box.left && p.box.left <= p.box.right && p.box.right <= 11);
      if (p.cutmix) EXPECT_NEAR(p.lam, box_lambda(p.box, 13, 11), 1e-7);  // correct_lam
    }
    for (const auto& p : minmax.draw(8, 20, 16, step).params) {
      if (!p.cutmix) continue;
      const int64_t h = p.box.bottom - p.box.top, w = p.box.right - p.box.left;
      EXPECT_TRUE(h >= 5 && h < 15) << h;  // [⌊20 · 0.25⌋, ⌊20 · 0.75⌋)
      EXPECT_TRUE(w >= 4 && w < 12) << w;
      EXPECT_TRUE(p.box.top >= 0 && p.box.bottom <= 20 && p.box.left >= 0 && p.box.right <= 16);
    }
  }
}

TEST(Mixup, SameSeedAndStepSameDraw) {
  MixupConfig c;
  c.mixup_alpha = 0.8;
  c.cutmix_alpha = 1.0;
  c.mode = MixupMode::Elem;
  const Mixup a(c, kClasses, 0.0, 42), b(c, kClasses, 0.0, 42), other_seed(c, kClasses, 0.0, 43);
  auto lams = [](const MixPlan& plan) {
    std::vector<double> v;
    for (const auto& p : plan.params) v.push_back(p.lam);
    return v;
  };
  EXPECT_EQ(lams(a.draw(16, 8, 8, 1000)), lams(b.draw(16, 8, 8, 1000)));  // e.g. after a resume
  EXPECT_NE(lams(a.draw(16, 8, 8, 1000)), lams(a.draw(16, 8, 8, 1001)));
  EXPECT_NE(lams(a.draw(16, 8, 8, 1000)), lams(other_seed.draw(16, 8, 8, 1000)));
}

TEST(Mixup, ProbZeroIsTheIdentity) {
  for (MixupMode mode : {MixupMode::Batch, MixupMode::Pair, MixupMode::Elem}) {
    MixupConfig c;
    c.mixup_alpha = 1.0;
    c.cutmix_alpha = 1.0;
    c.prob = 0.0;
    c.mode = mode;
    const Mixup mixup(c, kClasses, 0.1, 3);
    const Batch in = make_batch(6, 12, 10);
    for (int64_t step = 0; step < 20; ++step) {
      const MixedBatch out = mixup(in.images, in.labels, step);
      EXPECT_TRUE(out.images.equal(in.images)) << mode_name(mode);
      const at::Tensor smoothed =
          at::one_hot(in.labels, kClasses).to(at::kFloat) * (1.0 - 0.1) + 0.1 / static_cast<double>(kClasses);
      EXPECT_LE(max_abs_diff(out.targets, smoothed), 1e-7) << mode_name(mode);
    }
  }
}

// ---- the recipe section -------------------------------------------------------------

std::string load_error(const std::string& yaml) {
  try {
    config::load_string(yaml, "recipe.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a tessera::Error for:\n" << yaml;
  return "";
}

TEST(MixupConfig, ReadsEveryKey) {
  const auto c = config::load_string(
      "train:\n  mixup: {mixup_alpha: 0.8, cutmix_alpha: 1.0, cutmix_minmax: [0.2, 0.8], prob: 0.5,\n"
      "          switch_prob: 0.25, mode: elem, correct_lam: false}\n",
      "recipe.yaml");
  EXPECT_EQ(c.train.mixup.mixup_alpha, 0.8);
  EXPECT_EQ(c.train.mixup.cutmix_alpha, 1.0);
  EXPECT_EQ(c.train.mixup.cutmix_minmax, (std::array<double, 2>{0.2, 0.8}));
  EXPECT_EQ(c.train.mixup.prob, 0.5);
  EXPECT_EQ(c.train.mixup.switch_prob, 0.25);
  EXPECT_EQ(c.train.mixup.mode, MixupMode::Elem);
  EXPECT_FALSE(c.train.mixup.correct_lam);
  EXPECT_TRUE(Mixup::enabled(c.train.mixup));
  EXPECT_FALSE(Mixup::enabled(config::load_string("name: x\n", "recipe.yaml").train.mixup));
}

TEST(MixupConfig, RangesAreChecked) {
  EXPECT_NE(load_error("train: {mixup: {mixup_alpha: -0.1}}\n").find("train.mixup.mixup_alpha"), std::string::npos);
  EXPECT_NE(load_error("train: {mixup: {prob: 1.5}}\n").find("train.mixup.prob: 1.5 is out of range; must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(load_error("train: {mixup: {switch_prob: -1}}\n").find("train.mixup.switch_prob"), std::string::npos);
  const std::string reversed = load_error("train: {mixup: {cutmix_minmax: [0.8, 0.2]}}\n");
  EXPECT_NE(reversed.find("train.mixup.cutmix_minmax: needs [min, max] with min < max"), std::string::npos) << reversed;
  EXPECT_NE(load_error("train: {mixup: {cutmix_minmax: [0, 0.5]}}\n").find("cutmix_minmax[0]"), std::string::npos);
  EXPECT_NE(load_error("train: {mixup: {cutmix_minmax: [0.5]}}\n").find("expected a list of 2 numbers"),
            std::string::npos);
  const std::string mode = load_error("train: {mixup: {mode: elements}}\n");
  EXPECT_NE(mode.find("expected one of batch|pair|elem"), std::string::npos) << mode;
  const std::string typo = load_error("train: {mixup: {cutmix_alfa: 1.0}}\n");
  EXPECT_NE(typo.find("did you mean 'cutmix_alpha'"), std::string::npos) << typo;
}

}  // namespace
}  // namespace tessera::train
