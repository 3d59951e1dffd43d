// The training loop shared by every task: schedule → forward → loss → backward → clip →
// step → log, with evaluation and checkpoints at epoch boundaries.
#pragma once

#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/pipeline.h"
#include "tessera/models/image_classifier.h"
#include "tessera/train/ema.h"
#include "tessera/train/evaluate.h"
#include "tessera/train/param_groups.h"
#include "tessera/train/schedule.h"

namespace tessera::train {

struct TrainSummary {
  EvalResult final_eval;      // of the last epoch
  std::optional<EvalResult> final_ema_eval;  // of the EMA weights, when train.ema is on
  double best_top1 = 0.0;     // best evaluated top-1 over the run
  int64_t steps = 0;          // optimizer steps taken
  double train_seconds = 0.0; // training + evaluation time, without setup
  std::filesystem::path checkpoint;  // last weights written (empty when none)
};

class Trainer {
 public:
  // `run_dir` exists (see create_run_dir); metrics.jsonl and checkpoints/ go there.
  Trainer(const config::RecipeConfig& config, models::ImageClassifier model, data::Pipeline& loaders,
          c10::Device device, std::filesystem::path run_dir);

  TrainSummary fit();

 private:
  void log_param_groups() const;
  std::filesystem::path save_checkpoint(const std::string& tag, int64_t epoch, int64_t step);
  EvalResult evaluate_ema();

  config::RecipeConfig config_;
  models::ImageClassifier model_;
  data::Pipeline& loaders_;
  c10::Device device_;
  std::filesystem::path run_dir_;
  std::vector<ParamGroup> groups_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::optional<ModelEma> ema_;
  models::ImageClassifier ema_model_;  // evaluates the EMA weights; built when EMA is on
  double base_lr_ = 0.0;  // optim.learning_rate, scaled to the batch when lr_base_size is set
  LrSchedule schedule_;
};

}  // namespace tessera::train
