// CLIP parameter groups (see clip_param_groups.h).
#include "tessera/train/clip_param_groups.h"

#include <algorithm>

#include "tessera/core/error.h"

namespace tessera::train {

ClipPart clip_part(const std::string& name) {
  if (name == "logit_scale") return ClipPart::LogitScale;
  if (name.rfind("visual.", 0) == 0) return ClipPart::Image;
  return ClipPart::Text;  // token_embedding, positional_embedding, transformer.*, ln_final, text_projection
}

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
    switch (clip_part(name)) {
      case ClipPart::LogitScale:
        add_to_group(groups, "logit_scale", name, item.value(), c.logit_scale_weight_decay, c.logit_scale_lr_scale,
                     optim.lr_groups);
        break;
      case ClipPart::Image:
        add_to_group(groups, decayed ? "image.decay" : "image.no_decay", name, item.value(),
                     decayed ? c.image_weight_decay.value_or(optim.weight_decay) : 0.0, c.image_lr_scale,
                     optim.lr_groups);
        break;
      case ClipPart::Text:
        add_to_group(groups, decayed ? "text.decay" : "text.no_decay", name, item.value(),
                     decayed ? c.text_weight_decay.value_or(optim.weight_decay) : 0.0, c.text_lr_scale,
                     optim.lr_groups);
        break;
    }
  }
  return groups;
}

}  // namespace tessera::train
