// The NCCL process group (CUDA tensors). Built only where the torch wheel has CUDA and
// the nvidia-nccl / CUDA runtime headers are found (TESSERA_WITH_NCCL, with
// USE_C10D_NCCL for ProcessGroupNCCL.hpp; see CMakeLists.txt); elsewhere asking for
// NCCL is an error that says so.
#include "tessera/dist/backends.h"
#include "tessera/dist/process_group.h"

#include "tessera/core/error.h"

#ifdef TESSERA_WITH_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace tessera::dist {

bool nccl_built() {
#ifdef TESSERA_WITH_NCCL
  return true;
#else
  return false;
#endif
}

namespace detail {

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout, int device_index) {
#ifdef TESSERA_WITH_NCCL
  // NCCL binds a communicator to the current device: make it this rank's GPU first.
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(device_index));
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
#else
  throw Error("dist.backend", "nccl: this build of Tessera has no NCCL (the torch wheel has no CUDA, or its NCCL "
                              "headers were not found when it was configured); use gloo");
#endif
}

}  // namespace detail
}  // namespace tessera::dist
