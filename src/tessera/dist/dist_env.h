// The process's place in a data-parallel job, from the environment variables torchrun
// (and `tessera launch`, and most cluster launchers) set for every process.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace tessera::dist {

struct DistEnv {
  int64_t rank = 0;              // RANK: this process, 0 .. world_size - 1 (0 logs and writes the run)
  int64_t local_rank = 0;        // LOCAL_RANK: this process on its machine (its GPU: cuda:<local_rank>)
  int64_t world_size = 1;        // WORLD_SIZE: processes in the job, on all machines
  int64_t local_world_size = 1;  // LOCAL_WORLD_SIZE: processes on this machine (default: world_size)
  std::string master_addr;       // MASTER_ADDR: host of rank 0, where the rendezvous store listens
  int64_t master_port = 0;       // MASTER_PORT: its TCP port
};

// Reads RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and LOCAL_WORLD_SIZE
// when set) through `getenv`. nullopt when WORLD_SIZE is not set: a single-process
// run. Once WORLD_SIZE is set the others are required; a missing or bad value is a
// tessera::Error that names the variable and its value.
std::optional<DistEnv> parse_dist_env(const std::function<const char*(const char*)>& getenv);

// parse_dist_env over the process's environment.
std::optional<DistEnv> read_dist_env();

}  // namespace tessera::dist
