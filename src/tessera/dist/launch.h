// Starting the processes of a data-parallel job on one machine, as torchrun does:
// N copies of a program, each with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
// MASTER_ADDR and MASTER_PORT set; SIGINT / SIGTERM passed on to them; when one fails,
// the others are stopped and the failure is reported by rank.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tessera::dist {

struct LaunchOptions {
  int64_t nproc = 1;        // processes on this machine
  int64_t nnodes = 1;       // machines in the job (each runs its own launch)
  int64_t node_rank = 0;    // this machine: ranks node_rank * nproc ... + nproc - 1
  std::string master_addr = "127.0.0.1";  // where rank 0 runs
  int64_t master_port = 0;  // 0: a free port on this machine (single machine only)
  // Each rank's stdout and stderr go to <log_dir>/rank<R>.log; default: the launcher's.
  std::optional<std::filesystem::path> log_dir;
  // After a rank fails, the others get this long to fail on their own (they notice a
  // dead peer at their next collective and say so), then SIGTERM, and as long again
  // before SIGKILL.
  std::chrono::milliseconds grace{std::chrono::seconds(10)};
  std::vector<std::pair<std::string, std::string>> extra_env;  // set in every process
};

struct RankExit {
  int64_t rank = 0;
  int status = 0;  // exit code, or 128 + signal when a signal ended it
  std::string description;  // "exited with status 1", "was killed by signal 9 (Killed)"
};

struct LaunchResult {
  int exit_code = 0;  // 0 when every rank succeeded; else the first failing rank's status
  std::vector<RankExit> failures;  // ranks that did not exit 0, in the order they ended
  int forwarded_signal = 0;        // SIGINT / SIGTERM the launcher received and passed on
  int64_t master_port = 0;         // the port the job used
  std::string summary() const;     // "rank 1 was killed by signal 9 (Killed); rank 0 exited with status 1"
};

// A TCP port that nothing listens on now (bound to 0 and released).
int64_t free_port();

// Runs `program` with `args` as the job's processes on this machine and waits for them.
LaunchResult launch(const std::string& program, const std::vector<std::string>& args, const LaunchOptions& options);

}  // namespace tessera::dist
