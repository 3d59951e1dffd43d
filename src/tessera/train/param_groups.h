// Optimizer parameter groups chosen by rule from parameter names (never by position):
// biases, norms, tokens and position embeddings get no weight decay.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "tessera/models/image_classifier.h"

namespace tessera::train {

struct ParamGroup {
  std::string label;                // "decay" / "no_decay"
  std::vector<std::string> names;   // parameter names, as in the checkpoint
  std::vector<at::Tensor> params;
  double weight_decay = 0.0;
  double lr_scale = 1.0;            // the group's lr = schedule lr × lr_scale

  int64_t numel() const;
};

// Trainable parameters split into a decayed and a non-decayed group: a tensor with
// fewer than 2 dimensions, or named in model.no_weight_decay(), gets none.
std::vector<ParamGroup> build_param_groups(models::ImageClassifierImpl& model, double weight_decay);

}  // namespace tessera::train
