// Swin Transformer (Liu et al., 2021, "Swin Transformer: Hierarchical Vision Transformer
// using Shifted Windows"), with timm's module layout and parameter names so timm
// checkpoints load by name.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/models/image_classifier.h"
#include "tessera/nn/drop_path.h"
#include "tessera/nn/mlp.h"
#include "tessera/nn/patch_embed.h"
#include "tessera/nn/window_attention.h"

namespace tessera::models {

struct SwinTransformerOptions {
  TORCH_ARG(int64_t, img_size) = 224;
  TORCH_ARG(int64_t, patch_size) = 4;
  TORCH_ARG(int64_t, in_chans) = 3;
  TORCH_ARG(int64_t, num_classes) = 1000;  // 0 = no head (pooled features)
  TORCH_ARG(int64_t, embed_dim) = 96;      // width of stage 0; every later stage doubles it
  TORCH_ARG(std::vector<int64_t>, depths) = {2, 2, 6, 2};      // blocks per stage
  TORCH_ARG(std::vector<int64_t>, num_heads) = {3, 6, 12, 24};  // heads per stage
  TORCH_ARG(int64_t, window_size) = 7;     // tokens per window side (clamped to small maps, as timm)
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(bool, qkv_bias) = true;
  TORCH_ARG(double, drop_rate) = 0.0;       // before the head only (timm's drop_rate)
  TORCH_ARG(double, proj_drop_rate) = 0.0;  // after attn.proj and in the MLP
  TORCH_ARG(double, attn_drop_rate) = 0.0;  // on attention weights
  TORCH_ARG(double, drop_path_rate) = 0.1;  // timm's Swin default; linear from 0 over all blocks

 public:  // TORCH_ARG leaves the section private
  int64_t num_stages() const { return static_cast<int64_t>(depths().size()); }
  int64_t total_depth() const;
  int64_t stage_dim(int64_t stage) const { return embed_dim() << stage; }
  int64_t num_features() const { return stage_dim(num_stages() - 1); }
  // Tokens per side in `stage` (after its patch merging): the patch grid, halved with
  // rounding up at every stage after the first (odd maps are padded before merging).
  int64_t stage_resolution(int64_t stage) const;
  // timm (always_partition off): a window never exceeds the map, and a map that one
  // window covers is not shifted (there is nothing to connect across windows).
  int64_t stage_window(int64_t stage) const;
  // Shift of the odd blocks of `stage`: half the configured window, or 0 (see above).
  int64_t stage_shift(int64_t stage) const;
  // Parameter count, from the numbers alone (no allocation); equals the built module's.
  int64_t num_params() const;
};

struct SwinTransformerBlockOptions {
  SwinTransformerBlockOptions(int64_t dim, int64_t num_heads, int64_t resolution, int64_t window_size)
      : dim_(dim), num_heads_(num_heads), resolution_(resolution), window_size_(window_size) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, resolution);   // tokens per side of the (square) map the block sees
  TORCH_ARG(int64_t, window_size);  // already clamped to resolution
  TORCH_ARG(int64_t, shift_size) = 0;  // cyclic shift before partitioning; 0 = plain windows
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(bool, qkv_bias) = true;
  TORCH_ARG(double, proj_drop) = 0.0;
  TORCH_ARG(double, attn_drop) = 0.0;
  TORCH_ARG(double, drop_path) = 0.0;
};

// x + attn(norm1(x)) over (shifted) windows, then x + mlp(norm2(x)); on (B, H, W, C).
class SwinTransformerBlockImpl : public torch::nn::Module {
 public:
  explicit SwinTransformerBlockImpl(const SwinTransformerBlockOptions& options);
  at::Tensor forward(const at::Tensor& x);

  // The shift mask is no registered buffer (timm's is non-persistent), so it follows the
  // module's device here.
  using torch::nn::Module::to;
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Device device, bool non_blocking = false) override;

  SwinTransformerBlockOptions options;
  torch::nn::LayerNorm norm1{nullptr};
  nn::WindowAttention attn{nullptr};
  nn::DropPath drop_path1{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  nn::Mlp mlp{nullptr};
  nn::DropPath drop_path2{nullptr};
  at::Tensor attn_mask;  // (nW, N, N) float32 with a shift; undefined without

 private:
  at::Tensor window_attention(const at::Tensor& x);
};
TORCH_MODULE(SwinTransformerBlock);

