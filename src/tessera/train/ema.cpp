// Weight EMA (see ema.h).
#include "tessera/train/ema.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace tessera::train {

namespace {
std::vector<std::pair<std::string, at::Tensor>> named_state(torch::nn::Module& model) {
  std::vector<std::pair<std::string, at::Tensor>> state;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) state.emplace_back(item.key(), item.value());
  for (const auto& item : model.named_buffers(/*recurse=*/true)) state.emplace_back(item.key(), item.value());
  return state;
}
}  // namespace

ModelEma::ModelEma(torch::nn::Module& model, const EmaOptions& options, c10::Device device)
    : options_(options), device_(device) {
  TORCH_CHECK(options.decay() >= 0 && options.decay() < 1, "ModelEma: decay must be in [0, 1), got ", options.decay());
  c10::NoGradGuard no_grad;
  for (const auto& [name, tensor] : named_state(model)) {
    state_.emplace_back(name, tensor.detach().to(device_, /*non_blocking=*/false, /*copy=*/true));
  }
}

double ModelEma::decay_at(int64_t step) const {
  const int64_t t = std::max<int64_t>(0, step - 1);
  if (t <= 0) return 0.0;
  if (!options_.warmup()) return options_.decay();
  const double warm = 1.0 - std::pow(1.0 + static_cast<double>(t) / options_.warmup_gamma(), -options_.warmup_power());
  return std::max(std::min(warm, options_.decay()), options_.min_decay());
}

void ModelEma::update(torch::nn::Module& model, int64_t step) {
  c10::NoGradGuard no_grad;
  const double weight = 1.0 - decay_at(step);
  const auto current = named_state(model);
  TORCH_CHECK(current.size() == state_.size(), "ModelEma: the model has ", current.size(), " tensors, the EMA ",
              state_.size());
  std::vector<at::Tensor> ema_floats, model_floats;
  for (size_t i = 0; i < state_.size(); ++i) {
    auto& ema = state_[i].second;
    auto value = current[i].second.detach().to(device_);
    if (ema.is_floating_point()) {
      ema_floats.push_back(ema);
      model_floats.push_back(value.to(ema.scalar_type()));
    } else {
      ema.copy_(value);
    }
  }
  at::_foreach_lerp_(ema_floats, model_floats, weight);  // ema += weight * (model - ema)
}

void ModelEma::copy_to(torch::nn::Module& model) const {
  c10::NoGradGuard no_grad;
  const auto target = named_state(model);
  TORCH_CHECK(target.size() == state_.size(), "ModelEma: the model has ", target.size(), " tensors, the EMA ",
              state_.size());
  for (size_t i = 0; i < state_.size(); ++i) {
    TORCH_CHECK(target[i].first == state_[i].first, "ModelEma: tensor ", i, " is '", target[i].first,
                "' in the model, '", state_[i].first, "' in the EMA");
    target[i].second.copy_(state_[i].second);
  }
}

void ModelEma::load_state(const std::vector<std::pair<std::string, at::Tensor>>& state) {
  c10::NoGradGuard no_grad;
  TORCH_CHECK(state.size() == state_.size(), "ModelEma: the saved state has ", state.size(), " tensors, the EMA ",
              state_.size());
  for (size_t i = 0; i < state_.size(); ++i) {
    TORCH_CHECK(state[i].first == state_[i].first, "ModelEma: saved tensor '", state[i].first, "' where '",
                state_[i].first, "' was expected");
    state_[i].second.copy_(state[i].second);
  }
}

}  // namespace tessera::train
