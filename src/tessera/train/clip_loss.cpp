// CLIP's contrastive loss (see clip_loss.h).
#include "tessera/train/clip_loss.h"

#include <c10/util/Exception.h>

namespace tessera::train {

ClipLossResult clip_loss(const at::Tensor& image_features, const at::Tensor& text_features,
                         const at::Tensor& logit_scale) {
  TORCH_CHECK(image_features.dim() == 2 && image_features.sizes() == text_features.sizes(),
              "clip_loss: image and text features must both be (B, D), got ", image_features.sizes(), " and ",
              text_features.sizes());
  const at::Tensor logits_per_image = logit_scale * at::matmul(image_features, text_features.t());
  const at::Tensor targets = at::arange(image_features.size(0), image_features.options().dtype(at::kLong));
  return clip_loss_from_logits(logits_per_image, logits_per_image.t(), targets);
}

ClipLossResult clip_loss_from_logits(const at::Tensor& logits_per_image, const at::Tensor& logits_per_text,
                                     const at::Tensor& targets) {
  ClipLossResult r;
  r.logits_per_image = logits_per_image;
  r.loss = (at::cross_entropy_loss(logits_per_image, targets) + at::cross_entropy_loss(logits_per_text, targets)) / 2;
  {
    at::NoGradGuard no_grad;
    r.image_to_text_acc = logits_per_image.argmax(1).eq(targets).to(at::kFloat).mean();
    r.text_to_image_acc = logits_per_text.argmax(1).eq(targets).to(at::kFloat).mean();
  }
  return r;
}

}  // namespace tessera::train
