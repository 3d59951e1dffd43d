// The training loop shared by every task (task.h: classification, distillation,
// contrastive): schedule → task loss (over train.accum_steps micro-batches) → backward →
// clip → step → EMA → log, with evaluation at epoch boundaries and resumable checkpoints
// every N steps / epochs, at the end, and when a SIGINT/SIGTERM asks the run to stop.
//
// Data-parallel (with a process group): rank 0's weights are sent to every rank at the
// start, the gradients are averaged over the ranks in buckets during backward
// (dist/grad_reducer.h), the ranks agree after every step on its loss, on skipping it
// and on stopping (dist/step_agreement.h), evaluation counts every rank's shard, and
// only rank 0 writes the run folder (the others wait for it at a barrier).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/pipeline.h"
#include "tessera/dist/grad_reducer.h"
#include "tessera/dist/process_group.h"
#include "tessera/train/checkpoint_store.h"
#include "tessera/train/ema.h"
#include "tessera/train/evaluate.h"
#include "tessera/train/grad_scaler.h"
#include "tessera/train/param_groups.h"
#include "tessera/train/schedule.h"
#include "tessera/train/task.h"
#include "tessera/train/train_state.h"

namespace tessera::train {

struct TrainSummary {
  EvalResult final_eval;      // of the last epoch
  std::optional<EvalResult> final_ema_eval;  // of the EMA weights, when train.ema is on
  double best_score = 0.0;    // best evaluated score (EvalResult::score: top-1 for classifiers) over the run, resumed runs included
  std::vector<Metric> task_stats;  // the last epoch's (the distillation teacher's time)
  int64_t epochs = 0;         // epochs completed
  int64_t steps = 0;          // optimizer steps taken (resumed runs: counted from the start)
  double train_seconds = 0.0; // training + evaluation time in this process, without setup
  double images_per_second = 0.0;  // training images over train_seconds (evaluation included)
  std::optional<double> peak_memory_mib;  // peak GPU memory allocated (CUDA runs only)
  int stopped_by_signal = 0;  // SIGINT / SIGTERM when the run stopped early (0: it finished)
  std::filesystem::path checkpoint;  // last weights written (empty when none)
  std::filesystem::path resumable;   // newest train state written (empty when none)
  std::filesystem::path best;        // checkpoints/best.safetensors when checkpoint.best
};

class Trainer {
 public:
  // `run_dir` exists (see create_run_dir); metrics.jsonl and checkpoints/ go there.
  // `group`: this process's data-parallel job (the loaders read this rank's shard), or
  // null for one process. Ranks other than 0 write nothing to `run_dir`.
  Trainer(const config::RecipeConfig& config, std::unique_ptr<Task> task, data::Pipeline& loaders,
          c10::Device device, std::filesystem::path run_dir, std::shared_ptr<dist::ProcessGroup> group = nullptr);

  // Continues the run from `checkpoint` (weights, optimizer, scaler, EMA, RNG, counters).
  // Call before fit(); the random generators are restored last, so nothing may draw
  // random numbers in between.
  void resume_from(const LoadedCheckpoint& checkpoint);

  // Trains until train.epochs are done or a stop signal arrives (see stop_signal.h).
  TrainSummary fit();

  // Test hook (crash safety): the process kills itself while writing the train state of
  // the checkpoint at optimizer step `step`.
  void crash_during_save_at(int64_t step) { crash_during_save_step_ = step; }

  const TrainProgress& progress() const { return progress_; }

 private:
  void log_param_groups() const;
  // One optimizer step over accum_steps micro-batches. Returns the step's mean loss,
  // or nullopt when a loss was not finite (the step is skipped, the data consumed).
  std::optional<double> train_step(double lr, int64_t& images);
  // Rank 0, or the only process: the one that writes the run folder and the console.
  bool writes() const { return !group_ || group_->rank() == 0; }
  // The stop signal received: by this process, or in a data-parallel run by any rank
  // (every rank calls it at the same point, as it is a collective).
  int agreed_stop_signal();
  CheckpointFiles save_checkpoint();
  void save_final_weights(TrainSummary& summary);
  std::map<std::string, std::string> weights_metadata() const;
  TrainStateRefs state_refs();
  EvalResult evaluate_ema();

  config::RecipeConfig config_;
  std::unique_ptr<Task> task_;
  torch::nn::Module& model_;  // task_->model()
  data::Pipeline& loaders_;
  c10::Device device_;
  std::filesystem::path run_dir_;
  std::vector<ParamGroup> groups_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  GradScaler scaler_;  // loss scaling for fp16; a pass-through otherwise
  std::optional<ModelEma> ema_;
  std::shared_ptr<torch::nn::Module> ema_model_;  // evaluates the EMA weights; built when EMA is on
  std::vector<at::Tensor> trained_params_;  // those that require gradients (gradient clipping)
  // The task's per-step metrics of the step in hand, averaged over its micro-batches.
  std::vector<std::pair<std::string, double>> step_metrics_;
  double base_lr_ = 0.0;  // optim.learning_rate, scaled to the batch when lr_base_size is set
  int64_t steps_per_epoch_ = 0;  // optimizer steps: loader batches / accum_steps
  LrSchedule schedule_;
  TrainProgress progress_;
  bool resumed_ = false;
  std::optional<int64_t> crash_during_save_step_;
  std::shared_ptr<dist::ProcessGroup> group_;  // null: one process
  std::unique_ptr<dist::GradReducer> reducer_;  // with group_
  int step_stop_signal_ = 0;  // with group_: the stop signal the ranks agreed on after the last step
  // Time this epoch spent waiting for the loader's next batch: near 0 when the loader
  // keeps up with the model.
  double data_wait_seconds_ = 0.0;
};

}  // namespace tessera::train
