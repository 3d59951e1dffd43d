// Evaluation results shared by every task, and the evaluation of an image classifier
// over a whole loader: loss, top-1, top-5 (and each head's top-1 for a distilled DeiT).
#pragma once

#include <c10/core/Device.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/loader.h"
#include "tessera/dist/process_group.h"
#include "tessera/models/image_classifier.h"

namespace tessera::train {

struct Metric {
  std::string name;  // as in metrics.jsonl (after "eval_"): top1, top5, i2t_r1, ...
  double value = 0.0;
};

struct EvalResult {
  int64_t samples = 0;
  double loss = 0.0;  // mean over the samples: cross-entropy (no label smoothing), or the contrastive loss
  // In report order. The first is the run's score: what checkpoint.best and the summary's
  // "best" track (classification: top1; CLIP retrieval: retrieval_r1).
  std::vector<Metric> metrics;

  double score() const { return metrics.empty() ? 0.0 : metrics.front().value; }
  std::string score_name() const { return metrics.empty() ? "score" : metrics.front().name; }
  std::optional<double> metric(std::string_view name) const;
  // "loss 0.3012 top1 0.8853 top5 0.9972"
  std::string describe() const;
};

// Running cross-entropy, top-1 and top-5 over batches of logits (B, classes).
struct TopkCounter {
  double loss_sum = 0.0;
  int64_t top1 = 0;
  int64_t top5 = 0;  // top-min(5, classes)
  int64_t samples = 0;

  void add(const at::Tensor& logits, const at::Tensor& labels);
  // samples, mean loss, and metrics top1, top5 (fractions).
  EvalResult result() const;
};

// Runs one pass over `loader` in eval mode without gradients; restores the model's mode.
// Metrics: top1, top5 of forward() (for a distilled DeiT: the mean of its two heads), and
// for a model with a distillation head also top1_cls and top1_dist, each head alone.
// With a `group`, `loader` is this rank's shard and the counts are summed over the ranks.
EvalResult evaluate(models::ImageClassifierImpl& model, data::Loader& loader, c10::Device device,
                    config::Precision precision, dist::ProcessGroup* group = nullptr);

}  // namespace tessera::train
