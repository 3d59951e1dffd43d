// Tests for stochastic depth (src/tessera/nn/drop_path.h).
#include "tessera/nn/drop_path.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace tessera::nn {
namespace {

TEST(DropPath, IdentityInEvalAndAtZero) {
  auto x = at::randn({8, 4, 3});
  EXPECT_TRUE(at::equal(drop_path(x, 0.5, /*training=*/false), x));
  EXPECT_TRUE(at::equal(drop_path(x, 0.0, /*training=*/true), x));
}

TEST(DropPath, DropsWholeSamplesAndRescalesSurvivors) {
  at::manual_seed(0);
  auto x = at::ones({4000, 3, 2});
  auto y = drop_path(x, 0.25, /*training=*/true);
  auto per_sample = y.reshape({4000, -1});
  // Every sample is either all zero or all 1/(1-p).
  auto dropped = per_sample.eq(0).all(1), kept = per_sample.eq(1.0 / 0.75).all(1);
  EXPECT_TRUE(dropped.logical_or(kept).all().item<bool>());
  const double kept_fraction = kept.to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(kept_fraction, 0.75, 0.03);
}

TEST(DropPath, RejectsBadProbability) {
  EXPECT_THROW(DropPath(1.0), c10::Error);
  EXPECT_THROW(DropPath(-0.1), c10::Error);
}

}  // namespace
}  // namespace tessera::nn
