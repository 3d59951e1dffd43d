// Tests for the process group (src/tessera/dist/process_group.h) and the broadcast of
// rank 0's replica (broadcast.h) on 2 processes over Gloo on loopback: all-reduce,
// broadcast, all-gather of unequal row counts, sums, the step agreement
// (step_agreement.h), the module broadcast and its replica check; the backend choice;
// and a rendezvous that nobody joins failing within its timeout.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "fixtures/dist_workers.h"
#include "fixtures/error_of.h"
#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"
#include "tessera/dist/broadcast.h"
#include "tessera/dist/gather.h"
#include "tessera/dist/step_agreement.h"
#include "test_env.h"

namespace tessera::dist {
namespace {

using tessera::testing::error_of;

at::Tensor seeded_randn(at::IntArrayRef shape, uint64_t seed) {
  at::manual_seed(seed);
  return at::randn(shape);
}

torch::nn::Linear seeded_linear(int64_t in, int64_t out, uint64_t seed) {
  at::manual_seed(seed);
  return torch::nn::Linear(in, out);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(DistCollectivesWorker, DISABLED_Run) {
  auto worker = tessera::testing::join_job();
  ProcessGroup& group = *worker.group;
  const int64_t r = group.rank();
  std::vector<std::pair<std::string, at::Tensor>> out;

  at::Tensor summed = seeded_randn({1000}, 100 + r);
  group.all_reduce_sum(summed, "all-reduce test").wait();
  out.emplace_back("all_reduce", summed);

  at::Tensor broadcast = seeded_randn({100}, 200 + r);
  group.broadcast(broadcast, 1, "broadcast test").wait();
  out.emplace_back("broadcast", broadcast);

  out.emplace_back("gather", all_gather_rows(group, seeded_randn({3 + r, 4}, 300 + r), "gather test"));
  out.emplace_back("offset", at::tensor({gathered_offset(group, 3 + r, "offset test")}));

  const auto sums = group.sum({static_cast<double>(r + 1), 2.5}, "sum test");
  out.emplace_back("sum", at::tensor(sums, at::kDouble));

  StepReport step;
  step.loss = r == 0 ? 1.0 : 2.0;
  step.metrics = {0.5 * static_cast<double>(r)};
  step.images = 8;
  step.finite = r == 0;
  step.stop_signal = r == 1 ? SIGINT : 0;
  const StepReport agreed = agree_on_step(group, step);
  out.emplace_back("agreed", at::tensor({agreed.loss, agreed.metrics.at(0), static_cast<double>(agreed.images),
                                         agreed.finite ? 1.0 : 0.0, static_cast<double>(agreed.stop_signal)},
                                        at::kDouble));
  step.finite = true;
  out.emplace_back("agreed_loss", at::tensor({agree_on_step(group, step).loss}, at::kDouble));

  auto linear = seeded_linear(4, 3, 400 + r);  // the replicas differ until the broadcast
  broadcast_module(group, *linear, 16);        // 16 bytes: several buckets
  out.emplace_back("linear.weight", linear->weight);
  out.emplace_back("linear.bias", linear->bias);

  // Rank 1 builds another model: both ranks fail, neither waits for the other.
  auto other = seeded_linear(4, r == 1 ? 5 : 3, 500);
  std::ofstream(worker.file("mismatch")) << error_of([&] { broadcast_module(group, *other); });
  group.barrier("end of test");
  core::save_safetensors(worker.file("results"), out);
}

TEST(DistCollectives, EqualTheSingleProcessResults) {
  const auto dir = tessera::testing::scratch_dir();
  const auto run = tessera::testing::run_workers("DistCollectivesWorker.DISABLED_Run", 2, dir);
  ASSERT_EQ(run.result.exit_code, 0) << run.result.summary() << "\n" << run.logs();
  for (int64_t r = 0; r < 2; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r));
    const auto got = tessera::testing::load_results(dir / ("results-rank" + std::to_string(r)));
    const at::Tensor expected_sum = seeded_randn({1000}, 100) + seeded_randn({1000}, 101);
    const double diff = (got.at("all_reduce") - expected_sum).abs().max().item<double>();
    std::printf("rank %ld: all-reduce max |diff| vs single process %.3g\n", static_cast<long>(r), diff);
    EXPECT_LE(diff, 1e-6);
    EXPECT_TRUE(at::equal(got.at("broadcast"), seeded_randn({100}, 201)));
    EXPECT_TRUE(at::equal(got.at("gather"), at::cat({seeded_randn({3, 4}, 300), seeded_randn({4, 4}, 301)})));
    EXPECT_EQ(got.at("offset").item<int64_t>(), r == 0 ? 0 : 3);
    EXPECT_TRUE(at::equal(got.at("sum"), at::tensor({3.0, 5.0}, at::kDouble)));
    // Rank 0's loss was not finite and rank 1 got SIGINT: every rank skips and stops.
    const at::Tensor agreed = got.at("agreed");
    EXPECT_TRUE(std::isnan(agreed[0].item<double>()));
    EXPECT_EQ(agreed[1].item<double>(), 0.25);
    EXPECT_EQ(agreed[2].item<double>(), 16.0);
    EXPECT_EQ(agreed[3].item<double>(), 0.0);
    EXPECT_EQ(agreed[4].item<double>(), SIGINT);
    EXPECT_EQ(got.at("agreed_loss").item<double>(), 1.5);
    const auto rank0 = seeded_linear(4, 3, 400);
    EXPECT_TRUE(at::equal(got.at("linear.weight"), rank0->weight));
    EXPECT_TRUE(at::equal(got.at("linear.bias"), rank0->bias));
  }
  EXPECT_NE(read_text(dir / "mismatch-rank1").find("rank 1: the model differs from rank 0's: tensor 0 here is "
                                                   "'weight' (Float, 5x4)"),
            std::string::npos)
      << read_text(dir / "mismatch-rank1");
  EXPECT_NE(read_text(dir / "mismatch-rank0").find("rank 0: 1 rank(s) built a model that differs from rank 0's"),
            std::string::npos)
      << read_text(dir / "mismatch-rank0");
}

TEST(DistCollectives, BackendFollowsTheDevice) {
  EXPECT_EQ(resolve_backend(std::nullopt, c10::kCPU), Backend::Gloo);
  EXPECT_EQ(resolve_backend(Backend::Gloo, c10::Device(c10::kCUDA, 0)), Backend::Gloo);
  if (nccl_built()) EXPECT_EQ(resolve_backend(std::nullopt, c10::Device(c10::kCUDA, 0)), Backend::Nccl);
  EXPECT_NE(error_of([] { resolve_backend(Backend::Nccl, c10::kCPU); }).find("dist.backend: nccl runs on CUDA devices"),
            std::string::npos);
}

TEST(DistCollectives, RendezvousNobodyJoinsFailsWithinTheTimeout) {
  DistEnv env;
  env.rank = 0;
  env.world_size = 2;
  env.local_world_size = 2;
  env.master_addr = "127.0.0.1";
  env.master_port = free_port();
  ProcessGroupOptions options;
  options.rendezvous_timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { ProcessGroup::connect(env, options); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(message.find("rank 0: could not open the rendezvous store at MASTER_ADDR:MASTER_PORT = 127.0.0.1:"),
            std::string::npos)
      << message;
  EXPECT_LT(seconds, 10.0);
}

}  // namespace
}  // namespace tessera::dist
