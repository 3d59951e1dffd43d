// The NCCL path (src/tessera/dist/backend_nccl.cpp) on a GPU: a one-rank NCCL group
// runs the collectives, the all-gather with gradient and the gradient reducer (two
// ranks would need two GPUs). Skipped without CUDA or a build without NCCL.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include "tessera/dist/broadcast.h"
#include "tessera/dist/gather.h"
#include "tessera/dist/grad_reducer.h"
#include "tessera/dist/launch.h"
#include "tessera/dist/process_group.h"

namespace tessera::dist {
namespace {

TEST(DistNccl, OneRankGroup_CUDA) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  if (!nccl_built()) GTEST_SKIP() << "this build has no NCCL";
  DistEnv env;
  env.master_addr = "127.0.0.1";
  env.master_port = free_port();
  ProcessGroupOptions options;
  options.backend = Backend::Nccl;
  options.timeout = std::chrono::seconds(60);
  const auto group = ProcessGroup::connect(env, options);
  ASSERT_EQ(group->device(), c10::Device(c10::kCUDA, 0));

  const at::Tensor x = at::randn({1000}, at::kCUDA);
  at::Tensor y = x.clone();
  group->all_reduce_sum(y, "nccl all-reduce").wait();
  EXPECT_TRUE(at::allclose(y, x));
  group->broadcast(y, 0, "nccl broadcast").wait();
  EXPECT_EQ(group->sum({1.5, 2.0}, "nccl sum"), (std::vector<double>{1.5, 2.0}));
  group->barrier("nccl barrier");

  const at::Tensor rows = at::randn({3, 4}, at::TensorOptions(at::kCUDA).requires_grad(true));
  const at::Tensor gathered = all_gather_rows_with_grad(group, rows, "nccl gather");
  gathered.square().sum().backward();
  EXPECT_TRUE(at::allclose(rows.grad(), 2 * rows.detach()));

  torch::nn::Linear layer(8, 4);
  layer->to(at::kCUDA);
  broadcast_module(*group, *layer);
  GradReducer reducer({{"weight", layer->weight}, {"bias", layer->bias}}, group);
  reducer.prepare(true);
  layer->forward(at::randn({5, 8}, at::kCUDA)).sum().backward();
  const at::Tensor local = layer->weight.grad().clone();
  reducer.finish();
  EXPECT_TRUE(at::allclose(layer->weight.grad(), local));
}

}  // namespace
}  // namespace tessera::dist
