// CLIP (see clip.h).
#include "tessera/models/clip.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>

#include "tessera/core/error.h"
#include "tessera/models/model_entry.h"

namespace tessera::models {

namespace {

at::Tensor l2_normalize(const at::Tensor& x) {
  return x / x.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);  // as torch.nn.functional.normalize
}

}  // namespace

int64_t ClipTextOptions::num_params(int64_t output_dim) const {
  const int64_t W = width();
  return vocab_size() * W                        // token_embedding
         + context_length() * W                  // positional_embedding
         + layers() * clip_block_params(W, mlp_ratio())
         + 2 * W                                 // ln_final
         + W * output_dim;                       // text_projection
}

int64_t ClipOptions::num_params() const {
  return vision().num_params(embed_dim()) + text().num_params(embed_dim()) + 1;  // + logit_scale
}

ClipImpl::ClipImpl(const ClipOptions& options_) : options(options_) {
  const auto& t = options.text();
  TORCH_CHECK(options.embed_dim() > 0, "CLIP: embed_dim must be positive, got ", options.embed_dim());
  TORCH_CHECK(t.context_length() > 0, "CLIP: text context_length must be positive, got ", t.context_length());
  TORCH_CHECK(t.vocab_size() > 0, "CLIP: text vocab_size must be positive, got ", t.vocab_size());
  TORCH_CHECK(t.width() > 0, "CLIP: text width must be positive, got ", t.width());
  visual = register_module("visual",
                           ClipVisionTransformer(options.vision(), options.embed_dim(), options.activation()));
  token_embedding = register_module("token_embedding", torch::nn::Embedding(t.vocab_size(), t.width()));
  positional_embedding = register_parameter("positional_embedding", at::empty({t.context_length(), t.width()}));
  transformer = register_module("transformer",
                                ClipTransformer(t.width(), t.layers(), t.heads(), t.mlp_ratio(), options.activation()));
  ln_final = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({t.width()})));
  text_projection = register_parameter("text_projection", at::empty({t.width(), options.embed_dim()}));
  logit_scale = register_parameter("logit_scale", at::full({}, options.init_logit_scale()));
  init_text_weights();
}

void ClipImpl::init_text_weights() {
  // open_clip's TextTransformer.init_parameters (GPT-2 style): small embeddings, and
  // residual-branch outputs scaled down with depth so the stream's variance stays bounded.
  at::NoGradGuard no_grad;
  const double width = static_cast<double>(transformer->width);
  const double attn_std = std::pow(width, -0.5);
  const double proj_std = attn_std * std::pow(2.0 * static_cast<double>(transformer->layers), -0.5);
  const double fc_std = std::pow(2.0 * width, -0.5);
  token_embedding->weight.normal_(0.0, 0.02);
  positional_embedding.normal_(0.0, 0.01);
  for (const auto& module : *transformer->resblocks) {
    auto* block = module->as<ResidualAttentionBlockImpl>();
    block->attn->in_proj_weight.normal_(0.0, attn_std);
    block->attn->out_proj->weight.normal_(0.0, proj_std);
    block->mlp->c_fc->weight.normal_(0.0, fc_std);
    block->mlp->c_proj->weight.normal_(0.0, proj_std);
  }
  text_projection.normal_(0.0, attn_std);
}

at::Tensor ClipImpl::encode_image(const at::Tensor& images, bool normalize) {
  auto features = visual->forward(images);
  return normalize ? l2_normalize(features) : features;
}

at::Tensor ClipImpl::encode_text(const at::Tensor& tokens, bool normalize) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.size(1) >= 1 && tokens.size(1) <= options.text().context_length(),
              "CLIP: expected token ids of shape (B, L) with L <= context_length ", options.text().context_length(),
              ", got ", tokens.sizes());
  const auto B = tokens.size(0), L = tokens.size(1);
  auto x = token_embedding->forward(tokens);                                 // (B, L, width)
  x = x + positional_embedding.slice(0, 0, L).to(x.scalar_type());
  x = ln_final->forward(transformer->forward(x, /*causal=*/true));
  // The end-of-text token has the largest id in each row; its features speak for the text.
  auto eot = tokens.argmax(-1).view({B, 1, 1}).expand({B, 1, x.size(2)});  // (B, 1, width)
  auto pooled = x.gather(1, eot).squeeze(1);                                // (B, width)
  auto features = pooled.matmul(text_projection);                           // (B, embed_dim)
  return normalize ? l2_normalize(features) : features;
}

ClipOutput ClipImpl::forward(const at::Tensor& images, const at::Tensor& tokens) {
  return {encode_image(images, /*normalize=*/true), encode_text(tokens, /*normalize=*/true), logit_scale.exp()};
}

std::vector<std::string> ClipImpl::no_weight_decay() const {
  std::vector<std::string> names;
  for (const auto& item : named_parameters(/*recurse=*/true)) {
    const auto& name = item.key();
    const bool named = name.find("ln") != std::string::npos || name.find("bn") != std::string::npos ||
                       name.find("bias") != std::string::npos || name.find("logit_scale") != std::string::npos;
    if (item.value().dim() < 2 || named) names.push_back(name);
  }
  return names;
}

// ---- registry ------------------------------------------------------------------

