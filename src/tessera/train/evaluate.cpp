// Evaluation (see evaluate.h).
#include "tessera/train/evaluate.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

#include "tessera/core/precision.h"

namespace tessera::train {

std::optional<double> EvalResult::metric(std::string_view name) const {
  for (const auto& m : metrics) {
    if (m.name == name) return m.value;
  }
  return std::nullopt;
}

std::string EvalResult::describe() const {
  std::string text = fmt::format("loss {:.4f}", loss);
  for (const auto& m : metrics) text += fmt::format(" {} {:.4f}", m.name, m.value);
  return text;
}

void TopkCounter::add(const at::Tensor& logits, const at::Tensor& labels) {
  const auto scores = logits.to(at::kFloat);
  loss_sum += at::cross_entropy_loss(scores, labels, {}, at::Reduction::Sum).item<double>();
  const int64_t k = std::min<int64_t>(5, scores.size(1));
  auto hits = std::get<1>(scores.topk(k, 1)).eq(labels.unsqueeze(1));  // (B, k)
  top1 += hits.select(1, 0).sum().item<int64_t>();
  top5 += hits.any(1).sum().item<int64_t>();
  samples += labels.size(0);
}

EvalResult TopkCounter::result() const {
  EvalResult r;
  r.samples = samples;
  const double n = static_cast<double>(std::max<int64_t>(samples, 1));
  r.loss = loss_sum / n;
  r.metrics = {{"top1", top1 / n}, {"top5", top5 / n}};
  return r;
}

namespace {

int64_t top1_hits(const at::Tensor& logits, const at::Tensor& labels) {
  return logits.argmax(1).eq(labels).sum().item<int64_t>();
}

}  // namespace

EvalResult evaluate(models::ImageClassifierImpl& model, data::Loader& loader, c10::Device device,
                    config::Precision precision, dist::ProcessGroup* group) {
  const bool was_training = model.is_training();
  model.eval();
  at::InferenceMode inference;
  TopkCounter counter;
  int64_t correct_cls = 0, correct_dist = 0;
  bool distilled = false;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    auto images = batch->images.to(device, /*non_blocking=*/true);
    auto labels = batch->labels.to(device, /*non_blocking=*/true);
    at::Tensor logits;
    std::optional<std::pair<at::Tensor, at::Tensor>> heads;
    {
      core::AutocastGuard autocast(precision, device);
      // A distilled DeiT: both heads from one pass; forward() is their mean.
      heads = model.forward_distilled(images);
      logits = heads ? (heads->first + heads->second) / 2 : model.forward(images);
    }
    if (heads) {
      distilled = true;
      correct_cls += top1_hits(heads->first, labels);
      correct_dist += top1_hits(heads->second, labels);
    }
    counter.add(logits, labels);
  }
  model.train(was_training);
  data::log_bad_samples(loader, "evaluation");
  if (group != nullptr) {
    // Every rank's counts, in one collective. (A rank whose shard is empty saw no batch,
    // so cannot tell whether the model has two heads.)
    const auto all = group->sum({counter.loss_sum, static_cast<double>(counter.top1), static_cast<double>(counter.top5),
                                 static_cast<double>(counter.samples), static_cast<double>(correct_cls),
                                 static_cast<double>(correct_dist), distilled ? 1.0 : 0.0},
                                "the evaluation counts");
    counter.loss_sum = all[0];
    counter.top1 = static_cast<int64_t>(all[1]);
    counter.top5 = static_cast<int64_t>(all[2]);
    counter.samples = static_cast<int64_t>(all[3]);
    correct_cls = static_cast<int64_t>(all[4]);
    correct_dist = static_cast<int64_t>(all[5]);
    distilled = all[6] > 0;
  }
  EvalResult r = counter.result();
  if (distilled) {
    const double n = static_cast<double>(std::max<int64_t>(r.samples, 1));
    r.metrics.push_back({"top1_cls", correct_cls / n});
    r.metrics.push_back({"top1_dist", correct_dist / n});
  }
  return r;
}

}  // namespace tessera::train
