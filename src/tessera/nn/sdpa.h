// The one place attention math happens: at::scaled_dot_product_attention, whose
// backend (flash / memory-efficient / math) is chosen once per process
// (core/attention_backend.h, from train.attention).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <optional>
#include <vector>

namespace tessera::nn {

// q, k, v: (B, heads, N, head_dim). attn_mask: additive float mask or boolean
// (true = keep), broadcastable to (B, heads, N, N), in q's dtype when float.
// When train.attention narrowed the backends and none of them can run this call, the
// error is a tessera::Error naming train.attention.
at::Tensor scaled_dot_product(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const std::optional<at::Tensor>& attn_mask = std::nullopt,
                              double dropout_p = 0.0, bool is_causal = false);

// What the attention calls of a model look like, for the backend probe
// (core::AttentionProbe): found from its nn::Attention and nn::WindowAttention modules.
struct AttentionShapes {
  std::vector<int64_t> head_dims;  // sorted, without repeats; empty when none was found
  bool masked = false;             // some calls pass an additive mask (Swin's windows)
};
AttentionShapes attention_shapes(const torch::nn::Module& model);

}  // namespace tessera::nn
