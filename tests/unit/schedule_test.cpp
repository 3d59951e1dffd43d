// Tests for the learning-rate schedules (src/tessera/train/schedule.h) at their boundaries,
// against the closed forms of timm's CosineLRScheduler (per step, warmup_prefix) and
// PyTorch's CosineAnnealingLR.
#include "tessera/train/schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tessera::train {
namespace {

LrSchedule cosine(double base, double warmup_lr, double min_lr, int64_t warmup, int64_t total) {
  LrSchedule s;
  s.kind = config::ScheduleKind::Cosine;
  s.base_lr = base;
  s.warmup_lr = warmup_lr;
  s.min_lr = min_lr;
  s.warmup_steps = warmup;
  s.total_steps = total;
  return s;
}

TEST(Schedule, WarmupIsLinearFromWarmupLr) {
  auto s = cosine(1e-3, 1e-6, 1e-5, 10, 110);
  EXPECT_DOUBLE_EQ(s.at(0), 1e-6);
  EXPECT_DOUBLE_EQ(s.at(5), 1e-6 + (1e-3 - 1e-6) * 0.5);
  EXPECT_DOUBLE_EQ(s.at(10), 1e-3);  // warmup done: the cosine starts at the peak
}

TEST(Schedule, CosineMatchesClosedFormAndEndsAtMinLr) {
  auto s = cosine(1e-3, 0.0, 1e-5, 10, 110);
  for (int64_t t : {10, 35, 60, 85, 109}) {
    const double expected = 1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + std::cos(M_PI * (t - 10) / 100.0));
    EXPECT_NEAR(s.at(t), expected, 1e-15) << t;
  }
  EXPECT_NEAR(s.at(60), 1e-5 + 0.5 * (1e-3 - 1e-5), 1e-15);  // halfway
  EXPECT_DOUBLE_EQ(s.at(110), 1e-5);
  EXPECT_DOUBLE_EQ(s.at(500), 1e-5);  // stays at the floor past the end
}

TEST(Schedule, NoWarmupEqualsCosineAnnealingLR) {
  // torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T, eta_min) closed form.
  auto s = cosine(0.1, 0.0, 0.001, 0, 50);
  for (int64_t t = 0; t <= 50; t += 7) {
    EXPECT_NEAR(s.at(t), 0.001 + (0.1 - 0.001) * (1 + std::cos(M_PI * t / 50.0)) / 2, 1e-15) << t;
  }
}

TEST(Schedule, ConstantAfterWarmup) {
  auto s = cosine(3e-4, 0.0, 0.0, 4, 100);
  s.kind = config::ScheduleKind::Constant;
  EXPECT_DOUBLE_EQ(s.at(2), 1.5e-4);
  EXPECT_DOUBLE_EQ(s.at(4), 3e-4);
  EXPECT_DOUBLE_EQ(s.at(99), 3e-4);
}

TEST(Schedule, MakeScheduleConvertsEpochsToSteps) {
  config::ScheduleConfig c;
  c.warmup_epochs = 0.5;
  c.min_lr = 1e-6;
  auto s = make_schedule(c, 2e-3, 468, 468 * 6);
  EXPECT_EQ(s.warmup_steps, 234);
  EXPECT_EQ(s.total_steps, 2808);
  EXPECT_DOUBLE_EQ(s.at(234), 2e-3);
}

TEST(Schedule, StepDecayEqualsStepLR) {
  // timm's StepLRScheduler / torch.optim.lr_scheduler.StepLR: base * rate^floor(t / step_size).
  auto s = cosine(0.1, 0.0, 0.0, 0, 1000);
  s.kind = config::ScheduleKind::Step;
  s.decay_steps = 30;
  s.decay_rate = 0.5;
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.at(29), 0.1);
  EXPECT_DOUBLE_EQ(s.at(30), 0.05);
  EXPECT_DOUBLE_EQ(s.at(59), 0.05);
  EXPECT_DOUBLE_EQ(s.at(60), 0.025);
  EXPECT_DOUBLE_EQ(s.at(95), 0.1 * 0.125);
}

TEST(Schedule, WarmupFromAStartFactorAndInSteps) {
  config::ScheduleConfig c;
  c.warmup_epochs = 3.0;       // ignored: warmup_steps wins
  c.warmup_steps = 10;
  c.warmup_start_factor = 0.1;  // PyTorch's LinearLR(start_factor=0.1, total_iters=10)
  auto s = make_schedule(c, 1e-3, 100, 1000);
  EXPECT_EQ(s.warmup_steps, 10);
  EXPECT_DOUBLE_EQ(s.at(0), 1e-4);
  EXPECT_DOUBLE_EQ(s.at(5), 1e-3 * (0.1 + 0.9 * 5 / 10.0));
  EXPECT_DOUBLE_EQ(s.at(10), 1e-3);
}

TEST(Schedule, StepDecayLengthInEpochs) {
  config::ScheduleConfig c;
  c.name = config::ScheduleKind::Step;
  c.decay_epochs = 2.0;
  c.decay_rate = 0.1;
  auto s = make_schedule(c, 1.0, 50, 500);
  EXPECT_EQ(s.decay_steps, 100);
  EXPECT_DOUBLE_EQ(s.at(99), 1.0);
  EXPECT_NEAR(s.at(100), 0.1, 1e-15);
  EXPECT_NEAR(s.at(250), 0.01, 1e-15);
}

}  // namespace
}  // namespace tessera::train
