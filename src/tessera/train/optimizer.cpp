// Optimizer construction (see optimizer.h).
#include "tessera/train/optimizer.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>

namespace tessera::train {

std::unique_ptr<torch::optim::Optimizer> build_optimizer(const config::OptimConfig& c,
                                                         const std::vector<ParamGroup>& groups) {
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  for (const auto& g : groups) {
    const double lr = c.learning_rate * g.lr_scale;
    std::unique_ptr<torch::optim::OptimizerOptions> options;
    if (c.name == config::OptimizerKind::AdamW) {
      options = std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(lr)
                                                                 .betas({c.betas[0], c.betas[1]})
                                                                 .eps(c.eps)
                                                                 .weight_decay(g.weight_decay));
    } else {
      options = std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(lr)
                                                               .momentum(c.momentum)
                                                               .nesterov(c.nesterov)
                                                               .weight_decay(g.weight_decay));
    }
    torch_groups.emplace_back(g.params, std::move(options));
  }
  if (c.name == config::OptimizerKind::AdamW) {
    return std::make_unique<torch::optim::AdamW>(std::move(torch_groups), torch::optim::AdamWOptions(c.learning_rate));
  }
  return std::make_unique<torch::optim::SGD>(std::move(torch_groups), torch::optim::SGDOptions(c.learning_rate));
}

double effective_learning_rate(const config::OptimConfig& c, int64_t global_batch) {
  if (c.lr_base_size <= 0) return c.learning_rate;
  const double ratio = static_cast<double>(global_batch) / static_cast<double>(c.lr_base_size);
  return c.learning_rate * (c.lr_base_scale == config::LrScaling::Sqrt ? std::sqrt(ratio) : ratio);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, const std::vector<ParamGroup>& groups, double lr) {
  auto& torch_groups = optimizer.param_groups();
  for (size_t i = 0; i < torch_groups.size(); ++i) {
    torch_groups[i].options().set_lr(lr * groups[i].lr_scale);
  }
}

}  // namespace tessera::train
