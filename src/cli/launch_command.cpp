// tessera launch [--nproc N] [--nnodes M --node-rank K] [--master-addr HOST]
// [--master-port P] [--log-dir DIR] [--grace S] -- COMMAND ARGS...: runs N processes of
// `tessera COMMAND ARGS...` as ranks of one data-parallel job (torchrun's variables:
// RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/dist/launch.h"

namespace tessera::cli {

namespace {

// This executable, so the ranks run the same build as the launcher.
std::string self_executable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) throw Error("launch", "cannot find the tessera executable (/proc/self/exe)");
  return std::string(path, static_cast<size_t>(n));
}

}  // namespace

void add_launch_command(CLI::App& app) {
  struct Args {
    dist::LaunchOptions options;
    std::string log_dir;
    double grace_s = 10.0;
    std::vector<std::string> command;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("launch", "Run a command (train, eval) as N data-parallel processes, as torchrun does");
  cmd->add_option("--nproc", args->options.nproc, "processes on this machine (one per GPU)")->capture_default_str();
  cmd->add_option("--nnodes", args->options.nnodes, "machines in the job; run one launch on each")->capture_default_str();
  cmd->add_option("--node-rank", args->options.node_rank, "this machine, 0 .. nnodes - 1")->capture_default_str();
  cmd->add_option("--master-addr", args->options.master_addr, "host of rank 0 (machine 0)")->capture_default_str();
  cmd->add_option("--master-port", args->options.master_port,
                  "rendezvous port on the master host; 0 = a free one (single machine)")
      ->capture_default_str();
  cmd->add_option("--log-dir", args->log_dir, "write each rank's output to DIR/rank<R>.log instead of the console");
  cmd->add_option("--grace", args->grace_s,
                  "seconds the other ranks get to exit after one fails, before SIGTERM (and SIGKILL as long after)")
      ->capture_default_str();
  cmd->add_option("command", args->command, "the tessera command the ranks run, after --: train RECIPE ...")
      ->required();
  cmd->footer("Example: tessera launch --nproc 2 -- train recipes/quickstart.yaml --set train.epochs=1");
  cmd->callback([args] {
    if (args->grace_s < 0) throw Error("--grace", "must be >= 0, got " + std::to_string(args->grace_s));
    if (!args->log_dir.empty()) args->options.log_dir = args->log_dir;
    args->options.grace = std::chrono::milliseconds(static_cast<int64_t>(args->grace_s * 1000));
    const auto result = dist::launch(self_executable(), args->command, args->options);
    if (!result.failures.empty()) {
      throw Error("launch", result.summary() + (result.failures.size() < static_cast<size_t>(args->options.nproc)
                                                    ? "; the other ranks were stopped"
                                                    : ""));
    }
    if (result.exit_code != 0) std::exit(result.exit_code);  // stopped by SIGINT / SIGTERM, passed on
  });
}

}  // namespace tessera::cli
