// Vision Transformer (see vit.h).
#include "tessera/models/vit.h"

#include <ATen/ATen.h>
#include <algorithm>
#include <c10/util/Exception.h>
#include <torch/nn/init.h>

#include "tessera/core/error.h"
#include "tessera/models/model_entry.h"
#include "tessera/nn/init.h"

namespace tessera::models {

namespace {
torch::nn::LayerNorm layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6));
}
}  // namespace

int64_t VisionTransformerOptions::num_params() const {
  const int64_t D = embed_dim(), H = mlp_hidden();
  const int64_t grid = img_size() / patch_size();
  int64_t n = in_chans() * patch_size() * patch_size() * D + D;  // patch_embed.proj
  n += (grid * grid + num_prefix_tokens()) * D;                 // pos_embed
  if (class_token()) n += D;
  const int64_t block = 2 * D                       // norm1
                        + D * 3 * D + (qkv_bias() ? 3 * D : 0)  // attn.qkv
                        + D * D + D                 // attn.proj
                        + 2 * D                     // norm2
                        + D * H + H + H * D + D;    // mlp.fc1, mlp.fc2
  n += depth() * block + 2 * D;                     // blocks, norm or fc_norm
  if (num_classes() > 0) n += D * num_classes() + num_classes();
  return n;
}

BlockImpl::BlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, double drop, double attn_drop,
                     double drop_path) {
  norm1 = register_module("norm1", layer_norm(dim));
  attn = register_module("attn", nn::Attention(nn::AttentionOptions(dim, num_heads)
                                                   .qkv_bias(qkv_bias)
                                                   .attn_drop(attn_drop)
                                                   .proj_drop(drop)));
  drop_path1 = register_module("drop_path1", nn::DropPath(drop_path));
  norm2 = register_module("norm2", layer_norm(dim));
  mlp = register_module("mlp", nn::Mlp(nn::MlpOptions(dim, static_cast<int64_t>(dim * mlp_ratio)).drop(drop)));
  drop_path2 = register_module("drop_path2", nn::DropPath(drop_path));
}

at::Tensor BlockImpl::forward(const at::Tensor& x) {
  auto h = x + drop_path1->forward(attn->forward(norm1->forward(x)));
  return h + drop_path2->forward(mlp->forward(norm2->forward(h)));
}

VisionTransformerImpl::VisionTransformerImpl(const VisionTransformerOptions& options_, int64_t extra_prefix_tokens)
    : options(options_), extra_prefix_tokens_(extra_prefix_tokens) {
  const auto& o = options;
  TORCH_CHECK(o.depth() >= 1, "VisionTransformer: depth must be >= 1, got ", o.depth());
  TORCH_CHECK(o.num_classes() >= 0, "VisionTransformer: num_classes must be >= 0, got ", o.num_classes());
  TORCH_CHECK(o.mlp_ratio() > 0, "VisionTransformer: mlp_ratio must be positive, got ", o.mlp_ratio());
  TORCH_CHECK(o.drop_path_rate() >= 0 && o.drop_path_rate() < 1, "VisionTransformer: drop_path_rate must be in [0, 1), got ",
              o.drop_path_rate());
  TORCH_CHECK(o.class_token() || o.global_pool() == config::GlobalPool::Avg,
              "VisionTransformer: global_pool 'token' needs class_token: true");
  const int64_t D = o.embed_dim();
  patch_embed = register_module("patch_embed", nn::PatchEmbed(nn::PatchEmbedOptions(o.img_size(), o.patch_size(),
                                                                                    o.in_chans(), D)));
  if (o.class_token()) cls_token = register_parameter("cls_token", at::zeros({1, 1, D}));
  pos_embed = register_parameter("pos_embed", at::zeros({1, patch_embed->num_patches() + num_prefix_tokens(), D}));
  pos_drop = register_module("pos_drop", torch::nn::Dropout(o.pos_drop_rate()));

  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth(); ++i) {
    // Stochastic depth rises linearly from 0 at the first block to drop_path_rate at the last
    // (timm's linspace(0, rate, depth): a single block gets 0).
    const double dpr = o.depth() > 1 ? o.drop_path_rate() * i / (o.depth() - 1) : 0.0;
    blocks->push_back(Block(D, o.num_heads(), o.mlp_ratio(), o.qkv_bias(), o.proj_drop_rate(), o.attn_drop_rate(), dpr));
  }
  // timm: with average pooling the final norm moves after the pooling (fc_norm).
  if (o.global_pool() == config::GlobalPool::Avg) {
    fc_norm = register_module("fc_norm", layer_norm(D));
  } else {
    norm = register_module("norm", layer_norm(D));
  }
  head_drop = register_module("head_drop", torch::nn::Dropout(o.drop_rate()));
  if (o.num_classes() > 0) head = register_module("head", torch::nn::Linear(D, o.num_classes()));
  init_weights();
}

void VisionTransformerImpl::init_weights() {
  // timm's default ('jax'-free) scheme: trunc-normal(.02) for pos_embed and Linear
  // weights, zero biases, a near-zero class token; the patch conv keeps its default.
  at::NoGradGuard no_grad;
  nn::trunc_normal_(pos_embed, 0.0, 0.02);
  if (cls_token.defined()) cls_token.normal_(0.0, 1e-6);
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      nn::trunc_normal_(linear->weight, 0.0, 0.02);
      if (linear->bias.defined()) linear->bias.zero_();
    }
  }
}

at::Tensor VisionTransformerImpl::forward_features(const at::Tensor& images) {
  auto x = patch_embed->forward(images);  // (B, N, D)
  if (cls_token.defined()) {
    x = at::cat({cls_token.expand({x.size(0), -1, -1}), x}, 1);  // (B, 1 + N, D)
  }
  return encode_tokens(x);
}

