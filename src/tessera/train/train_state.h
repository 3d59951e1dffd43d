// The train state: everything besides the weights that a run needs to continue exactly
// where it stopped, as one safetensors file (tensors + string metadata).
//
// Tensors, keyed by name, never by position:
//   optim/<param>/exp_avg, exp_avg_sq, max_exp_avg_sq, step   AdamW
//   optim/<param>/momentum_buffer                              SGD
//   scaler/scale, scaler/growth_tracker, scaler/skipped_steps  fp16 loss scaling
//   rng/cpu, rng/cuda/<i>      generator states (dropout and drop-path draw from them)
//   ema/<name>                 the weight average (its update count is the step)
// Metadata: the counters of TrainProgress, the optimizer kind, the weights file's name
// and size (see checkpoint_store.h). The learning rate is not stored: the schedule is a
// pure function of the step.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <map>
#include <string>

#include "tessera/core/safetensors.h"
#include "tessera/train/ema.h"
#include "tessera/train/grad_scaler.h"

namespace tessera::train {

// Where a run stands between two optimizer steps.
struct TrainProgress {
  int64_t step = 0;              // optimizer steps taken (the schedule, EMA and logs count these)
  int64_t epoch = 0;             // the epoch in progress, 0-based
  int64_t batches_in_epoch = 0;  // loader batches consumed in it (micro-batches under accumulation)
  int64_t steps_in_epoch = 0;    // optimizer steps taken in it
  double epoch_loss_sum = 0.0;   // sum of those steps' losses (the epoch's train loss)
  double best_top1 = -1.0;       // best eval score so far (top-1; CLIP: retrieval_r1); -1 before the first evaluation
  int64_t nonfinite_in_a_row = 0;
  int64_t metrics_rows = 0;      // rows written to metrics.jsonl: a resume drops the rows after them
};

// What the state file captures, borrowed from the trainer. `ema` may be null.
struct TrainStateRefs {
  torch::nn::Module& model;             // names the optimizer's parameters
  torch::optim::Optimizer& optimizer;   // AdamW or SGD
  GradScaler& scaler;
  ModelEma* ema = nullptr;
};

// The state file's bytes; `extra_metadata` is added to the metadata (weights file name
// and size, ...). The tensors are copied to the CPU.
std::string serialize_train_state(const TrainProgress& progress, const TrainStateRefs& refs,
                                  const std::map<std::string, std::string>& extra_metadata);

// Restores optimizer, scaler, RNG and EMA state from a parsed state file and returns the
// progress counters. `origin` names the file in errors. A state that does not fit (other
// optimizer, parameters the model lacks, an EMA where the run has none) is a
// tessera::Error saying what differs.
TrainProgress restore_train_state(const core::NamedTensors& file, const TrainStateRefs& refs,
                                  const std::string& origin);

}  // namespace tessera::train