// Downsampling between stages: each 2×2 group of tokens concatenated (4C), normed and
// projected to out_dim. An odd map is zero-padded at the bottom / right first.
class PatchMergingImpl : public torch::nn::Module {
 public:
  PatchMergingImpl(int64_t dim, int64_t out_dim);
  at::Tensor forward(const at::Tensor& x);  // (B, H, W, C) → (B, ⌈H/2⌉, ⌈W/2⌉, out_dim)

  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear reduction{nullptr};  // no bias
};
TORCH_MODULE(PatchMerging);

// One stage: patch merging (stages 1.., at the start, as in timm), then its blocks, which
// alternate plain and shifted windows.
class SwinTransformerStageImpl : public torch::nn::Module {
 public:
  // drop_path: the stochastic-depth rate of each of the stage's blocks.
  SwinTransformerStageImpl(const SwinTransformerOptions& options, int64_t stage, const std::vector<double>& drop_path);
  at::Tensor forward(const at::Tensor& x);  // (B, H, W, C_in) → (B, H', W', C)

  PatchMerging downsample{nullptr};  // absent in stage 0
  torch::nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(SwinTransformerStage);

// timm's ClassifierHead for channels-last features: average pool, dropout, fc.
class SwinHeadImpl : public torch::nn::Module {
 public:
  SwinHeadImpl(int64_t in_features, int64_t num_classes, double drop);
  at::Tensor forward(const at::Tensor& tokens);  // (B, N, C) → (B, num_classes), or (B, C) without fc

  torch::nn::Dropout drop{nullptr};
  torch::nn::Linear fc{nullptr};  // absent with num_classes = 0
};
TORCH_MODULE(SwinHead);

class SwinTransformerImpl : public ImageClassifierImpl {
 public:
  explicit SwinTransformerImpl(const SwinTransformerOptions& options);

  at::Tensor forward(const at::Tensor& images) override;
  // (B, N, C) with N = H × W of the last stage, after the final norm. (timm keeps the
  // map as (B, H, W, C); the tokens are the same, flattened row-major.)
  at::Tensor forward_features(const at::Tensor& images) override;
  at::Tensor forward_head(const at::Tensor& features) override;
  // Every relative_position_bias_table (Swin has no absolute position embedding).
  std::vector<std::string> no_weight_decay() const override;
  // timm's group_matcher for Swin, as param_groups_layer_decay numbers it: patch_embed 0;
  // block j of stage i 1 + (blocks before stage i) + j; a stage's downsample with its
  // first block; the final norm with the last block; the head last.
  int64_t layer_id(const std::string& param_name) const override;
  int64_t num_layers() const override { return options.total_depth() + 2; }
  int64_t num_classes() const override { return options.num_classes(); }
  int64_t in_chans() const override { return options.in_chans(); }
  int64_t img_size() const override { return options.img_size(); }

  SwinTransformerOptions options;
  nn::PatchEmbed patch_embed{nullptr};  // proj, and norm registered on it (timm: patch_embed.norm)
  torch::nn::LayerNorm patch_norm{nullptr};  // the same module as patch_embed.norm
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  SwinHead head{nullptr};

 private:
  void init_weights();
};
TORCH_MODULE(SwinTransformer);

// The preset registered as config.name (a swin_* name, or "swin" for a fully custom one,
// Swin-T's numbers by default) with the recipe's overrides applied. Throws tessera::Error
// naming the key for a setting a Swin lacks (depth, class_token, global_pool: token) or
// per-stage lists of different lengths. model.drop_rate is timm's Swin drop_rate: dropout
// before the head only; model.proj_drop_rate is the dropout inside the blocks.
SwinTransformerOptions swin_options(const config::ModelConfig& config);

}  // namespace tessera::models
