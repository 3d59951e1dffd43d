// Autocast guard and precision dtypes (see precision.h).
#include "tessera/core/precision.h"

#include <ATen/autocast_mode.h>

#include "tessera/core/error.h"

namespace tessera::core {

AutocastGuard::AutocastGuard(config::Precision precision, c10::Device device) : device_type_(device.type()) {
  if (precision == config::Precision::FP32) return;
  enabled_ = true;
  previous_enabled_ = at::autocast::is_autocast_enabled(device_type_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_dtype(device_type_,
                                   precision == config::Precision::BF16 ? at::kBFloat16 : at::kHalf);
  at::autocast::set_autocast_enabled(device_type_, true);
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  at::autocast::set_autocast_enabled(device_type_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
  at::autocast::clear_cache();
}

c10::ScalarType scalar_type(config::Precision precision) {
  switch (precision) {
    case config::Precision::BF16: return c10::kBFloat16;
    case config::Precision::FP16: return c10::kHalf;
    case config::Precision::FP32: break;
  }
  return c10::kFloat;
}

void check_precision(config::Precision precision, c10::Device device) {
  if (precision == config::Precision::FP16 && device.is_cpu()) {
    // CPU autocast to fp16 exists but is slow and has no loss-scaling benefit there.
    throw Error("precision", "fp16 runs on CUDA only; on a CPU use bf16 (or fp32)");
  }
}

}  // namespace tessera::core
