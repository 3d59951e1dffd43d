// Mixup / CutMix with timm's semantics (see mixup.h).
#include "tessera/train/mixup.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/data/sample_rng.h"

namespace tessera::train {

namespace {

using data::SampleRng;

constexpr double kPi = 3.14159265358979323846;

double standard_normal(SampleRng& rng) {
  // Box–Muller; 1 - u lies in (0, 1], so the log is finite.
  const double radius = std::sqrt(-2.0 * std::log(1.0 - rng.uniform()));
  return radius * std::cos(2.0 * kPi * rng.uniform());
}

// log of a Gamma(shape, 1) draw (Marsaglia & Tsang, 2000). In log space because
// for the small shapes mixup uses (α = 0.1 ... 0.2) the draw itself underflows to 0.
double log_gamma_draw(SampleRng& rng, double shape) {
  if (shape < 1.0) {
    // Gamma(a) = Gamma(a + 1) · U^(1/a) (Marsaglia & Tsang, section 6).
    return log_gamma_draw(rng, shape + 1.0) + std::log(1.0 - rng.uniform()) / shape;
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    const double x = standard_normal(rng);
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = rng.uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return std::log(d) + std::log(v);
  }
}

// Beta(α, α) = X / (X + Y) with X, Y ~ Gamma(α), as 1 / (1 + e^(log Y - log X)).
double beta_draw(SampleRng& rng, double alpha) {
  const double log_x = log_gamma_draw(rng, alpha);
  const double log_y = log_gamma_draw(rng, alpha);
  return 1.0 / (1.0 + std::exp(log_y - log_x));
}

// One side of timm's rand_bbox: ⌊side · √(1 - λ)⌋.
int64_t cut_side(int64_t side, double lam, bool single_precision) {
  if (single_precision) {
    const float ratio = std::sqrt(1.0f - static_cast<float>(lam));
    return static_cast<int64_t>(static_cast<float>(side) * ratio);
  }
  return static_cast<int64_t>(static_cast<double>(side) * std::sqrt(1.0 - lam));
}

// timm's rand_bbox_minmax side range [⌊side · min⌋, ⌊side · max⌋), never empty.
std::pair<int64_t, int64_t> minmax_side_range(int64_t side, const std::array<double, 2>& minmax) {
  const auto low = static_cast<int64_t>(static_cast<double>(side) * minmax[0]);
  const auto high = static_cast<int64_t>(static_cast<double>(side) * minmax[1]);
  // numpy's randint(low, high) refuses low == high (tiny images); take the one size.
  return {low, std::max(high, low + 1)};
}

at::Tensor smoothed_one_hot(const at::Tensor& labels, int64_t num_classes, double smoothing) {
  TORCH_CHECK(labels.dim() == 1, "mixup: labels must be (B), got ", labels.sizes());
  if (labels.device().is_cpu() && labels.numel() > 0) {
    // On the GPU the check would cost a sync per step; the scatter below asserts there.
    const int64_t low = labels.min().item<int64_t>();
    const int64_t high = labels.max().item<int64_t>();
    if (low < 0 || high >= num_classes) {
      throw Error("train.mixup", fmt::format("label {} is outside [0, {}) (model.num_classes)",
                                             low < 0 ? low : high, num_classes));
    }
  }
  const double off = smoothing / static_cast<double>(num_classes);
  const double on = 1.0 - smoothing + off;
  return at::full({labels.size(0), num_classes}, off, labels.options().dtype(at::kFloat))
      .scatter_(1, labels.to(at::kLong).view({-1, 1}), on);
}

}  // namespace

CutBox cutmix_box(int64_t height, int64_t width, double lam, int64_t centre_y, int64_t centre_x,
                  bool single_precision) {
  const int64_t cut_h = cut_side(height, lam, single_precision);
  const int64_t cut_w = cut_side(width, lam, single_precision);
  // Floor division as Python's //: cut sides are >= 0, so C++'s / is the same.
  CutBox box;
  box.top = std::clamp<int64_t>(centre_y - cut_h / 2, 0, height);
  box.bottom = std::clamp<int64_t>(centre_y + (cut_h + 1) / 2, 0, height);
  box.left = std::clamp<int64_t>(centre_x - cut_w / 2, 0, width);
  box.right = std::clamp<int64_t>(centre_x + (cut_w + 1) / 2, 0, width);
  return box;
}

double box_lambda(const CutBox& box, int64_t height, int64_t width) {
  return 1.0 - static_cast<double>(box.area()) / static_cast<double>(height * width);
}

at::Tensor mixup_targets(const at::Tensor& labels, int64_t num_classes, double smoothing, double lam) {
  const at::Tensor own = smoothed_one_hot(labels, num_classes, smoothing);
  return own.mul(lam).add_(own.flip(0).mul(1.0 - lam));
}

at::Tensor mixup_targets(const at::Tensor& labels, int64_t num_classes, double smoothing, const at::Tensor& lam) {
  const at::Tensor own = smoothed_one_hot(labels, num_classes, smoothing);
  TORCH_CHECK(lam.dim() == 2 && lam.size(0) == own.size(0) && lam.size(1) == 1,
              "mixup_targets: per-element lam must be (B, 1), got ", lam.sizes());
  return own.mul(lam).add_(own.flip(0).mul(1.0 - lam));
}

at::Tensor soft_target_cross_entropy(const at::Tensor& logits, const at::Tensor& targets) {
  TORCH_CHECK(logits.sizes() == targets.sizes(), "soft_target_cross_entropy: logits ", logits.sizes(),
              " and targets ", targets.sizes(), " differ");
  const at::Tensor log_probs = at::log_softmax(logits.to(at::kFloat), -1);
  return (-targets.to(at::kFloat) * log_probs).sum(-1).mean();
}

Mixup::Mixup(const config::MixupConfig& config, int64_t num_classes, double label_smoothing, uint64_t seed)
    : config_(config), num_classes_(num_classes), label_smoothing_(label_smoothing), seed_(seed) {
  if (num_classes < 1) throw Error("model.num_classes", "mixup needs the number of classes, got " + std::to_string(num_classes));
  if (!(config.mixup_alpha >= 0) || !(config.cutmix_alpha >= 0)) {
    throw Error("train.mixup", "mixup_alpha and cutmix_alpha must be >= 0");
  }
  if (!(config.prob >= 0 && config.prob <= 1) || !(config.switch_prob >= 0 && config.switch_prob <= 1)) {
    throw Error("train.mixup", "prob and switch_prob must be in [0, 1]");
  }
  if (config.cutmix_minmax) {
    const auto [low, high] = *config.cutmix_minmax;
    if (!(low > 0 && low < high && high <= 1)) {
      throw Error("train.mixup.cutmix_minmax", fmt::format("needs 0 < min < max <= 1, got [{}, {}]", low, high));
    }
    config_.cutmix_alpha = 1.0;  // timm: minmax boxes ignore λ, so cutmix just needs to be on
  }
  if (!(label_smoothing >= 0 && label_smoothing < 1)) {
    throw Error("train.label_smoothing", "must be in [0, 1), got " + std::to_string(label_smoothing));
  }
}

bool Mixup::enabled(const config::MixupConfig& config) {
  return config.mixup_alpha > 0 || config.cutmix_alpha > 0 || config.cutmix_minmax.has_value();
}

MixParams Mixup::params_from(const MixDraw& draw, int64_t height, int64_t width, bool per_element) const {
  MixParams p;
  const bool mixup_on = config_.mixup_alpha > 0;
  const bool cutmix_on = config_.cutmix_alpha > 0;
  if (!draw.apply || !(mixup_on || cutmix_on)) return p;
  // Which of the two: a coin when both are on, else the one that is.
  const bool cutmix = cutmix_on && (!mixup_on || draw.use_cutmix);
  // timm keeps per-element λs in a float32 array; one λ per batch stays a double.
  const double lam = per_element ? static_cast<double>(static_cast<float>(draw.lam)) : draw.lam;
  if (lam == 1.0) return p;
  p.lam = lam;
  if (!cutmix) return p;
  p.cutmix = true;
  if (config_.cutmix_minmax) {
    p.box = CutBox{draw.top, draw.top + draw.cut_h, draw.left, draw.left + draw.cut_w};
  } else {
    p.box = cutmix_box(height, width, lam, draw.centre_y, draw.centre_x, per_element);
  }
  // The pasted area decides the label weights; minmax boxes have no λ of their own.
  if (config_.correct_lam || config_.cutmix_minmax) p.lam = box_lambda(p.box, height, width);
  if (per_element) p.lam = static_cast<double>(static_cast<float>(p.lam));
  return p;
}

MixPlan Mixup::plan(const std::vector<MixDraw>& draws, int64_t batch, int64_t height, int64_t width) const {
  MixPlan out;
  out.mode = config_.mode;
  switch (config_.mode) {
    case config::MixupMode::Batch:
      TORCH_CHECK(draws.size() == 1, "Mixup::plan: batch mode takes one draw, got ", draws.size());
      out.params.push_back(params_from(draws[0], height, width, /*per_element=*/false));
      break;
    case config::MixupMode::Elem:
      TORCH_CHECK(static_cast<int64_t>(draws.size()) == batch, "Mixup::plan: elem mode takes one draw per element (",
                  batch, "), got ", draws.size());
      for (const auto& d : draws) out.params.push_back(params_from(d, height, width, /*per_element=*/true));
      break;
    case config::MixupMode::Pair:
      TORCH_CHECK(static_cast<int64_t>(draws.size()) == batch / 2, "Mixup::plan: pair mode takes one draw per pair (",
                  batch / 2, "), got ", draws.size());
      // Element B-1-i mirrors element i (same λ, same box); an odd batch's middle stays as it is.
      out.params.assign(static_cast<size_t>(batch), MixParams{});
      for (int64_t i = 0; i < batch / 2; ++i) {
        out.params[i] = params_from(draws[i], height, width, /*per_element=*/true);
        out.params[batch - 1 - i] = out.params[i];
      }
      break;
  }
  return out;
}

namespace {

// Random numbers for one decision, in a fixed order so every run draws the same ones.
MixDraw random_draw(SampleRng& rng, const config::MixupConfig& c, double mixup_alpha, double cutmix_alpha,
                    int64_t height, int64_t width) {
  MixDraw d;
  d.apply = rng.bernoulli(c.prob);
  if (!d.apply) return d;
  const bool mixup_on = mixup_alpha > 0;
  const bool cutmix_on = cutmix_alpha > 0;
  d.use_cutmix = cutmix_on && (!mixup_on || rng.bernoulli(c.switch_prob));
  d.lam = beta_draw(rng, d.use_cutmix ? cutmix_alpha : mixup_alpha);
  if (!d.use_cutmix) return d;
  if (c.cutmix_minmax) {
    const auto [h_low, h_high] = minmax_side_range(height, *c.cutmix_minmax);
    const auto [w_low, w_high] = minmax_side_range(width, *c.cutmix_minmax);
    d.cut_h = std::min(height, h_low + rng.below(h_high - h_low));
    d.cut_w = std::min(width, w_low + rng.below(w_high - w_low));
    d.top = rng.below(height - d.cut_h + 1);
    d.left = rng.below(width - d.cut_w + 1);
  } else {
    d.centre_y = rng.below(height);
    d.centre_x = rng.below(width);
  }
  return d;
}

}  // namespace

MixPlan Mixup::draw(int64_t batch, int64_t height, int64_t width, int64_t step) const {
  TORCH_CHECK(batch >= 1 && height >= 1 && width >= 1, "Mixup::draw: empty batch or image");
  SampleRng rng = SampleRng::derive(seed_, SampleRng::Stream::Mixup, static_cast<uint64_t>(step), 0);
  const int64_t count = config_.mode == config::MixupMode::Batch ? 1
                        : config_.mode == config::MixupMode::Pair ? batch / 2
                                                                  : batch;
  std::vector<MixDraw> draws;
  draws.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    draws.push_back(random_draw(rng, config_, config_.mixup_alpha, config_.cutmix_alpha, height, width));
  }
  return plan(draws, batch, height, width);
}

