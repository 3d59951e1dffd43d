// Choosing the device and CPU threads a run uses.
#pragma once

#include <c10/core/Device.h>

#include "tessera/config/recipe.h"

namespace tessera::core {

// auto → CUDA when a GPU is visible, else CPU; asking for cuda without one is an error.
c10::Device choose_device(config::DeviceKind kind);

// Sets torch's intra-op threads (0 = one per core) and returns the number in use.
int set_cpu_threads(int64_t threads);

}  // namespace tessera::core
