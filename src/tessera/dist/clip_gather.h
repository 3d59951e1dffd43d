// CLIP's contrastive logits over the global batch (Radford et al., 2021), as
// open_clip's ClipLoss computes them on several ranks: each rank gathers every rank's
// image and text features, so the negatives of each pair are the whole global batch.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <memory>

#include "tessera/dist/process_group.h"

namespace tessera::dist {

struct ClipGatherOptions {
  // Each rank scores only its own images and texts against all the gathered ones
  // (open_clip's --local-loss): B_local x B_global logits instead of B_global^2.
  TORCH_ARG(bool, local_loss) = false;
  // The gradient flows through the gathered features to the rank that made them
  // (open_clip's --gather-with-grad). With it the gradients equal single-process
  // training on the global batch, with or without local_loss; without it only this
  // rank's own features carry gradient (open_clip's default).
  TORCH_ARG(bool, gather_with_grad) = true;
};

struct ClipLogits {
  at::Tensor logits_per_image;  // (rows, B_global): this rank's images (all, without local_loss) x every text
  at::Tensor logits_per_text;   // (rows, B_global): texts x every image
  at::Tensor targets;           // int64 (rows): the column of each row's own pair
};

// `image_features`, `text_features`: this rank's (B_local, D), L2-normalized;
// `logit_scale`: the exponentiated temperature. The loss is the mean of the two
// cross-entropies, (CE(logits_per_image, targets) + CE(logits_per_text, targets)) / 2;
// with the default options every rank computes the same loss, the full batch's.
ClipLogits clip_logits_across_ranks(const at::Tensor& image_features, const at::Tensor& text_features,
                                    const at::Tensor& logit_scale, const std::shared_ptr<ProcessGroup>& group,
                                    const ClipGatherOptions& options = {});

}  // namespace tessera::dist
