// Parameter groups by rule (see param_groups.h).
#include "tessera/train/param_groups.h"

#include <algorithm>

namespace tessera::train {

int64_t ParamGroup::numel() const {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

std::vector<ParamGroup> build_param_groups(models::ImageClassifierImpl& model, double weight_decay) {
  const auto skip = model.no_weight_decay();
  ParamGroup decay{"decay", {}, {}, weight_decay, 1.0};
  ParamGroup no_decay{"no_decay", {}, {}, 0.0, 1.0};
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    const bool exempt = item.value().dim() < 2 || std::find(skip.begin(), skip.end(), item.key()) != skip.end();
    auto& group = exempt ? no_decay : decay;
    group.names.push_back(item.key());
    group.params.push_back(item.value());
  }
  std::vector<ParamGroup> groups;
  for (auto* g : {&decay, &no_decay}) {
    if (!g->params.empty()) groups.push_back(std::move(*g));
  }
  return groups;
}

}  // namespace tessera::train
