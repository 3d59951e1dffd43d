// Dynamic loss scaling (see grad_scaler.h).
#include "tessera/train/grad_scaler.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <vector>

namespace tessera::train {

GradScaler::GradScaler(const GradScalerOptions& options, c10::Device device) : options_(options) {
  TORCH_CHECK(options.init_scale() > 0, "GradScaler: init_scale must be positive, got ", options.init_scale());
  TORCH_CHECK(options.growth_factor() > 1, "GradScaler: growth_factor must be > 1, got ", options.growth_factor());
  TORCH_CHECK(options.backoff_factor() > 0 && options.backoff_factor() < 1,
              "GradScaler: backoff_factor must be in (0, 1), got ", options.backoff_factor());
  TORCH_CHECK(options.growth_interval() > 0, "GradScaler: growth_interval must be positive, got ",
              options.growth_interval());
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  scale_ = at::full({1}, options.init_scale(), f32);
  growth_tracker_ = at::zeros({1}, f32.dtype(at::kInt));
  found_inf_ = at::zeros({1}, f32);
}

at::Tensor GradScaler::scale(const at::Tensor& loss) const {
  if (!enabled()) return loss;
  return loss * scale_.to(loss.device());
}

void GradScaler::unscale(torch::optim::Optimizer& optimizer) {
  if (!enabled()) return;
  TORCH_CHECK(!unscaled_, "GradScaler: unscale() was already called since the last update()");
  c10::NoGradGuard no_grad;
  // The reciprocal in double, then float, as torch.amp.GradScaler does.
  const auto inv_scale = scale_.to(at::kDouble).reciprocal().to(at::kFloat);
  // The fused kernel wants one device and dtype per call: group the gradients.
  std::vector<std::vector<at::Tensor>> groups;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto same = [&](const std::vector<at::Tensor>& g) {
        return g.front().device() == p.grad().device() && g.front().scalar_type() == p.grad().scalar_type();
      };
      auto it = std::find_if(groups.begin(), groups.end(), same);
      if (it == groups.end()) {
        groups.push_back({p.grad()});
      } else {
        it->push_back(p.grad());
      }
    }
  }
  for (auto& grads : groups) {
    const auto device = grads.front().device();
    auto found = found_inf_.to(device);
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found, inv_scale.to(device));
    if (device != found_inf_.device()) found_inf_.copy_(found.to(found_inf_.device()));
  }
  unscaled_ = true;
}

bool GradScaler::step(torch::optim::Optimizer& optimizer) {
  if (!enabled()) {
    optimizer.step();
    return true;
  }
  TORCH_CHECK(!stepped_or_skipped_, "GradScaler: step() was already called since the last update()");
  if (!unscaled_) unscale(optimizer);
  stepped_or_skipped_ = true;
  if (found_inf_.item<float>() != 0.0f) {
    ++skipped_steps_;
    return false;
  }
  optimizer.step();
  return true;
}

void GradScaler::update() {
  if (!enabled()) return;
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, options_.growth_factor(), options_.backoff_factor(),
                         options_.growth_interval());
  found_inf_.zero_();
  unscaled_ = false;
  stepped_or_skipped_ = false;
}

double GradScaler::current_scale() const { return enabled() ? scale_.item<double>() : 1.0; }

int64_t GradScaler::growth_tracker() const { return growth_tracker_.item<int64_t>(); }

std::map<std::string, at::Tensor> GradScaler::state() const {
  return {{"scale", scale_.cpu()},
          {"growth_tracker", growth_tracker_.cpu()},
          {"skipped_steps", at::full({1}, skipped_steps_, at::kLong)}};
}

void GradScaler::load_state(const std::map<std::string, at::Tensor>& state) {
  for (const char* key : {"scale", "growth_tracker", "skipped_steps"}) {
    TORCH_CHECK(state.count(key), "GradScaler: checkpoint state lacks '", key, "'");
  }
  scale_.copy_(state.at("scale").to(scale_.device()));
  growth_tracker_.copy_(state.at("growth_tracker").to(growth_tracker_.device()));
  skipped_steps_ = state.at("skipped_steps").item<int64_t>();
}

}  // namespace tessera::train
