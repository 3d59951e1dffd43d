// The one place attention math happens: at::scaled_dot_product_attention, whose
// backend (flash / memory-efficient / math) is chosen once per process.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

namespace tessera::nn {

// q, k, v: (B, heads, N, head_dim). attn_mask: additive float mask or boolean
// (true = keep), broadcastable to (B, heads, N, N), in q's dtype when float.
at::Tensor scaled_dot_product(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const std::optional<at::Tensor>& attn_mask = std::nullopt,
                              double dropout_p = 0.0, bool is_causal = false);

}  // namespace tessera::nn
