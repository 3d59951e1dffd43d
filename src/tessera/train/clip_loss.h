// CLIP's contrastive loss (Radford et al., 2021), as open_clip's ClipLoss on one
// process: cross-entropy of each image against all texts of the batch and of
// each text against all images, the matching pair being the target, averaged.
#pragma once

#include <ATen/ATen.h>

namespace tessera::train {

struct ClipLossResult {
  at::Tensor loss;               // scalar
  at::Tensor logits_per_image;   // (B, B): logit_scale * image_i . text_j
  at::Tensor image_to_text_acc;  // scalar: images whose best text is their own caption
  at::Tensor text_to_image_acc;  // scalar: texts whose best image is their own
};

// `image_features` and `text_features` (B, D) are L2-normalized; `logit_scale` is
// the already exponentiated temperature (exp of the learnable log scale).
ClipLossResult clip_loss(const at::Tensor& image_features, const at::Tensor& text_features,
                         const at::Tensor& logit_scale);

// The same from logits already made: rows of `logits_per_image` (images x texts) and of
// `logits_per_text` (texts x images) whose right column is `targets` (int64). Data-parallel
// training passes the logits of this rank's rows against the gathered batch.
ClipLossResult clip_loss_from_logits(const at::Tensor& logits_per_image, const at::Tensor& logits_per_text,
                                     const at::Tensor& targets);

}  // namespace tessera::train
