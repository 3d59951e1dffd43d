// Optimizer parameter groups of a CLIP (Radford et al., 2021) trained contrastively: the
// image tower, the text tower and the learnable temperature logit_scale each get their
// own lr multiplier and weight decay (recipe section `clip`), and within a tower the
// tensors open_clip never decays (gains, biases, 0/1-D tensors) get none.
#pragma once

#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/models/clip.h"
#include "tessera/train/param_groups.h"

namespace tessera::train {

// Groups labelled image.decay, image.no_decay, text.decay, text.no_decay, logit_scale
// (extended by a matching optim.lr_groups glob, as for image models). Parameters that do
// not require gradients (a locked image tower) are left out. optim.layer_decay has no
// meaning for CLIP here: a tessera::Error naming it.
std::vector<ParamGroup> build_clip_param_groups(models::ClipImpl& clip, const config::OptimConfig& optim,
                                                const config::ClipTrainConfig& clip_train);

}  // namespace tessera::train
