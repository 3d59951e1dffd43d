// Model registry (see registry.h). Each entry only sets architecture numbers.
#include "tessera/models/registry.h"

#include <functional>
#include <map>

#include "tessera/core/error.h"
#include "tessera/core/suggest.h"

namespace tessera::models {

namespace {

using VitPreset = std::function<VisionTransformerOptions()>;

VisionTransformerOptions vit(int64_t img, int64_t patch, int64_t dim, int64_t depth, int64_t heads) {
  return VisionTransformerOptions().img_size(img).patch_size(patch).embed_dim(dim).depth(depth).num_heads(heads);
}

// name → preset; a std::vector keeps the order `tessera models` prints.
const std::vector<std::pair<std::string, VitPreset>>& vit_presets() {
  static const std::vector<std::pair<std::string, VitPreset>> presets = {
      {"vit", [] { return VisionTransformerOptions(); }},  // fully custom: ViT-B/16 numbers as defaults
      {"vit_tiny_patch16_224", [] { return vit(224, 16, 192, 12, 3); }},
      {"vit_tiny_patch16_384", [] { return vit(384, 16, 192, 12, 3); }},
      {"vit_small_patch16_224", [] { return vit(224, 16, 384, 12, 6); }},
      {"vit_small_patch16_384", [] { return vit(384, 16, 384, 12, 6); }},
      {"vit_base_patch16_224", [] { return vit(224, 16, 768, 12, 12); }},
      {"vit_base_patch16_384", [] { return vit(384, 16, 768, 12, 12); }},
      {"vit_base_patch32_224", [] { return vit(224, 32, 768, 12, 12); }},
      {"vit_large_patch16_224", [] { return vit(224, 16, 1024, 24, 16); }},
      {"vit_large_patch16_384", [] { return vit(384, 16, 1024, 24, 16); }},
      {"vit_huge_patch14_224", [] { return vit(224, 14, 1280, 32, 16); }},
  };
  return presets;
}

std::vector<std::string> all_names() {
  std::vector<std::string> names;
  for (const auto& [name, preset] : vit_presets()) names.push_back(name);
  return names;
}

}  // namespace

std::vector<ModelInfo> list_models() {
  std::vector<ModelInfo> infos;
  for (const auto& [name, preset] : vit_presets()) infos.push_back({name, "vit", preset().num_params()});
  return infos;
}

VisionTransformerOptions vit_options(const config::ModelConfig& c) {
  for (const auto& [name, preset] : vit_presets()) {
    if (name != c.name) continue;
    auto o = preset();
    if (c.img_size) o.img_size(*c.img_size);
    if (c.patch_size) o.patch_size(*c.patch_size);
    if (c.in_chans) o.in_chans(*c.in_chans);
    if (c.num_classes) o.num_classes(*c.num_classes);
    if (c.embed_dim) o.embed_dim(*c.embed_dim);
    if (c.depth) o.depth(*c.depth);
    if (c.num_heads) o.num_heads(*c.num_heads);
    if (c.mlp_ratio) o.mlp_ratio(*c.mlp_ratio);
    if (c.qkv_bias) o.qkv_bias(*c.qkv_bias);
    if (c.class_token) o.class_token(*c.class_token);
    if (c.global_pool) o.global_pool(*c.global_pool);
    if (c.drop_rate) o.drop_rate(*c.drop_rate);
    if (c.attn_drop_rate) o.attn_drop_rate(*c.attn_drop_rate);
    if (c.drop_path_rate) o.drop_path_rate(*c.drop_path_rate);
    return o;
  }
  std::string message = "unknown model '" + c.name + "'";
  if (auto near = core::closest_match(c.name, all_names())) message += "; did you mean '" + *near + "'?";
  throw Error("model.name", message + " (`tessera models` lists them)");
}

ImageClassifier create(const config::ModelConfig& config) {
  const auto options = vit_options(config);
  // Architecture mistakes (heads not dividing the width, ...) are the user's: report
  // them as such instead of as an internal check failure.
  try {
    return std::make_shared<VisionTransformerImpl>(options);
  } catch (const c10::Error& e) {
    throw Error("model (" + config.name + ")", e.msg());
  }
}

}  // namespace tessera::models
