// Mixed precision: an RAII guard that turns on LibTorch autocast for a region, and the
// dtype each precision names.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "tessera/config/recipe.h"

namespace tessera::core {

// Inside its scope, eligible ops (matmuls, convolutions) run in bf16/fp16 on `device`
// while weights stay fp32. fp32 does nothing. The autocast cache is cleared on exit.
class AutocastGuard {
 public:
  AutocastGuard(config::Precision precision, c10::Device device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_ = false;
  bool previous_enabled_ = false;
  c10::DeviceType device_type_;
  c10::ScalarType previous_dtype_;
};

// The dtype of `precision`: float32, bfloat16 or float16.
c10::ScalarType scalar_type(config::Precision precision);

// Checks the precision can run on the device (fp16 needs CUDA).
void check_precision(config::Precision precision, c10::Device device);

}  // namespace tessera::core