at::Tensor VisionTransformerImpl::encode_tokens(const at::Tensor& tokens) {
  // pos_embed has rows for the prefix tokens too: concatenate, then add (timm, DeiT).
  auto x = pos_drop->forward(tokens + pos_embed);
  for (const auto& block : *blocks) x = block->as<BlockImpl>()->forward(x);
  return norm ? norm->forward(x) : x;
}

at::Tensor VisionTransformerImpl::forward_head(const at::Tensor& features) {
  at::Tensor pooled = options.global_pool() == config::GlobalPool::Avg
                          ? features.slice(1, num_prefix_tokens()).mean(1)  // (B, D)
                          : features.select(1, 0);                          // (B, D)
  if (fc_norm) pooled = fc_norm->forward(pooled);
  pooled = head_drop->forward(pooled);
  return head ? head->forward(pooled) : pooled;
}

at::Tensor VisionTransformerImpl::forward(const at::Tensor& images) {
  return forward_head(forward_features(images));
}

int64_t VisionTransformerImpl::layer_id(const std::string& name) const {
  if (name.rfind("blocks.", 0) == 0) {
    return 1 + std::stoll(name.substr(7, name.find('.', 7) - 7));
  }
  if (name == "cls_token" || name == "pos_embed" || name.rfind("patch_embed.", 0) == 0) return 0;
  // As timm's param_groups_layer_decay groups a ViT: the final norm shares the last
  // block's layer; fc_norm and the head are the top layer.
  if (name.rfind("norm.", 0) == 0) return options.depth();
  return num_layers() - 1;
}

// ---- registry ------------------------------------------------------------------

namespace {

VisionTransformerOptions vit(int64_t img, int64_t patch, int64_t dim, int64_t depth, int64_t heads) {
  return VisionTransformerOptions().img_size(img).patch_size(patch).embed_dim(dim).depth(depth).num_heads(heads);
}

// timm's names and numbers; "vit" is a fully custom ViT with ViT-B/16's numbers as defaults.
const std::vector<std::pair<std::string, VisionTransformerOptions>>& vit_presets() {
  static const std::vector<std::pair<std::string, VisionTransformerOptions>> presets = {
      {"vit", VisionTransformerOptions()},
      {"vit_tiny_patch16_224", vit(224, 16, 192, 12, 3)},
      {"vit_tiny_patch16_384", vit(384, 16, 192, 12, 3)},
      {"vit_small_patch16_224", vit(224, 16, 384, 12, 6)},
      {"vit_small_patch16_384", vit(384, 16, 384, 12, 6)},
      {"vit_base_patch16_224", vit(224, 16, 768, 12, 12)},
      {"vit_base_patch16_384", vit(384, 16, 768, 12, 12)},
      {"vit_base_patch32_224", vit(224, 32, 768, 12, 12)},
      {"vit_large_patch16_224", vit(224, 16, 1024, 24, 16)},
      {"vit_large_patch16_384", vit(384, 16, 1024, 24, 16)},
      // timm's default weights for ViT-H/14 are ImageNet-21k features without a head.
      {"vit_huge_patch14_224", vit(224, 14, 1280, 32, 16).num_classes(0)},
  };
  return presets;
}

}  // namespace

VisionTransformerOptions vit_options(const config::ModelConfig& c) {
  const auto& presets = vit_presets();
  auto it = std::find_if(presets.begin(), presets.end(), [&](const auto& p) { return p.first == c.name; });
  TORCH_CHECK(it != presets.end(), "vit_options: '", c.name, "' is not a ViT preset");
  return override_vit_options(it->second, c);
}

VisionTransformerOptions override_vit_options(VisionTransformerOptions o, const config::ModelConfig& c) {
  if (c.depths || c.window_size) {
    throw Error("model." + std::string(c.depths ? "depths" : "window_size"),
                "is a Swin setting; a ViT (" + c.name + ") has depth and no windows");
  }
  if (c.img_size) o.img_size(*c.img_size);
  if (c.patch_size) o.patch_size(*c.patch_size);
  if (c.in_chans) o.in_chans(*c.in_chans);
  if (c.num_classes) o.num_classes(*c.num_classes);
  if (c.embed_dim) o.embed_dim(*c.embed_dim);
  if (c.depth) o.depth(*c.depth);
  if (c.num_heads) {
    if (c.num_heads->size() != 1) {
      throw Error("model.num_heads",
                  "a ViT takes one number of heads, got a list of " + std::to_string(c.num_heads->size()));
    }
    o.num_heads(c.num_heads->front());
  }
  if (c.mlp_ratio) o.mlp_ratio(*c.mlp_ratio);
  if (c.qkv_bias) o.qkv_bias(*c.qkv_bias);
  if (c.class_token) o.class_token(*c.class_token);
  if (c.global_pool) o.global_pool(*c.global_pool);
  if (c.drop_rate) o.drop_rate(*c.drop_rate);
  if (c.pos_drop_rate) o.pos_drop_rate(*c.pos_drop_rate);
  if (c.proj_drop_rate) o.proj_drop_rate(*c.proj_drop_rate);
  if (c.attn_drop_rate) o.attn_drop_rate(*c.attn_drop_rate);
  if (c.drop_path_rate) o.drop_path_rate(*c.drop_path_rate);
  return o;
}

std::vector<ModelEntry> vit_entries() {
  std::vector<ModelEntry> entries;
  for (const auto& [name, options] : vit_presets()) {
    entries.push_back({name, "vit", [o = options] { return o.num_params(); },
                       [](const config::ModelConfig& c) -> ImageClassifier {
                         return std::make_shared<VisionTransformerImpl>(vit_options(c));
                       }});
  }
  return entries;
}

}  // namespace tessera::models
