// Vision Transformer (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words"), with
// timm's module layout and parameter names so timm checkpoints load by name.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "tessera/config/recipe.h"
#include "tessera/models/image_classifier.h"
#include "tessera/nn/attention.h"
#include "tessera/nn/drop_path.h"
#include "tessera/nn/mlp.h"
#include "tessera/nn/patch_embed.h"

namespace tessera::models {

struct VisionTransformerOptions {
  TORCH_ARG(int64_t, img_size) = 224;
  TORCH_ARG(int64_t, patch_size) = 16;
  TORCH_ARG(int64_t, in_chans) = 3;
  TORCH_ARG(int64_t, num_classes) = 1000;  // 0 = no head (features only)
  TORCH_ARG(int64_t, embed_dim) = 768;
  TORCH_ARG(int64_t, depth) = 12;
  TORCH_ARG(int64_t, num_heads) = 12;
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(bool, qkv_bias) = true;
  TORCH_ARG(bool, class_token) = true;
  TORCH_ARG(config::GlobalPool, global_pool) = config::GlobalPool::Token;
  TORCH_ARG(double, drop_rate) = 0.0;       // before the head (timm's drop_rate)
  TORCH_ARG(double, pos_drop_rate) = 0.0;   // after adding pos_embed
  TORCH_ARG(double, proj_drop_rate) = 0.0;  // after attn.proj and in the MLP
  TORCH_ARG(double, attn_drop_rate) = 0.0;  // on attention weights
  TORCH_ARG(double, drop_path_rate) = 0.0;  // stochastic depth of the last block; linear from 0

 public:  // TORCH_ARG leaves the section private
  int64_t mlp_hidden() const { return static_cast<int64_t>(embed_dim() * mlp_ratio()); }
  int64_t num_prefix_tokens() const { return class_token() ? 1 : 0; }
  // Parameter count, from the numbers alone (no allocation); equals the built module's.
  int64_t num_params() const;
};

// One pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, double drop, double attn_drop,
            double drop_path);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::LayerNorm norm1{nullptr};
  nn::Attention attn{nullptr};
  nn::DropPath drop_path1{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  nn::Mlp mlp{nullptr};
  nn::DropPath drop_path2{nullptr};
};
TORCH_MODULE(Block);

class VisionTransformerImpl : public ImageClassifierImpl {
 public:
  explicit VisionTransformerImpl(const VisionTransformerOptions& options) : VisionTransformerImpl(options, 0) {}

  at::Tensor forward(const at::Tensor& images) override;
  at::Tensor forward_features(const at::Tensor& images) override;
  at::Tensor forward_head(const at::Tensor& features) override;
  std::vector<std::string> no_weight_decay() const override { return {"pos_embed", "cls_token"}; }
  int64_t layer_id(const std::string& param_name) const override;
  int64_t num_layers() const override { return options.depth() + 2; }
  int64_t num_classes() const override { return options.num_classes(); }
  int64_t in_chans() const override { return options.in_chans(); }
  int64_t img_size() const override { return options.img_size(); }
  // Tokens before the patch tokens: the class token, and DeiT's distillation token.
  int64_t num_prefix_tokens() const { return options.num_prefix_tokens() + extra_prefix_tokens_; }

  VisionTransformerOptions options;
  nn::PatchEmbed patch_embed{nullptr};
  at::Tensor cls_token;  // (1, 1, D), absent without class_token
  at::Tensor pos_embed;  // (1, num_prefix + N, D)
  torch::nn::Dropout pos_drop{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};     // Identity-like when global_pool = avg (fc_norm is used)
  torch::nn::LayerNorm fc_norm{nullptr};  // only with global_pool = avg, as in timm
  torch::nn::Dropout head_drop{nullptr};
  torch::nn::Linear head{nullptr};

 protected:
  // For subclasses with more prefix tokens (DeiT's distillation token): pos_embed gets
  // a row for each of them; the subclass registers and initialises the tokens.
  VisionTransformerImpl(const VisionTransformerOptions& options, int64_t extra_prefix_tokens);
  // Tokens (B, num_prefix_tokens() + N, D) → pos_embed added, blocks, final norm.
  at::Tensor encode_tokens(const at::Tensor& tokens);

 private:
  void init_weights();
  int64_t extra_prefix_tokens_ = 0;
};
TORCH_MODULE(VisionTransformer);

// The preset registered as config.name (a vit_* name, or "vit" for a fully custom one)
// with the recipe's overrides applied. Throws tessera::Error for a setting a ViT lacks.
VisionTransformerOptions vit_options(const config::ModelConfig& config);

// `preset` with the recipe's architecture overrides applied (what vit_options does after
// finding the preset; DeiT's presets go through it too).
VisionTransformerOptions override_vit_options(VisionTransformerOptions preset, const config::ModelConfig& config);

}  // namespace tessera::models
