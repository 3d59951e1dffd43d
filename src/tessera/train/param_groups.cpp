// Parameter groups by rule (see param_groups.h).
#include "tessera/train/param_groups.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>

namespace tessera::train {

int64_t ParamGroup::numel() const {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

void add_to_group(std::vector<ParamGroup>& groups, std::string label, const std::string& name,
                  const at::Tensor& param, double weight_decay, double lr_scale,
                  const std::vector<config::LrGroupConfig>& lr_groups) {
  for (const auto& g : lr_groups) {
    if (fnmatch(g.match.c_str(), name.c_str(), 0) == 0) {
      lr_scale *= g.lr_scale;
      label += "." + g.match;
      break;
    }
  }
  auto it = std::find_if(groups.begin(), groups.end(), [&](const ParamGroup& g) { return g.label == label; });
  if (it == groups.end()) {
    groups.push_back({label, {}, {}, weight_decay, lr_scale});
    it = groups.end() - 1;
  }
  it->names.push_back(name);
  it->params.push_back(param);
}

std::vector<ParamGroup> build_param_groups(models::ImageClassifierImpl& model, double weight_decay,
                                           std::optional<double> layer_decay,
                                           const std::vector<config::LrGroupConfig>& lr_groups) {
  const auto skip = model.no_weight_decay();
  const int64_t top_layer = model.num_layers() - 1;
  std::vector<ParamGroup> groups;  // in order of first appearance, like timm's
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    const std::string& name = item.key();
    const bool decay = item.value().dim() >= 2 && std::find(skip.begin(), skip.end(), name) == skip.end();
    std::string label = decay ? "decay" : "no_decay";
    double lr_scale = 1.0;
    if (layer_decay) {
      const int64_t layer = model.layer_id(name);
      lr_scale = std::pow(*layer_decay, static_cast<double>(top_layer - layer));
      label = "layer" + std::to_string(layer) + "." + label;
    }
    add_to_group(groups, label, name, item.value(), decay ? weight_decay : 0.0, lr_scale, lr_groups);
  }
  return groups;
}

}  // namespace tessera::train
