// CLIP's transformer blocks (see clip_blocks.h).
#include "tessera/models/clip_blocks.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/init.h>

#include "tessera/nn/sdpa.h"

namespace tessera::models {

namespace {
// open_clip's LayerNorm is torch's with its default eps (1e-5).
torch::nn::LayerNorm layer_norm(int64_t dim) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})); }
}  // namespace

int64_t clip_mlp_width(int64_t dim, double mlp_ratio) { return static_cast<int64_t>(dim * mlp_ratio); }

int64_t clip_block_params(int64_t dim, double mlp_ratio) {
  const int64_t hidden = clip_mlp_width(dim, mlp_ratio);
  return 2 * dim                          // ln_1
         + 3 * dim * dim + 3 * dim        // attn.in_proj_weight, attn.in_proj_bias
         + dim * dim + dim                // attn.out_proj
         + 2 * dim                        // ln_2
         + dim * hidden + hidden          // mlp.c_fc
         + hidden * dim + dim;            // mlp.c_proj
}

ClipAttentionImpl::ClipAttentionImpl(int64_t dim, int64_t num_heads_) : num_heads(num_heads_) {
  TORCH_CHECK(dim > 0, "ClipAttention: width must be positive, got ", dim);
  TORCH_CHECK(num_heads > 0 && dim % num_heads == 0, "ClipAttention: width (", dim,
              ") must be divisible by the number of heads (", num_heads, ")");
  in_proj_weight = register_parameter("in_proj_weight", at::empty({3 * dim, dim}));
  in_proj_bias = register_parameter("in_proj_bias", at::zeros({3 * dim}));
  out_proj = register_module("out_proj", torch::nn::Linear(dim, dim));
  // torch.nn.MultiheadAttention's initialisation: Xavier for the packed projection, zero biases.
  at::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(in_proj_weight);
  out_proj->bias.zero_();
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& x, bool causal) {
  const auto B = x.size(0), N = x.size(1), C = x.size(2);
  auto qkv = at::linear(x, in_proj_weight, in_proj_bias)
                 .reshape({B, N, 3, num_heads, C / num_heads})  // (B, N, 3, heads, head_dim)
                 .permute({2, 0, 3, 1, 4});                     // (3, B, heads, N, head_dim)
  auto out = nn::scaled_dot_product(qkv[0], qkv[1], qkv[2], std::nullopt, 0.0, causal);  // (B, heads, N, head_dim)
  out = out.transpose(1, 2).reshape({B, N, C});                                              // (B, N, dim)
  return out_proj->forward(out);
}

ClipMlpImpl::ClipMlpImpl(int64_t dim, int64_t hidden, ClipActivation activation_) : activation(activation_) {
  TORCH_CHECK(hidden > 0, "ClipMlp: hidden width must be positive, got ", hidden);
  c_fc = register_module("c_fc", torch::nn::Linear(dim, hidden));
  c_proj = register_module("c_proj", torch::nn::Linear(hidden, dim));
}

at::Tensor ClipMlpImpl::forward(const at::Tensor& x) {
  auto h = c_fc->forward(x);
  h = activation == ClipActivation::QuickGELU ? h * at::sigmoid(1.702 * h) : at::gelu(h);
  return c_proj->forward(h);
}

ResidualAttentionBlockImpl::ResidualAttentionBlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio,
                                                       ClipActivation activation) {
  TORCH_CHECK(mlp_ratio > 0, "ResidualAttentionBlock: mlp_ratio must be positive, got ", mlp_ratio);
  ln_1 = register_module("ln_1", layer_norm(dim));
  attn = register_module("attn", ClipAttention(dim, num_heads));
  ln_2 = register_module("ln_2", layer_norm(dim));
  mlp = register_module("mlp", ClipMlp(dim, clip_mlp_width(dim, mlp_ratio), activation));
}

at::Tensor ResidualAttentionBlockImpl::forward(const at::Tensor& x, bool causal) {
  auto h = x + attn->forward(ln_1->forward(x), causal);
  return h + mlp->forward(ln_2->forward(h));
}

ClipTransformerImpl::ClipTransformerImpl(int64_t width_, int64_t layers_, int64_t heads, double mlp_ratio,
                                         ClipActivation activation)
    : width(width_), layers(layers_) {
  TORCH_CHECK(layers >= 1, "ClipTransformer: layers must be >= 1, got ", layers);
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) {
    resblocks->push_back(ResidualAttentionBlock(width, heads, mlp_ratio, activation));
  }
}

at::Tensor ClipTransformerImpl::forward(const at::Tensor& x, bool causal) {
  auto h = x;
  for (const auto& block : *resblocks) h = block->as<ResidualAttentionBlockImpl>()->forward(h, causal);
  return h;
}

}  // namespace tessera::models
