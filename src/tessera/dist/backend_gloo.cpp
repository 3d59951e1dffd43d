// The Gloo process group (CPU tensors). Compiled with USE_C10D_GLOO, which the torch
// wheel's ProcessGroupGloo.hpp needs, and Gloo's headers (Debian's libgloo-dev: the
// wheel links Gloo in but ships no headers). Only c10d's own factory functions and
// the group's virtual interface are used, never a Gloo type, so the headers' version
// need not match the Gloo inside libtorch_cpu.
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "tessera/dist/backends.h"

#ifndef USE_C10D_GLOO
#error "backend_gloo.cpp must be compiled with USE_C10D_GLOO (see CMakeLists.txt)"
#endif

namespace tessera::dist::detail {

c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout) {
  // create_default: one device on the interface the host name resolves to (or
  // GLOO_SOCKET_IFNAME), two worker threads, as torch.distributed does.
  auto options = c10d::ProcessGroupGloo::Options::create_default(timeout);
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
}

}  // namespace tessera::dist::detail
