// A group of processes that run collectives together: PyTorch's c10d process groups
// (Gloo on CPU, NCCL on CUDA) behind a small interface, rendezvous through c10d's
// TCPStore at MASTER_ADDR:MASTER_PORT, and every failure turned into one clear error.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tessera/dist/dist_env.h"

namespace tessera::dist {

enum class Backend { Gloo, Nccl };

const char* backend_name(Backend backend);  // "gloo" / "nccl"

// Whether this build can make NCCL groups (the torch wheel has CUDA and its NCCL
// headers were found at configure time).
bool nccl_built();

// The backend for a run on `device`: `requested`, or when unset (auto) NCCL on CUDA and
// Gloo on CPU. NCCL on a CPU device, or in a build without it, is a tessera::Error
// naming dist.backend.
Backend resolve_backend(std::optional<Backend> requested, c10::Device device);

struct ProcessGroupOptions {
  Backend backend = Backend::Gloo;
  // How long a collective waits for the other ranks before it fails: a rank that died
  // is usually noticed at once (its sockets close), one that hangs only after this long.
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
  // How long connect() waits for every rank to reach the rendezvous (they may start
  // minutes apart on a cluster, or load a dataset first).
  std::chrono::milliseconds rendezvous_timeout{std::chrono::seconds(600)};
};

class ProcessGroup;

// A collective that has been issued and may still run. wait() blocks until it is
// done; a failure (a peer died or did not answer within the timeout) is a
// tessera::Error that names this rank, the collective and the reason.
class Pending {
 public:
  Pending() = default;
  void wait();

  struct State;  // c10d's work handle and what to say when it fails (process_group.cpp)

 private:
  friend class ProcessGroup;
  std::shared_ptr<State> state_;
};

class ProcessGroup {
 public:
  // Joins the job `env` describes: rank 0 hosts the rendezvous store on MASTER_PORT,
  // the others connect to MASTER_ADDR:MASTER_PORT (retrying until the timeout), then
  // the Gloo or NCCL group connects every pair of ranks. NCCL uses cuda:<local_rank>.
  static std::shared_ptr<ProcessGroup> connect(const DistEnv& env, const ProcessGroupOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const;
  int64_t size() const;
  Backend backend() const;
  // Where the tensors of collectives live: CPU for Gloo, cuda:<local_rank> for NCCL.
  c10::Device device() const;

  // In-place sum over the ranks of a contiguous tensor on device(); asynchronous.
  // `what` names the collective in errors ("all-reduce of gradient bucket 3").
  Pending all_reduce_sum(const at::Tensor& tensor, std::string what);
  // Rank `root`'s tensor into every rank's (same shape and dtype); asynchronous.
  Pending broadcast(const at::Tensor& tensor, int64_t root, std::string what);
  // Every rank's tensor (all the same shape), concatenated along dim 0 in rank order.
  at::Tensor all_gather(const at::Tensor& tensor, const std::string& what);
  // Returns when every rank has called it.
  void barrier(const std::string& what);
  // Sums of a few numbers over the ranks (counts, metric sums), in float64.
  std::vector<double> sum(const std::vector<double>& values, const std::string& what);

 private:
  struct Impl;
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  // Issues a collective: `launch` returns c10d's work handle (defined in the .cpp).
  template <typename Launch>
  Pending issue(std::string what, Launch launch);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::dist
