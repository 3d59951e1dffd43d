// CLIP parameter groups (see clip_param_groups.h).
#include "tessera/train/clip_param_groups.h"

#include <algorithm>

#include "tessera/core/error.h"

namespace tessera::train {

std::vector<ParamGroup> build_clip_param_groups(models::ClipImpl& clip, const config::OptimConfig& optim,
                                                const config::ClipTrainConfig& c) {
  if (optim.layer_decay) {
    throw Error("optim.layer_decay", "is not available for CLIP; set clip.image_lr_scale / clip.text_lr_scale");
  }
  const auto skip = clip.no_weight_decay();
  std::vector<ParamGroup> groups;
  for (const auto& item : clip.named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    const std::string& name = item.key();
    const bool decayed = std::find(skip.begin(), skip.end(), name) == skip.end();
    if (name == "logit_scale") {
      add_to_group(groups, "logit_scale", name, item.value(), c.logit_scale_weight_decay, c.logit_scale_lr_scale,
                   optim.lr_groups);
      continue;
    }
    // The image tower is visual.*; the rest is the text tower (token_embedding,
    // positional_embedding, transformer.*, ln_final, text_projection).
    const bool image = name.rfind("visual.", 0) == 0;
    const std::string tower = image ? "image" : "text";
    const double weight_decay = (image ? c.image_weight_decay : c.text_weight_decay).value_or(optim.weight_decay);
    add_to_group(groups, tower + (decayed ? ".decay" : ".no_decay"), name, item.value(), decayed ? weight_decay : 0.0,
                 image ? c.image_lr_scale : c.text_lr_scale, optim.lr_groups);
  }
  return groups;
}

}  // namespace tessera::train
