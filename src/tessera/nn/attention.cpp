// Multi-head self-attention (see attention.h).
#include "tessera/nn/attention.h"

#include <c10/util/Exception.h>

#include "tessera/nn/sdpa.h"

namespace tessera::nn {

AttentionImpl::AttentionImpl(const AttentionOptions& options_) : options(options_) {
  TORCH_CHECK(options.dim() > 0, "Attention: dim must be positive, got ", options.dim());
  TORCH_CHECK(options.num_heads() > 0 && options.dim() % options.num_heads() == 0,
              "Attention: dim (", options.dim(), ") must be divisible by num_heads (", options.num_heads(), ")");
  TORCH_CHECK(options.attn_drop() >= 0 && options.attn_drop() < 1, "Attention: attn_drop must be in [0, 1), got ",
              options.attn_drop());
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(options.dim(), 3 * options.dim())
                                                     .bias(options.qkv_bias())));
  proj = register_module("proj", torch::nn::Linear(options.dim(), options.dim()));
  proj_drop = register_module("proj_drop", torch::nn::Dropout(options.proj_drop()));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const std::optional<at::Tensor>& attn_mask) {
  const auto B = x.size(0), N = x.size(1), C = x.size(2);
  const auto heads = options.num_heads();
  auto qkv_out = qkv->forward(x)
                     .reshape({B, N, 3, heads, C / heads})  // (B, N, 3, heads, head_dim)
                     .permute({2, 0, 3, 1, 4});             // (3, B, heads, N, head_dim)
  auto q = qkv_out[0], k = qkv_out[1], v = qkv_out[2];
  const double p = is_training() ? options.attn_drop() : 0.0;
  auto out = scaled_dot_product(q, k, v, attn_mask, p);  // (B, heads, N, head_dim)
  out = out.transpose(1, 2).reshape({B, N, C});          // (B, N, dim)
  return proj_drop->forward(proj->forward(out));
}

}  // namespace tessera::nn
