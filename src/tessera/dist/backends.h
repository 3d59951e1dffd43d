// The c10d backends Tessera makes (internal to dist/): each lives in its own file,
// compiled with the macro and headers its c10d header needs (see CMakeLists.txt).
#pragma once

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>

namespace tessera::dist::detail {

// ProcessGroupGloo over the first network interface that reaches the other ranks
// (GLOO_SOCKET_IFNAME picks one), `timeout` for every collective.
c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout);

// ProcessGroupNCCL on cuda:<device_index> (made the current device). Throws when the
// build has no NCCL (see nccl_built()).
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout, int device_index);

}  // namespace tessera::dist::detail
