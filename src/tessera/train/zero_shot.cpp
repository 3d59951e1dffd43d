// Zero-shot classification accuracy (see zero_shot.h).
#include "tessera/train/zero_shot.h"

#include <ATen/ATen.h>

#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/serve/zero_shot.h"

namespace tessera::train {

EvalResult evaluate_zero_shot(models::ClipImpl& clip, const at::Tensor& class_embeddings, data::Loader& loader,
                              c10::Device device, config::Precision precision) {
  const int64_t classes = class_embeddings.size(0);
  if (loader.dataset().num_classes() == 0) {
    throw Error("data.dataset", "zero-shot accuracy needs a labelled dataset (fashion_mnist, cifar10, image_folder, ...)");
  }
  if (loader.dataset().num_classes() != classes) {
    throw Error("data.dataset", "the dataset has " + std::to_string(loader.dataset().num_classes()) +
                                    " classes but " + std::to_string(classes) + " class embeddings were made");
  }
  const bool was_training = clip.is_training();
  clip.eval();
  at::InferenceMode inference;
  const auto head = serve::zero_shot_head(clip, class_embeddings);
  TopkCounter counter;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    auto images = batch->images.to(device, /*non_blocking=*/true);
    auto labels = batch->labels.to(device, /*non_blocking=*/true);
    at::Tensor features;
    {
      core::AutocastGuard autocast(precision, device);
      features = clip.encode_image(images, /*normalize=*/true);
    }
    counter.add(head.logits(features), labels);  // logits (B, classes)
  }
  clip.train(was_training);
  data::log_bad_samples(loader, "zero-shot evaluation");
  return counter.result();
}

}  // namespace tessera::train
