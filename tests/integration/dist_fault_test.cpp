// A rank that dies or hangs mid-training: the other rank fails at its next collective
// with an error that names itself, the collective and the likely cause, within the
// group's timeout, and the launcher stops what is left of the job and names the ranks.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "fixtures/dist_workers.h"
#include "tessera/core/error.h"
#include "tessera/dist/broadcast.h"
#include "tessera/dist/grad_reducer.h"
#include "test_env.h"

namespace tessera::dist {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kTimeoutSeconds = 4;
constexpr int64_t kFailingStep = 3;
constexpr const char* kFaultVariable = "TESSERA_DIST_TEST_FAULT";  // kill | hang

// Trains a small layer with averaged gradients; rank 1 dies (SIGKILL) or hangs (SIGSTOP)
// at step kFailingStep. Rank 0 writes what it caught and how long after the step began,
// releases the reducer and the group as an unwinding trainer would (this must not
// hang on the dead peer), then exits 3 as a failed training run does.
TEST(DistFaultWorker, DISABLED_Run) {
  auto worker = tessera::testing::join_job(std::chrono::seconds(kTimeoutSeconds));
  const std::string fault = std::getenv(kFaultVariable);
  at::manual_seed(0);
  torch::nn::Linear layer(64, 64);
  broadcast_module(*worker.group, *layer);
  auto reducer = std::make_unique<GradReducer>(std::vector<std::pair<std::string, at::Tensor>>{
                                                  {"weight", layer->weight}, {"bias", layer->bias}},
                                              worker.group, GradReducerOptions().bucket_bytes(128));
  for (int64_t step = 0; step < 100; ++step) {
    if (worker.rank() == 1 && step == kFailingStep) std::raise(fault == "kill" ? SIGKILL : SIGSTOP);
    const auto started = Clock::now();
    try {
      layer->zero_grad();
      reducer->prepare(true);
      layer->forward(at::randn({8, 64})).square().mean().backward();
      reducer->finish();
    } catch (const Error& e) {
      const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
      const auto file = worker.file("error");
      const auto release_started = Clock::now();
      reducer.reset();
      worker.group.reset();
      const double release = std::chrono::duration<double>(Clock::now() - release_started).count();
      std::ofstream(file) << seconds << "\n" << release << "\n" << step << "\n" << e.what();
      std::exit(3);
    }
  }
  ADD_FAILURE() << "rank " << worker.rank() << " saw no failure";
}

struct Caught {
  double seconds = 0.0;
  double release_seconds = 0.0;  // destroying the reducer and the group afterwards
  int64_t step = -1;
  std::string message;
};

Caught read_caught(const std::filesystem::path& path) {
  std::ifstream in(path);
  Caught c;
  in >> c.seconds >> c.release_seconds >> c.step;
  in.ignore();
  std::stringstream rest;
  rest << in.rdbuf();
  c.message = rest.str();
  return c;
}

void expect_clear_failure(const std::string& fault, double max_seconds) {
  const auto dir = tessera::testing::scratch_dir();
  const auto run = tessera::testing::run_workers("DistFaultWorker.DISABLED_Run", 2, dir, {{kFaultVariable, fault}},
                                                 std::chrono::seconds(1));
  ASSERT_TRUE(std::filesystem::exists(dir / "error-rank0")) << run.result.summary() << "\n" << run.logs();
  const Caught caught = read_caught(dir / "error-rank0");
  std::printf("%s: rank 0 failed %.2f s into step %ld (timeout %ld s), released the group in %.2f s: %s\n"
              "  launcher: %s (job %.1f s)\n",
              fault.c_str(), caught.seconds, static_cast<long>(caught.step), static_cast<long>(kTimeoutSeconds),
              caught.release_seconds, caught.message.c_str(), run.result.summary().c_str(), run.seconds);
  EXPECT_EQ(caught.step, kFailingStep);
  EXPECT_LT(caught.seconds, max_seconds);
  EXPECT_LT(caught.release_seconds, kTimeoutSeconds);
  EXPECT_EQ(caught.message.rfind("rank 0: all-reduce of gradient bucket ", 0), 0u) << caught.message;
  EXPECT_NE(caught.message.find("Another rank has probably died or stopped responding"), std::string::npos);
  EXPECT_NE(run.result.exit_code, 0);
  EXPECT_LT(run.seconds, 60.0);
}

TEST(DistFault, KilledRankFailsTheOtherAtOnce) {
  expect_clear_failure("kill", kTimeoutSeconds);
}

TEST(DistFault, HungRankFailsTheOtherWithinTheTimeout) {
  expect_clear_failure("hang", kTimeoutSeconds + 3.0);
}

}  // namespace
}  // namespace tessera::dist
