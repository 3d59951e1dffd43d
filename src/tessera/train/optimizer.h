// The optimizer the recipe names (AdamW, SGD), built over rule-based parameter groups.
#pragma once

#include <torch/optim/optimizer.h>

#include <memory>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/train/param_groups.h"

namespace tessera::train {

// One torch::optim param group per ParamGroup, in the same order.
std::unique_ptr<torch::optim::Optimizer> build_optimizer(const config::OptimConfig& config,
                                                         const std::vector<ParamGroup>& groups);

// The base learning rate for a global batch of `global_batch` images: learning_rate as
// given, or scaled from lr_base_size images (linearly or by the square root).
double effective_learning_rate(const config::OptimConfig& config, int64_t global_batch);

// Sets each group's lr to `lr` × its lr_scale (called every optimizer step).
void set_learning_rate(torch::optim::Optimizer& optimizer, const std::vector<ParamGroup>& groups, double lr);

}  // namespace tessera::train
