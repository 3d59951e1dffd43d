// Choosing the kernel behind at::scaled_dot_product_attention (train.attention): flash
// attention (Dao et al., 2022), memory-efficient attention (Rabe & Staats, 2021) or the
// plain math path, through ATen's process-wide SDPA switches, checked by a probe call.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"

namespace tessera::core {

// What the run's attention calls look like, so the probe asks the kernels the same question.
struct AttentionProbe {
  std::vector<int64_t> head_dims = {64};      // every head size the model uses
  c10::ScalarType dtype = c10::kFloat;        // compute dtype: float32, or bf16 / fp16 under autocast
  c10::Device device = c10::Device(c10::kCPU);
  bool with_mask = false;                     // an additive float mask (Swin's bias and shift mask)
  bool backward = true;                       // training: the backward kernel must exist too
};

// The dtype q, k and v have in a run of `precision` (autocast makes the projections bf16 / fp16):
// core::scalar_type(precision) (precision.h).
c10::ScalarType attention_dtype(config::Precision precision);

// ATen's SDPA switches (flash, memory-efficient, math, cuDNN) as they were at
// construction, put back at destruction unless keep() was called.
class SdpaSwitchesGuard {
 public:
  SdpaSwitchesGuard();
  ~SdpaSwitchesGuard();
  SdpaSwitchesGuard(const SdpaSwitchesGuard&) = delete;
  SdpaSwitchesGuard& operator=(const SdpaSwitchesGuard&) = delete;
  void keep() { restore_ = false; }

 private:
  bool flash_, mem_efficient_, math_, cudnn_;
  bool restore_ = true;
};

// Turns on only `backend` (auto: all of ATen's defaults, ATen chooses per call).
void set_sdpa_switches(config::AttentionBackend backend);

// nullopt when `backend` alone can run the probe's attention (forward, and backward when
// asked), else why not in ATen's words. The switches are as before afterwards.
std::optional<std::string> attention_backend_problem(config::AttentionBackend backend, const AttentionProbe& probe);

// Applies train.attention for the whole process after checking with a tiny SDPA call per
// head dim that the backend can run. Throws tessera::Error, e.g. "train.attention:
// efficient is not available on cpu (float32, head_dim 64): ...; use auto, flash or math",
// leaving the switches as they were. Returns one line for the log, e.g.
// "attention: auto (ATen picks flash for head_dim 64, float32 on cpu)".
std::string apply_attention_backend(config::AttentionBackend backend, const AttentionProbe& probe);

}  // namespace tessera::core
