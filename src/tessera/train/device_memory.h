// Peak accelerator memory of a run, for metrics.jsonl and the final summary.
#pragma once

#include <c10/core/Device.h>

#include <optional>

namespace tessera::train {

// The most memory the caching allocator has had allocated on `device` since the process
// started (or the last reset), in MiB; nullopt on the CPU, where nothing tracks it.
std::optional<double> peak_memory_mib(c10::Device device);

}  // namespace tessera::train
