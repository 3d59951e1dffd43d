// c10d process groups behind ProcessGroup (see process_group.h): the TCPStore
// rendezvous, the backend, and errors that say which collective failed and why.
#include "tessera/dist/process_group.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "tessera/core/error.h"
#include "tessera/dist/backends.h"

namespace tessera::dist {
namespace {

using Clock = std::chrono::steady_clock;

std::string reason_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

}  // namespace

const char* backend_name(Backend backend) { return backend == Backend::Nccl ? "nccl" : "gloo"; }

Backend resolve_backend(std::optional<Backend> requested, c10::Device device) {
  const Backend backend = requested.value_or(device.is_cuda() ? Backend::Nccl : Backend::Gloo);
  if (backend == Backend::Nccl && !device.is_cuda()) {
    throw Error("dist.backend", "nccl runs on CUDA devices, this run is on " + device.str() + "; use gloo (or auto)");
  }
  if (backend == Backend::Nccl && !nccl_built()) {
    throw Error("dist.backend", "nccl: this build of Tessera has no NCCL; use gloo");
  }
  return backend;
}

struct Pending::State {
  c10::intrusive_ptr<c10d::Work> work;
  std::string what;
  int64_t rank = 0;
  std::chrono::milliseconds timeout{0};
  Clock::time_point started;

  // Which rank, which collective, after how long, c10d's reason, what probably happened.
  Error error(std::exception_ptr cause) const {
    const double waited = std::chrono::duration<double>(Clock::now() - started).count();
    return Error(fmt::format("rank {}", rank),
                 fmt::format("{} failed after {:.1f} s: {}. Another rank has probably died or stopped responding "
                             "(a collective waits at most {:.0f} s for the others: dist.timeout_s)",
                             what, waited, reason_of(cause), seconds(timeout)));
  }
};

void Pending::wait() {
  if (!state_) return;
  const std::shared_ptr<State> state = std::move(state_);
  try {
    state->work->wait();
  } catch (...) {
    throw state->error(std::current_exception());
  }
}

struct ProcessGroup::Impl {
  DistEnv env;
  ProcessGroupOptions options;
  c10::Device device = c10::kCPU;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const DistEnv& env, const ProcessGroupOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->env = env;
  impl->options = options;
  if (options.backend == Backend::Nccl) {
    impl->device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
  }

  const std::string where = fmt::format("rank {}", env.rank);
  const std::string endpoint = fmt::format("MASTER_ADDR:MASTER_PORT = {}:{}", env.master_addr, env.master_port);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<size_t>(env.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = options.rendezvous_timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
  } catch (...) {
    throw Error(where, fmt::format("could not {} the rendezvous store at {} within {:.0f} s: {}",
                                   env.rank == 0 ? "open" : "reach", endpoint, seconds(options.rendezvous_timeout),
                                   reason_of(std::current_exception())));
  }
  try {
    const int rank = static_cast<int>(env.rank), size = static_cast<int>(env.world_size);
    impl->backend = options.backend == Backend::Nccl
                        ? detail::make_nccl_backend(impl->store, rank, size, options.timeout,
                                                    static_cast<int>(env.local_rank))
                        : detail::make_gloo_backend(impl->store, rank, size, options.timeout);
  } catch (const Error&) {
    throw;
  } catch (...) {
    throw Error(where, fmt::format("could not connect the {} group of {} ranks (rendezvous at {}): {}",
                                   backend_name(options.backend), env.world_size, endpoint,
                                   reason_of(std::current_exception())));
  }
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

int64_t ProcessGroup::rank() const { return impl_->env.rank; }
int64_t ProcessGroup::size() const { return impl_->env.world_size; }
Backend ProcessGroup::backend() const { return impl_->options.backend; }
c10::Device ProcessGroup::device() const { return impl_->device; }

template <typename Launch>
Pending ProcessGroup::issue(std::string what, Launch launch) {
  auto state = std::make_shared<Pending::State>();
  state->what = std::move(what);
  state->rank = impl_->env.rank;
  state->timeout = impl_->options.timeout;
  state->started = Clock::now();
  try {
    state->work = launch(*impl_->backend);
  } catch (...) {
    throw state->error(std::current_exception());  // a peer already gone can fail the launch itself
  }
  Pending pending;
  pending.state_ = std::move(state);
  return pending;
}

namespace {

void check_tensor(const at::Tensor& tensor, c10::Device device, const std::string& what) {
  TORCH_CHECK(tensor.defined() && tensor.is_contiguous(), what, ": needs a defined, contiguous tensor");
  TORCH_CHECK(tensor.device() == device, what, ": the tensor is on ", tensor.device(), ", the group works on ",
              device);
}

}  // namespace

Pending ProcessGroup::all_reduce_sum(const at::Tensor& tensor, std::string what) {
  check_tensor(tensor, impl_->device, what);
  return issue(std::move(what), [&](c10d::Backend& backend) {
    std::vector<at::Tensor> tensors{tensor};
    return backend.allreduce(tensors, c10d::AllreduceOptions{});
  });
}

Pending ProcessGroup::broadcast(const at::Tensor& tensor, int64_t root, std::string what) {
  check_tensor(tensor, impl_->device, what);
  TORCH_CHECK(root >= 0 && root < size(), what, ": root rank ", root, " is not in [0, ", size(), ")");
  return issue(std::move(what), [&](c10d::Backend& backend) {
    std::vector<at::Tensor> tensors{tensor};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    return backend.broadcast(tensors, options);
  });
}

at::Tensor ProcessGroup::all_gather(const at::Tensor& tensor, const std::string& what) {
  const at::Tensor input = tensor.contiguous();
  check_tensor(input, impl_->device, what);
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int64_t r = 0; r < size(); ++r) outputs[0].push_back(at::empty_like(input));
  issue(what, [&](c10d::Backend& backend) {
    std::vector<at::Tensor> inputs{input};
    return backend.allgather(outputs, inputs, c10d::AllgatherOptions{});
  }).wait();
  return at::cat(outputs[0], 0);
}

void ProcessGroup::barrier(const std::string& what) {
  issue(what, [&](c10d::Backend& backend) {
    c10d::BarrierOptions options;
    if (impl_->options.backend == Backend::Nccl) options.device_ids = {impl_->device.index()};
    return backend.barrier(options);
  }).wait();
}

std::vector<double> ProcessGroup::sum(const std::vector<double>& values, const std::string& what) {
  if (values.empty()) return {};
  at::Tensor t = at::tensor(values, at::dtype(at::kDouble)).to(impl_->device);
  all_reduce_sum(t, what).wait();
  t = t.cpu();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

}  // namespace tessera::dist
