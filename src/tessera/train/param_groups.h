// Optimizer parameter groups chosen by rule from parameter names (never by position):
// no weight decay for biases, norms, tokens and position embeddings; layer-wise lr decay
// (BEiT, Bao et al. 2022; timm's param_groups_layer_decay); lr multipliers by glob.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/models/image_classifier.h"

namespace tessera::train {

struct ParamGroup {
  std::string label;                // e.g. "decay", "layer3.no_decay", "layer13.decay.head*"
  std::vector<std::string> names;   // parameter names, as in the checkpoint
  std::vector<at::Tensor> params;
  double weight_decay = 0.0;
  double lr_scale = 1.0;            // the group's lr = schedule lr × lr_scale

  int64_t numel() const;
};

// Trainable parameters grouped by (weight decay, lr scale):
// - a tensor with fewer than 2 dimensions, or named in model.no_weight_decay(), gets no decay;
// - with `layer_decay`, a parameter at model.layer_id() = i of L layers gets lr × decay^(L-1-i);
// - the first of `lr_groups` whose glob matches the name multiplies its lr by lr_scale.
std::vector<ParamGroup> build_param_groups(models::ImageClassifierImpl& model, double weight_decay,
                                           std::optional<double> layer_decay = std::nullopt,
                                           const std::vector<config::LrGroupConfig>& lr_groups = {});

// Adds parameter `name` to the group labelled `label`, made with `weight_decay` and
// `lr_scale` when it is new; the first of `lr_groups` whose glob matches the name
// multiplies the lr and extends the label ("decay.head*"). Groups keep the order of
// their first parameter, like timm's. Used by every model family's grouping rule.
void add_to_group(std::vector<ParamGroup>& groups, std::string label, const std::string& name,
                  const at::Tensor& param, double weight_decay, double lr_scale,
                  const std::vector<config::LrGroupConfig>& lr_groups);

}  // namespace tessera::train
