// Tests for the weight EMA (src/tessera/train/ema.h): timm's decay warmup and the update.
#include "tessera/train/ema.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

namespace tessera::train {
namespace {

TEST(Ema, DecayScheduleIsTimmModelEmaV3) {
  ModelEma plain(*torch::nn::Linear(2, 2), EmaOptions().decay(0.999), c10::Device(c10::kCPU));
  EXPECT_EQ(plain.decay_at(1), 0.0);  // the first update copies the weights
  EXPECT_EQ(plain.decay_at(2), 0.999);
  ModelEma warm(*torch::nn::Linear(2, 2), EmaOptions().decay(0.999).warmup(true).warmup_power(0.75),
                c10::Device(c10::kCPU));
  for (int64_t step : {2, 10, 1000, 100000}) {
    const double t = static_cast<double>(step - 1);
    EXPECT_DOUBLE_EQ(warm.decay_at(step), std::min(0.999, 1.0 - std::pow(1.0 + t, -0.75))) << step;
  }
}

TEST(Ema, UpdateIsTheMovingAverage) {
  torch::nn::Linear model(3, 2);
  ModelEma ema(*model, EmaOptions().decay(0.9), c10::Device(c10::kCPU));
  const auto start = model->weight.detach().clone();
  {
    at::NoGradGuard no_grad;
    model->weight.add_(1.0);
  }
  ema.update(*model, 1);  // decay 0: a copy
  EXPECT_TRUE(at::allclose(ema.state()[0].second, start + 1.0));
  {
    at::NoGradGuard no_grad;
    model->weight.add_(1.0);
  }
  ema.update(*model, 2);  // 0.9 * (start + 1) + 0.1 * (start + 2)
  EXPECT_TRUE(at::allclose(ema.state()[0].second, start + 1.1, 1e-6, 1e-6));

  torch::nn::Linear other(3, 2);
  ema.copy_to(*other);
  EXPECT_TRUE(at::allclose(other->weight, start + 1.1, 1e-6, 1e-6));
  EXPECT_TRUE(at::equal(other->bias, ema.state()[1].second));
}

}  // namespace
}  // namespace tessera::train
