// Learning-rate schedules as pure functions of the optimizer step (cosine with linear
// warmup as in timm's CosineLRScheduler / SGDR, Loshchilov & Hutter 2017; constant).
#pragma once

#include <cstdint>

#include "tessera/config/recipe.h"

namespace tessera::train {

struct LrSchedule {
  config::ScheduleKind kind = config::ScheduleKind::Cosine;
  double base_lr = 1e-3;
  double warmup_lr = 0.0;     // lr at step 0
  double min_lr = 0.0;        // lr at total_steps (cosine)
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;

  // The learning rate for optimizer step `step` (0-based). Warmup rises linearly from
  // warmup_lr to base_lr over warmup_steps; cosine then falls to min_lr at total_steps
  // and stays there.
  double at(int64_t step) const;
};

// The schedule for a run of `total_steps` optimizer steps with `steps_per_epoch` each.
LrSchedule make_schedule(const config::ScheduleConfig& config, double base_lr, int64_t steps_per_epoch,
                         int64_t total_steps);

}  // namespace tessera::train
