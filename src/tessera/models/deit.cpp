// DeiT presets and the distilled ViT (see deit.h).
#include "tessera/models/deit.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>

#include "tessera/models/model_entry.h"
#include "tessera/nn/init.h"

namespace tessera::models {

VisionTransformerDistilledImpl::VisionTransformerDistilledImpl(const VisionTransformerOptions& o)
    : VisionTransformerImpl(o, /*extra_prefix_tokens=*/1) {
  TORCH_CHECK(o.class_token() && o.global_pool() == config::GlobalPool::Token,
              "VisionTransformerDistilled: the heads read the class and distillation tokens, so it needs "
              "class_token: true and global_pool: token (got class_token: ", o.class_token() ? "true" : "false",
              ", global_pool: ", o.global_pool() == config::GlobalPool::Token ? "token" : "avg", ")");
  const int64_t D = o.embed_dim();
  dist_token = register_parameter("dist_token", at::zeros({1, 1, D}));
  if (o.num_classes() > 0) head_dist = register_module("head_dist", torch::nn::Linear(D, o.num_classes()));
  // timm: trunc-normal(.02) for the distillation token; head_dist like every other Linear.
  at::NoGradGuard no_grad;
  nn::trunc_normal_(dist_token, 0.0, 0.02);
  if (head_dist) {
    nn::trunc_normal_(head_dist->weight, 0.0, 0.02);
    head_dist->bias.zero_();
  }
}

at::Tensor VisionTransformerDistilledImpl::forward_features(const at::Tensor& images) {
  auto x = patch_embed->forward(images);  // (B, N, D)
  const auto B = x.size(0);
  x = at::cat({cls_token.expand({B, -1, -1}), dist_token.expand({B, -1, -1}), x}, 1);  // (B, 2 + N, D)
  return encode_tokens(x);
}

std::pair<at::Tensor, at::Tensor> VisionTransformerDistilledImpl::heads_of(const at::Tensor& features) {
  // One dropout module for both tokens, as in timm.
  auto x = head_drop->forward(features.select(1, 0));       // (B, D)
  auto x_dist = head_drop->forward(features.select(1, 1));  // (B, D)
  if (!head) return {x, x_dist};  // num_classes = 0: the two pooled features
  return {head->forward(x), head_dist->forward(x_dist)};
}

at::Tensor VisionTransformerDistilledImpl::forward_head(const at::Tensor& features) {
  auto [cls, dist] = heads_of(features);
  return (cls + dist) / 2;
}

std::pair<at::Tensor, at::Tensor> VisionTransformerDistilledImpl::forward_heads(const at::Tensor& images) {
  return heads_of(forward_features(images));
}

int64_t VisionTransformerDistilledImpl::layer_id(const std::string& name) const {
  // The distillation token is an embedding like cls_token (timm's group_matcher stem).
  return name == "dist_token" ? 0 : VisionTransformerImpl::layer_id(name);
}

int64_t distilled_num_params(const VisionTransformerOptions& o) {
  const int64_t D = o.embed_dim(), C = o.num_classes();
  // ViT + dist_token + its pos_embed row + head_dist
  return o.num_params() + D + D + (C > 0 ? D * C + C : 0);
}

// ---- registry ------------------------------------------------------------------

namespace {

struct DeitPreset {
  std::string name;
  VisionTransformerOptions options;
  bool distilled;
};

VisionTransformerOptions deit(int64_t img, int64_t dim, int64_t heads) {
  return VisionTransformerOptions().img_size(img).patch_size(16).embed_dim(dim).depth(12).num_heads(heads);
}

// timm's names and numbers (timm/models/deit.py); the plain ones are ViTs.
const std::vector<DeitPreset>& deit_presets() {
  static const std::vector<DeitPreset> presets = {
      {"deit_tiny_patch16_224", deit(224, 192, 3), false},
      {"deit_small_patch16_224", deit(224, 384, 6), false},
      {"deit_base_patch16_224", deit(224, 768, 12), false},
      {"deit_base_patch16_384", deit(384, 768, 12), false},
      {"deit_tiny_distilled_patch16_224", deit(224, 192, 3), true},
      {"deit_small_distilled_patch16_224", deit(224, 384, 6), true},
      {"deit_base_distilled_patch16_224", deit(224, 768, 12), true},
      {"deit_base_distilled_patch16_384", deit(384, 768, 12), true},
  };
  return presets;
}

const DeitPreset& find_preset(const std::string& name) {
  const auto& presets = deit_presets();
  auto it = std::find_if(presets.begin(), presets.end(), [&](const auto& p) { return p.name == name; });
  TORCH_CHECK(it != presets.end(), "deit_options: '", name, "' is not a DeiT preset");
  return *it;
}

}  // namespace

VisionTransformerOptions deit_options(const config::ModelConfig& c) {
  return override_vit_options(find_preset(c.name).options, c);
}

std::vector<ModelEntry> deit_entries() {
  std::vector<ModelEntry> entries;
  for (const auto& p : deit_presets()) {
    if (p.distilled) {
      entries.push_back({p.name, "deit", [o = p.options] { return distilled_num_params(o); },
                         [](const config::ModelConfig& c) -> ImageClassifier {
                           return std::make_shared<VisionTransformerDistilledImpl>(deit_options(c));
                         }});
    } else {
      entries.push_back({p.name, "deit", [o = p.options] { return o.num_params(); },
                         [](const config::ModelConfig& c) -> ImageClassifier {
                           return std::make_shared<VisionTransformerImpl>(deit_options(c));
                         }});
    }
  }
  return entries;
}

}  // namespace tessera::models
