// Device and thread choice (see device.h).
#include "tessera/core/device.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <thread>

#include "tessera/core/error.h"

namespace tessera::core {

c10::Device choose_device(config::DeviceKind kind) {
  const bool has_cuda = torch::cuda::is_available();
  if (kind == config::DeviceKind::CUDA && !has_cuda) {
    throw Error("train.device", "cuda was asked for but no CUDA device is visible; use device: auto or cpu");
  }
  if (kind == config::DeviceKind::CPU || !has_cuda) return c10::Device(c10::kCPU);
  return c10::Device(c10::kCUDA, 0);
}

int set_cpu_threads(int64_t threads) {
  const int n = threads > 0 ? static_cast<int>(threads)
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return n;
}

}  // namespace tessera::core
