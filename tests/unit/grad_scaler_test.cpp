// Tests for the fp16 gradient scaler (src/tessera/train/grad_scaler.h): skipped steps on
// inf/nan, back-off and growth with torch.amp.GradScaler's arithmetic, unscaling.
#include "tessera/train/grad_scaler.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>

#include <cmath>

namespace tessera::train {
namespace {

struct Fixture {
  torch::nn::Linear model{torch::nn::LinearOptions(4, 3)};
  torch::optim::AdamW optimizer{model->parameters(), torch::optim::AdamWOptions(0.1)};

  // One training step on fixed data; `poison` puts an inf into one gradient.
  bool step(GradScaler& scaler, bool poison) {
    optimizer.zero_grad();
    auto loss = model->forward(at::ones({2, 4})).pow(2).mean();
    scaler.scale(loss).backward();
    if (poison) model->weight.grad()[0][0] = INFINITY;
    const bool stepped = scaler.step(optimizer);
    scaler.update();
    return stepped;
  }
};

TEST(GradScaler, InfGradientSkipsTheStepAndBacksOff) {
  Fixture f;
  GradScaler scaler(GradScalerOptions().init_scale(1024).growth_interval(3), c10::Device(c10::kCPU));
  const auto weight_before = f.model->weight.clone();
  const auto bias_before = f.model->bias.clone();

  EXPECT_FALSE(f.step(scaler, /*poison=*/true));
  EXPECT_TRUE(at::equal(f.model->weight, weight_before));
  EXPECT_TRUE(at::equal(f.model->bias, bias_before));
  EXPECT_TRUE(f.optimizer.state().empty()) << "a skipped step must not create optimizer state";
  EXPECT_DOUBLE_EQ(scaler.current_scale(), 512.0);
  EXPECT_EQ(scaler.skipped_steps(), 1);

  EXPECT_TRUE(f.step(scaler, false));
  EXPECT_FALSE(at::equal(f.model->weight, weight_before));
  EXPECT_FALSE(f.optimizer.state().empty());
}

TEST(GradScaler, ScaleFollowsGrowthAndBackoffArithmetic) {
  // As PyTorch's own scaler tests: after a history of k growths and m back-offs the
  // scale is init * growth^k * backoff^m; growth needs growth_interval good steps in a row.
  Fixture f;
  const double init = 128.0, growth = 2.0, backoff = 0.25;
  GradScaler scaler(GradScalerOptions().init_scale(init).growth_factor(growth).backoff_factor(backoff).growth_interval(2),
                    c10::Device(c10::kCPU));
  const std::vector<bool> poison = {false, false, true, false, true, false, false, false, false, false};
  int growths = 0, backoffs = 0, good_in_a_row = 0;
  for (bool p : poison) {
    f.step(scaler, p);
    if (p) {
      ++backoffs;
      good_in_a_row = 0;
    } else if (++good_in_a_row == 2) {
      ++growths;
      good_in_a_row = 0;
    }
    EXPECT_DOUBLE_EQ(scaler.current_scale(), init * std::pow(growth, growths) * std::pow(backoff, backoffs));
    EXPECT_EQ(scaler.growth_tracker(), good_in_a_row);
  }
  EXPECT_EQ(growths, 3);
  EXPECT_EQ(backoffs, 2);
  EXPECT_EQ(scaler.skipped_steps(), 2);
}

TEST(GradScaler, UnscaleRestoresTheTrueGradients) {
  Fixture f;
  auto loss = [&] { return f.model->forward(at::ones({2, 4})).pow(2).mean(); };
  loss().backward();
  const auto expected = f.model->weight.grad().clone();
  f.optimizer.zero_grad();

  GradScaler scaler(GradScalerOptions().init_scale(4096), c10::Device(c10::kCPU));
  scaler.scale(loss()).backward();
  EXPECT_TRUE(at::allclose(f.model->weight.grad(), expected * 4096));
  scaler.unscale(f.optimizer);
  EXPECT_TRUE(at::allclose(f.model->weight.grad(), expected, 1e-6, 1e-7));
  EXPECT_THROW(scaler.unscale(f.optimizer), c10::Error) << "unscaling twice in one step is a bug";
}

TEST(GradScaler, NanCountsLikeInf) {
  Fixture f;
  GradScaler scaler(GradScalerOptions().init_scale(8), c10::Device(c10::kCPU));
  f.optimizer.zero_grad();
  scaler.scale(f.model->forward(at::ones({1, 4})).sum()).backward();
  f.model->bias.grad()[1] = NAN;
  EXPECT_FALSE(scaler.step(f.optimizer));
  scaler.update();
  EXPECT_DOUBLE_EQ(scaler.current_scale(), 4.0);
}

TEST(GradScaler, DisabledPassesThrough) {
  Fixture f;
  GradScaler scaler(GradScalerOptions().enabled(false), c10::Device(c10::kCPU));
  auto loss = f.model->forward(at::ones({1, 4})).sum();
  EXPECT_TRUE(at::equal(scaler.scale(loss), loss));
  EXPECT_TRUE(f.step(scaler, false));
  EXPECT_DOUBLE_EQ(scaler.current_scale(), 1.0);
}

TEST(GradScaler, StateRoundTrips) {
  Fixture f;
  GradScaler a(GradScalerOptions().init_scale(64).growth_interval(5), c10::Device(c10::kCPU));
  f.step(a, true);
  f.step(a, false);
  GradScaler b(GradScalerOptions().init_scale(64).growth_interval(5), c10::Device(c10::kCPU));
  b.load_state(a.state());
  EXPECT_DOUBLE_EQ(b.current_scale(), 32.0);
  EXPECT_EQ(b.growth_tracker(), 1);
  EXPECT_EQ(b.skipped_steps(), 1);
}

}  // namespace
}  // namespace tessera::train
