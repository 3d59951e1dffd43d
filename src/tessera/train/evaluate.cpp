// Evaluation (see evaluate.h).
#include "tessera/train/evaluate.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "tessera/core/precision.h"

namespace tessera::train {

EvalResult evaluate(models::ImageClassifierImpl& model, data::Loader& loader, c10::Device device,
                    config::Precision precision) {
  const bool was_training = model.is_training();
  model.eval();
  at::InferenceMode inference;
  double loss_sum = 0.0;
  int64_t correct1 = 0, correct5 = 0, samples = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    auto images = batch->images.to(device, /*non_blocking=*/true);
    auto labels = batch->labels.to(device, /*non_blocking=*/true);
    at::Tensor logits;
    {
      core::AutocastGuard autocast(precision, device);
      logits = model.forward(images);
    }
    logits = logits.to(at::kFloat);
    loss_sum += at::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum).item<double>();
    const int64_t k = std::min<int64_t>(5, logits.size(1));
    auto topk = std::get<1>(logits.topk(k, 1));             // (B, k)
    auto hits = topk.eq(labels.unsqueeze(1));               // (B, k)
    correct1 += hits.select(1, 0).sum().item<int64_t>();
    correct5 += hits.any(1).sum().item<int64_t>();
    samples += labels.size(0);
  }
  model.train(was_training);
  data::log_bad_samples(loader, "evaluation");
  EvalResult r;
  r.samples = samples;
  if (samples > 0) {
    r.loss = loss_sum / samples;
    r.top1 = static_cast<double>(correct1) / samples;
    r.top5 = static_cast<double>(correct5) / samples;
  }
  return r;
}

}  // namespace tessera::train
