// Learning-rate schedules as pure functions of the optimizer step: cosine with linear
// warmup (timm's CosineLRScheduler; SGDR, Loshchilov & Hutter 2017), step decay
// (timm's StepLRScheduler), constant.
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
  int64_t decay_steps = 1;    // step decay: every this many steps (counted from step 0)...
  double decay_rate = 0.1;    // ...the lr is multiplied by this

  // The learning rate for optimizer step `step` (0-based). Warmup rises linearly from
  // warmup_lr to base_lr over warmup_steps. Then cosine falls to min_lr at total_steps
  // and stays there; step decay gives base_lr × decay_rate^(step / decay_steps);
  // constant keeps base_lr.
  double at(int64_t step) const;
};

// The schedule for a run of `total_steps` optimizer steps with `steps_per_epoch` each.
LrSchedule make_schedule(const config::ScheduleConfig& config, double base_lr, int64_t steps_per_epoch,
                         int64_t total_steps);

}  // namespace tessera::train
