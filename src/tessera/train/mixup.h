// Mixup (Zhang et al., 2018, "mixup: Beyond Empirical Risk Minimization") and CutMix
// (Yun et al., 2019) on a training batch, with the semantics of timm's timm.data.Mixup:
// each sample is mixed with its mirror in the batch (element i with B-1-i), and the
// labels become soft targets, label smoothing folded in.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"

namespace tessera::train {

// Rows [top, bottom) and columns [left, right) of the box cutmix pastes from the partner.
struct CutBox {
  int64_t top = 0;
  int64_t bottom = 0;
  int64_t left = 0;
  int64_t right = 0;
  int64_t area() const { return (bottom - top) * (right - left); }
};

// The random numbers one mixing decision uses. Mixup::draw takes them from the
// (seed, step) stream; tests write them by hand to compare with timm on the same numbers.
struct MixDraw {
  bool apply = false;       // mixed at all (probability `prob`)
  bool use_cutmix = false;  // cutmix rather than mixup (switch_prob, when both are on)
  double lam = 1.0;         // the Beta(α, α) sample
  // cutmix with cutmix_alpha (timm's rand_bbox): the box centre, in [0, H) × [0, W).
  int64_t centre_y = 0;
  int64_t centre_x = 0;
  // cutmix with cutmix_minmax (timm's rand_bbox_minmax): box sides in
  // [⌊H·min⌋, ⌊H·max⌋) × [⌊W·min⌋, ⌊W·max⌋) and its top-left corner.
  int64_t cut_h = 0;
  int64_t cut_w = 0;
  int64_t top = 0;
  int64_t left = 0;
};

// How one element (or, in batch mode, the whole batch) is mixed.
struct MixParams {
  double lam = 1.0;     // weight of the sample's own image and label; 1 = left as it is
  bool cutmix = false;  // paste `box` from the partner instead of blending
  CutBox box;
};

// One step's mixing: a single MixParams in batch mode, else one per element (pair mode
// gives element B-1-i the params of element i).
struct MixPlan {
  config::MixupMode mode = config::MixupMode::Batch;
  std::vector<MixParams> params;
};

struct MixedBatch {
  at::Tensor images;   // (B, C, H, W), same dtype and device as the input
  at::Tensor targets;  // (B, num_classes) float32 soft targets
};

// timm's rand_bbox arithmetic: a box of ⌊H·√(1-λ)⌋ × ⌊W·√(1-λ)⌋ centred at
// (centre_y, centre_x), clipped to the image. `single_precision` does the square root
// and products in float32, as timm does for per-element λs (a float32 array).
CutBox cutmix_box(int64_t height, int64_t width, double lam, int64_t centre_y, int64_t centre_x,
                  bool single_precision = false);

// 1 - box area / image area: the share of the image that stays the sample's own.
double box_lambda(const CutBox& box, int64_t height, int64_t width);

// One-hot labels smoothed (off = smoothing / num_classes, on = 1 - smoothing + off) and
// mixed with the flipped batch: lam · y + (1 - lam) · y.flip(0) (timm's mixup_target).
at::Tensor mixup_targets(const at::Tensor& labels, int64_t num_classes, double smoothing, double lam);
// The same with one λ per element: lam is (B, 1) float32.
at::Tensor mixup_targets(const at::Tensor& labels, int64_t num_classes, double smoothing, const at::Tensor& lam);

// mean over the batch of -Σ_c target_c · log_softmax(logits)_c, in float32 (timm's
// SoftTargetCrossEntropy): the loss for mixed soft targets.
at::Tensor soft_target_cross_entropy(const at::Tensor& logits, const at::Tensor& targets);

class Mixup {
 public:
  // `num_classes` sizes the targets; `label_smoothing` is train.label_smoothing;
  // `seed` is train.seed. With cutmix_minmax set, cutmix is on with α = 1 (as timm).
  Mixup(const config::MixupConfig& config, int64_t num_classes, double label_smoothing, uint64_t seed);

  // Whether a recipe asks for mixing at all (an alpha > 0 or cutmix_minmax set).
  static bool enabled(const config::MixupConfig& config);

  // The decisions for optimizer step `step` on a batch of `batch` images of height ×
  // width. Depends only on (seed, step), so a resumed run mixes as the original did.
  MixPlan draw(int64_t batch, int64_t height, int64_t width, int64_t step) const;

  // Turns hand-written draws into a plan (one draw in batch mode, one per element in
  // elem mode, one per pair in pair mode), exactly as draw() does with random ones.
  MixPlan plan(const std::vector<MixDraw>& draws, int64_t batch, int64_t height, int64_t width) const;

  // Mixes images (B, C, H, W) and turns labels (B) int64 into soft targets. The input is
  // never changed; when nothing is mixed the result may share its storage.
  MixedBatch apply(const at::Tensor& images, const at::Tensor& labels, const MixPlan& plan) const;
  // draw + apply for step `step`.
  MixedBatch operator()(const at::Tensor& images, const at::Tensor& labels, int64_t step) const;

  // One line for the log: what mixing this run does.
  std::string describe() const;

 private:
  MixParams params_from(const MixDraw& draw, int64_t height, int64_t width, bool per_element) const;

  config::MixupConfig config_;
  int64_t num_classes_;
  double label_smoothing_;
  uint64_t seed_;
};

}  // namespace tessera::train