namespace {

ClipOptions clip_preset(int64_t embed_dim, int64_t patch, int64_t vision_width, int64_t vision_layers,
                        int64_t text_width, int64_t text_heads, ClipActivation activation) {
  return ClipOptions()
      .embed_dim(embed_dim)
      .vision(ClipVisionOptions()
                  .image_size(224)
                  .patch_size(patch)
                  .width(vision_width)
                  .layers(vision_layers)
                  .heads(vision_width / 64))
      .text(ClipTextOptions().width(text_width).heads(text_heads).layers(12))
      .activation(activation);
}

// open_clip's names and numbers (open_clip/model_configs/*.json); "clip" is a fully custom
// CLIP with ViT-B-32's numbers as defaults.
const std::vector<std::pair<std::string, ClipOptions>>& clip_presets() {
  constexpr auto gelu = ClipActivation::GELU, quick = ClipActivation::QuickGELU;
  static const std::vector<std::pair<std::string, ClipOptions>> presets = {
      {"clip", clip_preset(512, 32, 768, 12, 512, 8, gelu)},
      {"ViT-B-32", clip_preset(512, 32, 768, 12, 512, 8, gelu)},
      {"ViT-B-32-quickgelu", clip_preset(512, 32, 768, 12, 512, 8, quick)},
      {"ViT-B-16", clip_preset(512, 16, 768, 12, 512, 8, gelu)},
      {"ViT-B-16-quickgelu", clip_preset(512, 16, 768, 12, 512, 8, quick)},
      {"ViT-L-14", clip_preset(768, 14, 1024, 24, 768, 12, gelu)},
      {"ViT-L-14-quickgelu", clip_preset(768, 14, 1024, 24, 768, 12, quick)},
  };
  return presets;
}

// Where a CLIP recipe says what a generic model key would, for the error message.
std::string clip_alternative(const std::string& key) {
  if (key == "img_size") return "; CLIP's is model.vision.image_size";
  if (key == "patch_size") return "; CLIP's is model.vision.patch_size";
  if (key == "depth") return "; CLIP's are model.vision.layers and model.text.layers";
  if (key == "num_heads") return "; CLIP's are model.vision.heads and model.text.heads";
  if (key == "mlp_ratio") return "; CLIP's are model.vision.mlp_ratio and model.text.mlp_ratio";
  if (key == "num_classes") return ": CLIP has no classifier head (its zero-shot classes are texts)";
  return "";
}

}  // namespace

ClipOptions clip_options(const config::ModelConfig& c) {
  const auto& presets = clip_presets();
  auto it = std::find_if(presets.begin(), presets.end(), [&](const auto& p) { return p.first == c.name; });
  TORCH_CHECK(it != presets.end(), "clip_options: '", c.name, "' is not a CLIP preset");
  const std::pair<const char*, bool> unsupported[] = {
      {"img_size", c.img_size.has_value()},         {"patch_size", c.patch_size.has_value()},
      {"num_classes", c.num_classes.has_value()},   {"depth", c.depth.has_value()},
      {"depths", c.depths.has_value()},             {"num_heads", c.num_heads.has_value()},
      {"window_size", c.window_size.has_value()},   {"mlp_ratio", c.mlp_ratio.has_value()},
      {"qkv_bias", c.qkv_bias.has_value()},         {"class_token", c.class_token.has_value()},
      {"global_pool", c.global_pool.has_value()},   {"drop_rate", c.drop_rate.has_value()},
      {"pos_drop_rate", c.pos_drop_rate.has_value()}, {"proj_drop_rate", c.proj_drop_rate.has_value()},
      {"attn_drop_rate", c.attn_drop_rate.has_value()}, {"drop_path_rate", c.drop_path_rate.has_value()},
  };
  for (const auto& [key, set] : unsupported) {
    if (set) {
      throw Error("model." + std::string(key),
                  "is not a setting of CLIP (" + c.name + ")" + clip_alternative(key));
    }
  }
  auto o = it->second;
  if (c.embed_dim) o.embed_dim(*c.embed_dim);
  auto& v = o.vision();
  if (c.in_chans) v.in_chans(*c.in_chans);
  if (c.vision.image_size) v.image_size(*c.vision.image_size);
  if (c.vision.patch_size) v.patch_size(*c.vision.patch_size);
  if (c.vision.layers) v.layers(*c.vision.layers);
  if (c.vision.mlp_ratio) v.mlp_ratio(*c.vision.mlp_ratio);
  if (c.vision.width) {
    v.width(*c.vision.width);
    // open_clip derives the image tower's heads from a head width of 64.
    if (!c.vision.heads) {
      if (*c.vision.width < 64) {
        throw Error("model.vision.heads", "vision.width " + std::to_string(*c.vision.width) +
                                              " is below open_clip's head width of 64; give the number of heads");
      }
      v.heads(*c.vision.width / 64);
    }
  }
  if (c.vision.heads) v.heads(*c.vision.heads);
  auto& t = o.text();
  if (c.text.context_length) t.context_length(*c.text.context_length);
  if (c.text.vocab_size) t.vocab_size(*c.text.vocab_size);
  if (c.text.width) t.width(*c.text.width);
  if (c.text.layers) t.layers(*c.text.layers);
  if (c.text.heads) t.heads(*c.text.heads);
  if (c.text.mlp_ratio) t.mlp_ratio(*c.text.mlp_ratio);
  return o;
}

Clip create_clip(const config::ModelConfig& config) {
  const auto options = clip_options(config);
  try {
    return Clip(options);
  } catch (const c10::Error& e) {
    throw Error("model (" + config.name + ")", e.msg());
  }
}

std::vector<ModelEntry> clip_entries() {
  std::vector<ModelEntry> entries;
  // No create_classifier: CLIP is not an image classifier (models::create says so);
  // create_clip builds it.
  for (const auto& [name, options] : clip_presets()) {
    entries.push_back({name, "clip", [o = options] { return o.num_params(); }, {}});
  }
  return entries;
}

}  // namespace tessera::models
