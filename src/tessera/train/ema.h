// Exponential moving average of a model's weights (Polyak averaging), with the decay
// warmup of timm's ModelEmaV3: decay_t = min(decay, 1 - (1 + t/gamma)^-power).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/arg.h>
#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

namespace tessera::train {

struct EmaOptions {
  TORCH_ARG(double, decay) = 0.9999;
  TORCH_ARG(double, min_decay) = 0.0;
  TORCH_ARG(bool, warmup) = false;          // ramp the decay up from 0 (short runs need it)
  TORCH_ARG(double, warmup_gamma) = 1.0;
  TORCH_ARG(double, warmup_power) = 2.0 / 3.0;
};

class ModelEma {
 public:
  // Starts as a copy of every parameter and buffer of `model`, kept on `device`
  // (the CPU keeps the average out of GPU memory).
  ModelEma(torch::nn::Module& model, const EmaOptions& options, c10::Device device);

  // The decay used at optimizer step `step` (1-based, after the step): 0 at the first
  // step, so the average starts at the weights, as timm's get_decay.
  double decay_at(int64_t step) const;

  // ema = decay * ema + (1 - decay) * model for floating tensors; others are copied.
  void update(torch::nn::Module& model, int64_t step);

  // Writes the averaged weights into `model` (same architecture), e.g. to evaluate them.
  void copy_to(torch::nn::Module& model) const;

  const std::vector<std::pair<std::string, at::Tensor>>& state() const { return state_; }
  void load_state(const std::vector<std::pair<std::string, at::Tensor>>& state);

 private:
  EmaOptions options_;
  c10::Device device_;
  std::vector<std::pair<std::string, at::Tensor>> state_;  // parameters then buffers, by name
};

}  // namespace tessera::train
