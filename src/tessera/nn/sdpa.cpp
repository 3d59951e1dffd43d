// SDPA entry point (see sdpa.h).
#include "tessera/nn/sdpa.h"

#include <ATen/ATen.h>

namespace tessera::nn {

at::Tensor scaled_dot_product(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const std::optional<at::Tensor>& attn_mask, double dropout_p,
                              bool is_causal) {
  return at::scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal);
}

}  // namespace tessera::nn
