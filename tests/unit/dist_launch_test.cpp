// Tests for the launcher (src/tessera/dist/launch.h), with this test binary as the
// program: the job's variables, a failing rank reported by rank and status while the
// others are stopped, SIGINT passed on to the ranks.
#include "tessera/dist/launch.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "fixtures/dist_workers.h"
#include "fixtures/error_of.h"
#include "test_env.h"

namespace tessera::dist {
namespace {

constexpr const char* kModeVariable = "TESSERA_DIST_TEST_LAUNCH";  // env | fail | sleep

// env: writes the job's variables. fail: rank 1 exits 5, rank 0 waits to be stopped.
// sleep: both wait to be stopped (after saying they started).
TEST(DistLaunchWorker, DISABLED_Run) {
  const std::string mode = std::getenv(kModeVariable);
  const std::filesystem::path dir = std::getenv(tessera::testing::kWorkerDirVariable);
  const std::string rank = std::getenv("RANK");
  if (mode == "env") {
    std::ofstream out(dir / ("env-rank" + rank));
    for (const char* name : {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) {
      out << name << "=" << std::getenv(name) << "\n";
    }
    return;
  }
  if (mode == "fail" && rank == "1") std::exit(5);
  std::ofstream(dir / ("started-rank" + rank)) << "yes";
  std::this_thread::sleep_for(std::chrono::seconds(60));
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DistLaunch, SetsTheJobVariables) {
  const auto dir = tessera::testing::scratch_dir();
  const auto run = tessera::testing::run_workers("DistLaunchWorker.DISABLED_Run", 3, dir, {{kModeVariable, "env"}});
  ASSERT_EQ(run.result.exit_code, 0) << run.result.summary() << "\n" << run.logs();
  const std::string port = std::to_string(run.result.master_port);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(read_text(dir / ("env-rank" + std::to_string(r))),
              "RANK=" + std::to_string(r) + "\nLOCAL_RANK=" + std::to_string(r) +
                  "\nWORLD_SIZE=3\nLOCAL_WORLD_SIZE=3\nMASTER_ADDR=127.0.0.1\nMASTER_PORT=" + port + "\n");
  }
}

TEST(DistLaunch, AFailedRankStopsTheOthersAndIsNamed) {
  const auto dir = tessera::testing::scratch_dir();
  const auto run = tessera::testing::run_workers("DistLaunchWorker.DISABLED_Run", 2, dir, {{kModeVariable, "fail"}},
                                                 std::chrono::milliseconds(500));
  EXPECT_EQ(run.result.exit_code, 5);
  EXPECT_EQ(run.result.summary(), "rank 1 exited with status 5");  // rank 0, stopped by the launcher, is no failure
  EXPECT_LT(run.seconds, 30.0);  // not the 60 s rank 0 would sleep
}

TEST(DistLaunch, PassesSigintOnToTheRanks) {
  const auto dir = tessera::testing::scratch_dir();
  std::thread interrupter([&] {
    // Once both ranks run, interrupt the launcher (this process) as a Ctrl-C would.
    for (int i = 0; i < 3000; ++i) {
      if (std::filesystem::exists(dir / "started-rank0") && std::filesystem::exists(dir / "started-rank1")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(::getpid(), SIGINT);
  });
  const auto run = tessera::testing::run_workers("DistLaunchWorker.DISABLED_Run", 2, dir, {{kModeVariable, "sleep"}});
  interrupter.join();
  EXPECT_EQ(run.result.forwarded_signal, SIGINT);
  EXPECT_EQ(run.result.exit_code, 130);
  EXPECT_TRUE(run.result.failures.empty()) << run.result.summary();
  EXPECT_LT(run.seconds, 30.0);
}

TEST(DistLaunch, BadOptionsAreErrors) {
  using tessera::testing::error_of;
  LaunchOptions o;
  o.nproc = 0;
  EXPECT_NE(error_of([&] { launch("/bin/true", {}, o); }).find("--nproc: must be at least 1"), std::string::npos);
  o.nproc = 1;
  o.nnodes = 2;
  EXPECT_NE(error_of([&] { launch("/bin/true", {}, o); }).find("--master-port: must be given"), std::string::npos);
}

}  // namespace
}  // namespace tessera::dist
