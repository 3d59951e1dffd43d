// The transformer CLIP's towers share (Radford et al., 2021, "Learning Transferable Visual
// Models From Natural Language Supervision"), laid out as open_clip's transformer.py so
// its checkpoints load by name: resblocks.N.{ln_1, attn.in_proj_weight, attn.in_proj_bias,
// attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace tessera::models {

// The MLP's nonlinearity: exact GELU (open_clip's default), or OpenAI's original
// QuickGELU x·σ(1.702x), which the "-quickgelu" models and OpenAI's weights use.
enum class ClipActivation { GELU, QuickGELU };

// Multi-head self-attention with torch.nn.MultiheadAttention's parameters (one packed
// in_proj for q, k, v and an out_proj), computed through nn::scaled_dot_product.
class ClipAttentionImpl : public torch::nn::Module {
 public:
  ClipAttentionImpl(int64_t dim, int64_t num_heads);
  // x: (B, N, dim); causal: each token attends to itself and the ones before it (text).
  at::Tensor forward(const at::Tensor& x, bool causal = false);

  int64_t num_heads;
  at::Tensor in_proj_weight;  // (3·dim, dim): q, k, v stacked
  at::Tensor in_proj_bias;    // (3·dim)
  torch::nn::Linear out_proj{nullptr};
};
TORCH_MODULE(ClipAttention);

// c_fc → activation → c_proj.
class ClipMlpImpl : public torch::nn::Module {
 public:
  ClipMlpImpl(int64_t dim, int64_t hidden, ClipActivation activation);
  at::Tensor forward(const at::Tensor& x);

  ClipActivation activation;
  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};
};
TORCH_MODULE(ClipMlp);

// Pre-norm block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
class ResidualAttentionBlockImpl : public torch::nn::Module {
 public:
  ResidualAttentionBlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, ClipActivation activation);
  at::Tensor forward(const at::Tensor& x, bool causal = false);

  torch::nn::LayerNorm ln_1{nullptr};
  ClipAttention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  ClipMlp mlp{nullptr};
};
TORCH_MODULE(ResidualAttentionBlock);

// A stack of `layers` blocks of `width` channels.
class ClipTransformerImpl : public torch::nn::Module {
 public:
  ClipTransformerImpl(int64_t width, int64_t layers, int64_t heads, double mlp_ratio, ClipActivation activation);
  at::Tensor forward(const at::Tensor& x, bool causal = false);

  int64_t width, layers;
  torch::nn::ModuleList resblocks{nullptr};
};
TORCH_MODULE(ClipTransformer);

// The MLP's hidden width for `dim` channels, truncated as open_clip's int(dim * mlp_ratio).
int64_t clip_mlp_width(int64_t dim, double mlp_ratio);

// Parameters of one ResidualAttentionBlock, from the numbers alone.
int64_t clip_block_params(int64_t dim, double mlp_ratio);

}  // namespace tessera::models