MixedBatch Mixup::apply(const at::Tensor& images, const at::Tensor& labels, const MixPlan& plan) const {
  TORCH_CHECK(images.dim() == 4, "Mixup: images must be (B, C, H, W), got ", images.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == images.size(0), "Mixup: labels must be (B) with B = ",
              images.size(0), ", got ", labels.sizes());
  const at::Tensor partner = images.flip(0);  // element i is mixed with element B-1-i
  MixedBatch out;
  if (plan.mode == config::MixupMode::Batch) {
    TORCH_CHECK(plan.params.size() == 1, "Mixup: a batch-mode plan has one MixParams");
    const MixParams& p = plan.params[0];
    if (p.lam == 1.0 && !p.cutmix) {
      out.images = images;
    } else if (p.cutmix) {
      out.images = images.clone();
      const auto rows = at::indexing::Slice(p.box.top, p.box.bottom);
      const auto cols = at::indexing::Slice(p.box.left, p.box.right);
      using at::indexing::Slice;
      out.images.index_put_({Slice(), Slice(), rows, cols}, partner.index({Slice(), Slice(), rows, cols}));
    } else {
      out.images = images.mul(p.lam).add_(partner.mul(1.0 - p.lam));
    }
    out.targets = mixup_targets(labels, num_classes_, label_smoothing_, p.lam);
    return out;
  }

  const int64_t batch = images.size(0);
  TORCH_CHECK(static_cast<int64_t>(plan.params.size()) == batch, "Mixup: the plan has ", plan.params.size(),
              " MixParams for a batch of ", batch);
  // Blend every element at once with its λ (1 for cutmix or unmixed ones: x·1 + y·0 = x),
  // then paste the cutmix boxes one by one.
  std::vector<float> blend(static_cast<size_t>(batch), 1.0f);
  std::vector<float> lam(static_cast<size_t>(batch), 1.0f);
  bool any_blend = false;
  for (int64_t i = 0; i < batch; ++i) {
    const MixParams& p = plan.params[static_cast<size_t>(i)];
    lam[static_cast<size_t>(i)] = static_cast<float>(p.lam);
    if (!p.cutmix && p.lam != 1.0) {
      blend[static_cast<size_t>(i)] = static_cast<float>(p.lam);
      any_blend = true;
    }
  }
  const auto float_options = at::TensorOptions().dtype(at::kFloat);
  if (any_blend) {
    const at::Tensor w = at::tensor(blend, float_options).to(images.device(), images.scalar_type()).view({-1, 1, 1, 1});
    out.images = images.mul(w).add_(partner.mul(1.0 - w));  // (B, C, H, W)
  } else {
    out.images = images.clone();
  }
  using at::indexing::Slice;
  for (int64_t i = 0; i < batch; ++i) {
    const MixParams& p = plan.params[static_cast<size_t>(i)];
    if (!p.cutmix) continue;
    const auto rows = Slice(p.box.top, p.box.bottom);
    const auto cols = Slice(p.box.left, p.box.right);
    out.images.index_put_({i, Slice(), rows, cols}, partner.index({i, Slice(), rows, cols}));
  }
  const at::Tensor lam_column = at::tensor(lam, float_options).to(labels.device()).view({-1, 1});  // (B, 1)
  out.targets = mixup_targets(labels, num_classes_, label_smoothing_, lam_column);
  return out;
}

MixedBatch Mixup::operator()(const at::Tensor& images, const at::Tensor& labels, int64_t step) const {
  return apply(images, labels, draw(images.size(0), images.size(2), images.size(3), step));
}

std::string Mixup::describe() const {
  std::string text = fmt::format("mixup: mixup_alpha {:g}, cutmix_alpha {:g}", config_.mixup_alpha, config_.cutmix_alpha);
  if (config_.cutmix_minmax) {
    text += fmt::format(", cutmix_minmax [{:g}, {:g}]", (*config_.cutmix_minmax)[0], (*config_.cutmix_minmax)[1]);
  }
  text += fmt::format(", prob {:g}, switch_prob {:g}, mode {}, correct_lam {}, label_smoothing {:g}, {} classes",
                      config_.prob, config_.switch_prob, config::to_string(config_.mode), config_.correct_lam,
                      label_smoothing_, num_classes_);
  return text;
}

}  // namespace tessera::train
