// Peak device memory through ATen's device-generic allocator stats (see device_memory.h):
// no CUDA header is needed, so this compiles and runs in a CPU-only build too.
#include "tessera/train/device_memory.h"

#include <ATen/DeviceAccelerator.h>

namespace tessera::train {

std::optional<double> peak_memory_mib(c10::Device device) {
  if (!device.is_cuda()) return std::nullopt;
  const auto index = device.has_index() ? device.index() : at::accelerator::getDeviceIndex();
  const auto stats = at::accelerator::getDeviceStats(index);
  const auto aggregate = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  return static_cast<double>(stats.allocated_bytes[aggregate].peak) / (1024.0 * 1024.0);
}

}  // namespace tessera::train
