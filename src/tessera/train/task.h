// A training mode's model-specific half (classification, DeiT distillation, CLIP's
// contrastive learning): what a batch is turned into (a loss and a few metrics), how the
// parameters are grouped, and how the model is evaluated. The trainer owns everything
// else (the loop, schedule, precision, accumulation, EMA, checkpoints, metrics, signals)
// and sees models only through this interface.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/loader.h"
#include "tessera/dist/process_group.h"
#include "tessera/nn/sdpa.h"
#include "tessera/train/evaluate.h"
#include "tessera/train/param_groups.h"

namespace tessera::train {

// One micro-batch's result.
struct TaskLoss {
  at::Tensor loss;  // scalar, float32, differentiable
  // Per-step values for the log (detached scalars): in-batch retrieval accuracy, ...
  std::vector<std::pair<std::string, at::Tensor>> metrics;
};

class Task {
 public:
  virtual ~Task() = default;

  // The trained module: its parameters are optimized, averaged (EMA) and saved under
  // their reference (timm / open_clip) names. Already on the run's device.
  virtual torch::nn::Module& model() = 0;
  // A new module of the same architecture on the same device: the EMA weights are
  // copied into it to be evaluated and saved.
  virtual std::shared_ptr<torch::nn::Module> make_twin() const = 0;
  // The optimizer's parameter groups, by the family's rules.
  virtual std::vector<ParamGroup> param_groups(const config::OptimConfig& optim) = 0;
  // The attention calls the run makes (the trained model's and any helper model's), for
  // the attention backend probe.
  virtual nn::AttentionShapes attention_shapes() const = 0;
  // Training mode for the step loop (a locked tower stays in eval mode).
  virtual void train_mode() { model().train(); }
  // Forward and loss of one micro-batch; `micro_batch` is its index over the whole run
  // (random draws such as mixup are keyed by it, so a resumed run repeats them).
  virtual TaskLoss loss(const data::Batch& batch, int64_t micro_batch) = 0;
  // After each optimizer step that was taken (CLIP clamps its logit scale).
  virtual void after_step() {}
  // Evaluates `model` (model() or a twin) over `loader`; restores its module-wide mode
  // (the trainer calls train_mode() afterwards, which re-freezes a locked tower).
  virtual EvalResult evaluate(torch::nn::Module& model, data::Loader& loader) = 0;
  // Time spent outside the trained model since the last call (the distillation teacher),
  // for the epoch's throughput line; `steps` and `images` are the epoch's.
  virtual std::vector<Metric> take_epoch_stats(int64_t steps, int64_t images) { return {}; }
  // Lines for the log at the start: the task and its settings.
  virtual std::vector<std::string> describe() const = 0;

  // Data-parallel runs: the group of ranks. evaluate() then counts every rank's shard
  // of the eval set (each rank gets the same result), and a loss over the global batch
  // (CLIP's) gathers from the other ranks. Unset: one process.
  void set_process_group(std::shared_ptr<dist::ProcessGroup> group) { group_ = std::move(group); }

 protected:
  std::shared_ptr<dist::ProcessGroup> group_;
};

}  // namespace tessera::train
