// Dynamic loss scaling for fp16 training (Micikevicius et al., 2018, "Mixed Precision
// Training"), with the semantics of torch.amp.GradScaler and the same ATen kernels.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/arg.h>
#include <torch/optim/optimizer.h>

#include <map>
#include <string>

namespace tessera::train {

struct GradScalerOptions {
  TORCH_ARG(double, init_scale) = 65536.0;  // 2^16, as PyTorch
  TORCH_ARG(double, growth_factor) = 2.0;   // scale *= this after growth_interval good steps
  TORCH_ARG(double, backoff_factor) = 0.5;  // scale *= this after a step with inf/nan gradients
  TORCH_ARG(int64_t, growth_interval) = 2000;
  TORCH_ARG(bool, enabled) = true;          // disabled: every call passes through unchanged
};

// Per step: loss = scale(loss); loss.backward(); unscale(opt) (optional, before clipping);
// step(opt); update(). A step whose gradients hold inf or nan is skipped (weights and
// optimizer state untouched) and the scale backs off.
class GradScaler {
 public:
  GradScaler(const GradScalerOptions& options, c10::Device device);

  at::Tensor scale(const at::Tensor& loss) const;
  // Divides every gradient by the scale, in place, and records whether any is not finite.
  // At most once between update() calls.
  void unscale(torch::optim::Optimizer& optimizer);
  // Unscales if not done yet, then steps unless a gradient was inf/nan. Returns whether it stepped.
  bool step(torch::optim::Optimizer& optimizer);
  // Backs off or grows the scale from this step's outcome (torch._amp_update_scale_).
  void update();

  double current_scale() const;
  int64_t growth_tracker() const;
  int64_t skipped_steps() const { return skipped_steps_; }
  bool enabled() const { return options_.enabled(); }

  // For checkpoints: scale, growth tracker and the skipped-step count.
  std::map<std::string, at::Tensor> state() const;
  void load_state(const std::map<std::string, at::Tensor>& state);

 private:
  GradScalerOptions options_;
  at::Tensor scale_;           // float32 (1), on the training device
  at::Tensor growth_tracker_;  // int32 (1): good steps since the last change
  at::Tensor found_inf_;       // float32 (1): this step's outcome, 1 = inf/nan seen
  bool unscaled_ = false;
  bool stepped_or_skipped_ = false;
  int64_t skipped_steps_ = 0;
};

}  // namespace tessera::train
