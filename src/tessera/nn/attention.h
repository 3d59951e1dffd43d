// Multi-head self-attention (Vaswani et al., 2017) as in timm's ViT: fused qkv, SDPA, proj.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <optional>

namespace tessera::nn {

struct AttentionOptions {
  AttentionOptions(int64_t dim, int64_t num_heads) : dim_(dim), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(bool, qkv_bias) = true;
  TORCH_ARG(double, attn_drop) = 0.0;  // dropout on the attention weights
  TORCH_ARG(double, proj_drop) = 0.0;  // dropout after the output projection
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& options);
  // x: (B, N, dim); attn_mask broadcastable to (B, heads, N, N).
  at::Tensor forward(const at::Tensor& x, const std::optional<at::Tensor>& attn_mask = std::nullopt);

  AttentionOptions options;
  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear proj{nullptr};
  torch::nn::Dropout proj_drop{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace tessera::nn
