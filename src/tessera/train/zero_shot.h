// Zero-shot classification accuracy of a CLIP (Radford et al., 2021, section 3.1.4) on a
// labelled image set: each image's logits are logit_scale · its unit embedding · the
// class embeddings (one unit row per class, from prompt templates: see
// serve::class_embeddings), scored top-1 / top-5 against the labels, as open_clip's
// zero_shot_eval.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "tessera/config/recipe.h"
#include "tessera/data/loader.h"
#include "tessera/models/clip.h"
#include "tessera/train/evaluate.h"

namespace tessera::train {

// One pass over `loader` (a labelled dataset whose class order is the rows of
// `class_embeddings` (classes, embed_dim)) in eval mode without gradients. Metrics: top1,
// top5; the loss is the cross-entropy of the zero-shot logits. Restores the model's mode.
// A dataset without labels, or another class count, is a tessera::Error.
EvalResult evaluate_zero_shot(models::ClipImpl& clip, const at::Tensor& class_embeddings, data::Loader& loader,
                              c10::Device device, config::Precision precision);

}  // namespace tessera::train
