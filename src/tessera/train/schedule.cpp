// Learning-rate schedules (see schedule.h).
#include "tessera/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace tessera::train {

double LrSchedule::at(int64_t step) const {
  if (step < warmup_steps) {
    return warmup_lr + (base_lr - warmup_lr) * static_cast<double>(step) / static_cast<double>(warmup_steps);
  }
  if (kind == config::ScheduleKind::Constant) return base_lr;
  if (kind == config::ScheduleKind::Step) return base_lr * std::pow(decay_rate, static_cast<double>(step / decay_steps));
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps));
  return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(M_PI * progress));
}

LrSchedule make_schedule(const config::ScheduleConfig& config, double base_lr, int64_t steps_per_epoch,
                         int64_t total_steps) {
  LrSchedule s;
  s.kind = config.name;
  s.base_lr = base_lr;
  s.warmup_lr = config.warmup_start_factor ? base_lr * *config.warmup_start_factor : config.warmup_lr;
  s.min_lr = config.min_lr;
  s.total_steps = std::max<int64_t>(1, total_steps);
  const int64_t warmup = config.warmup_steps ? *config.warmup_steps
                                             : std::llround(config.warmup_epochs * steps_per_epoch);
  s.warmup_steps = std::min<int64_t>(s.total_steps, warmup);
  s.decay_steps = std::max<int64_t>(
      1, config.decay_steps ? *config.decay_steps : std::llround(config.decay_epochs * steps_per_epoch));
  s.decay_rate = config.decay_rate;
  return s;
}

}  // namespace tessera::train
