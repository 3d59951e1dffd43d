// Swin Transformer (see swin.h).
#include "tessera/models/swin.h"

#include <ATen/ATen.h>
#include <algorithm>
#include <c10/util/Exception.h>
#include <numeric>

#include "tessera/core/error.h"
#include "tessera/models/model_entry.h"
#include "tessera/nn/init.h"

namespace tessera::models {

namespace {
// timm's Swin uses nn.LayerNorm with its default eps (1e-5), unlike its ViT (1e-6).
torch::nn::LayerNorm layer_norm(int64_t dim) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})); }
}  // namespace

// ---- options -------------------------------------------------------------------

int64_t SwinTransformerOptions::total_depth() const {
  return std::accumulate(depths().begin(), depths().end(), int64_t{0});
}

int64_t SwinTransformerOptions::stage_resolution(int64_t stage) const {
  int64_t r = img_size() / patch_size();
  for (int64_t i = 1; i <= stage; ++i) r = (r + 1) / 2;
  return r;
}

int64_t SwinTransformerOptions::stage_window(int64_t stage) const {
  return std::min(window_size(), stage_resolution(stage));
}

int64_t SwinTransformerOptions::stage_shift(int64_t stage) const {
  return stage_resolution(stage) <= window_size() ? 0 : window_size() / 2;
}

int64_t SwinTransformerOptions::num_params() const {
  const int64_t D = embed_dim();
  int64_t n = in_chans() * patch_size() * patch_size() * D + D + 2 * D;  // patch_embed.proj, patch_embed.norm
  for (int64_t i = 0; i < num_stages(); ++i) {
    const int64_t dim = stage_dim(i), hidden = static_cast<int64_t>(dim * mlp_ratio());
    if (i > 0) n += 2 * 4 * stage_dim(i - 1) + 4 * stage_dim(i - 1) * dim;  // downsample.norm, .reduction
    const int64_t span = 2 * stage_window(i) - 1;
    const int64_t block = 2 * dim                                        // norm1
                          + span * span * num_heads()[i]                 // attn.relative_position_bias_table
                          + dim * 3 * dim + (qkv_bias() ? 3 * dim : 0)   // attn.qkv
                          + dim * dim + dim                              // attn.proj
                          + 2 * dim                                      // norm2
                          + dim * hidden + hidden + hidden * dim + dim;  // mlp.fc1, mlp.fc2
    n += depths()[i] * block;
  }
  n += 2 * num_features();  // norm
  if (num_classes() > 0) n += num_features() * num_classes() + num_classes();
  return n;
}

// ---- block ---------------------------------------------------------------------

SwinTransformerBlockImpl::SwinTransformerBlockImpl(const SwinTransformerBlockOptions& options_) : options(options_) {
  const auto& o = options;
  TORCH_CHECK(o.resolution() > 0 && o.window_size() > 0 && o.window_size() <= o.resolution(),
              "SwinTransformerBlock: need 0 < window_size (", o.window_size(), ") <= resolution (", o.resolution(),
              ")");
  TORCH_CHECK(o.shift_size() >= 0 && o.shift_size() < o.window_size(), "SwinTransformerBlock: shift_size (",
              o.shift_size(), ") must be in [0, window_size ", o.window_size(), ")");
  TORCH_CHECK(o.mlp_ratio() > 0, "SwinTransformerBlock: mlp_ratio must be positive, got ", o.mlp_ratio());
  norm1 = register_module("norm1", layer_norm(o.dim()));
  attn = register_module("attn", nn::WindowAttention(nn::WindowAttentionOptions(o.dim(), o.num_heads(), o.window_size())
                                                         .qkv_bias(o.qkv_bias())
                                                         .attn_drop(o.attn_drop())
                                                         .proj_drop(o.proj_drop())));
  drop_path1 = register_module("drop_path1", nn::DropPath(o.drop_path()));
  norm2 = register_module("norm2", layer_norm(o.dim()));
  mlp = register_module("mlp", nn::Mlp(nn::MlpOptions(o.dim(), static_cast<int64_t>(o.dim() * o.mlp_ratio()))
                                           .drop(o.proj_drop())));
  drop_path2 = register_module("drop_path2", nn::DropPath(o.drop_path()));
  if (o.shift_size() > 0) {
    // The mask is for the padded map, as timm pads after the roll.
    const int64_t padded = (o.resolution() + o.window_size() - 1) / o.window_size() * o.window_size();
    attn_mask = nn::shifted_window_mask(padded, padded, o.window_size(), o.shift_size());
  }
}

at::Tensor SwinTransformerBlockImpl::window_attention(const at::Tensor& x) {
  const auto H = x.size(1), W = x.size(2), C = x.size(3);
  const auto ws = options.window_size(), s = options.shift_size();
  auto shifted = s > 0 ? at::roll(x, {-s, -s}, {1, 2}) : x;
  // A map that is no multiple of the window is zero-padded at the bottom / right, after
  // the roll (timm's order); the padding tokens take part in attention as timm's do.
  const auto pad_h = (ws - H % ws) % ws, pad_w = (ws - W % ws) % ws;
  if (pad_h > 0 || pad_w > 0) shifted = at::constant_pad_nd(shifted, {0, 0, 0, pad_w, 0, pad_h});
  const auto Hp = H + pad_h, Wp = W + pad_w;

  auto windows = nn::window_partition(shifted, ws).view({-1, ws * ws, C});  // (B * nW, N, C)
  auto out = attn->forward(windows, attn_mask.defined() ? std::optional<at::Tensor>(attn_mask) : std::nullopt);
  out = nn::window_reverse(out.view({-1, ws, ws, C}), ws, Hp, Wp);  // (B, Hp, Wp, C)
  if (pad_h > 0 || pad_w > 0) out = out.slice(1, 0, H).slice(2, 0, W);  // (B, H, W, C)
  return s > 0 ? at::roll(out, {s, s}, {1, 2}) : out;
}

at::Tensor SwinTransformerBlockImpl::forward(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.resolution() && x.size(2) == options.resolution() &&
                  x.size(3) == options.dim(),
              "SwinTransformerBlock: expected (B, ", options.resolution(), ", ", options.resolution(), ", ",
              options.dim(), "), got ", x.sizes());
  auto h = x + drop_path1->forward(window_attention(norm1->forward(x)));
  return h + drop_path2->forward(mlp->forward(norm2->forward(h)));
}

void SwinTransformerBlockImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(device, dtype, non_blocking);
  if (attn_mask.defined()) attn_mask = attn_mask.to(device);  // stays float32: cast at use
}

void SwinTransformerBlockImpl::to(torch::Device device, bool non_blocking) {
  torch::nn::Module::to(device, non_blocking);
  if (attn_mask.defined()) attn_mask = attn_mask.to(device);
}

// ---- patch merging, stage, head ------------------------------------------------

PatchMergingImpl::PatchMergingImpl(int64_t dim, int64_t out_dim) {
  TORCH_CHECK(dim > 0 && out_dim > 0, "PatchMerging: dims must be positive, got ", dim, " -> ", out_dim);
  norm = register_module("norm", layer_norm(4 * dim));
  reduction = register_module("reduction", torch::nn::Linear(torch::nn::LinearOptions(4 * dim, out_dim).bias(false)));
}

at::Tensor PatchMergingImpl::forward(const at::Tensor& x) {
  const auto B = x.size(0), C = x.size(3);
  const auto pad_h = x.size(1) % 2, pad_w = x.size(2) % 2;
  auto h = (pad_h || pad_w) ? at::constant_pad_nd(x, {0, 0, 0, pad_w, 0, pad_h}) : x;
  const auto H = h.size(1), W = h.size(2);
  // Channel order of the 4C: (0,0), (1,0), (0,1), (1,1) as (row, column) in the 2×2
  // group, the order of the original code's concatenation and so of its checkpoints.
  h = h.reshape({B, H / 2, 2, W / 2, 2, C})  // (B, H/2, dy, W/2, dx, C)
          .permute({0, 1, 3, 4, 2, 5})       // (B, H/2, W/2, dx, dy, C)
          .flatten(3);                       // (B, H/2, W/2, 4C)
  return reduction->forward(norm->forward(h));
}

SwinTransformerStageImpl::SwinTransformerStageImpl(const SwinTransformerOptions& o, int64_t stage,
                                                   const std::vector<double>& drop_path) {
  const int64_t depth = o.depths()[stage];
  TORCH_CHECK(static_cast<int64_t>(drop_path.size()) == depth, "SwinTransformerStage: ", drop_path.size(),
              " drop path rates for ", depth, " blocks");
  if (stage > 0) downsample = register_module("downsample", PatchMerging(o.stage_dim(stage - 1), o.stage_dim(stage)));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t j = 0; j < depth; ++j) {
    blocks->push_back(SwinTransformerBlock(
        SwinTransformerBlockOptions(o.stage_dim(stage), o.num_heads()[stage], o.stage_resolution(stage),
                                    o.stage_window(stage))
            .shift_size(j % 2 == 1 ? o.stage_shift(stage) : 0)  // every second block shifts
            .mlp_ratio(o.mlp_ratio())
            .qkv_bias(o.qkv_bias())
            .proj_drop(o.proj_drop_rate())
            .attn_drop(o.attn_drop_rate())
            .drop_path(drop_path[j])));
  }
}

at::Tensor SwinTransformerStageImpl::forward(const at::Tensor& x) {
  auto h = downsample ? downsample->forward(x) : x;
  for (const auto& block : *blocks) h = block->as<SwinTransformerBlockImpl>()->forward(h);
  return h;
}

SwinHeadImpl::SwinHeadImpl(int64_t in_features, int64_t num_classes, double drop_rate) {
  TORCH_CHECK(num_classes >= 0, "SwinHead: num_classes must be >= 0, got ", num_classes);
  drop = register_module("drop", torch::nn::Dropout(drop_rate));
  if (num_classes > 0) fc = register_module("fc", torch::nn::Linear(in_features, num_classes));
}

at::Tensor SwinHeadImpl::forward(const at::Tensor& tokens) {
  auto pooled = drop->forward(tokens.mean(1));  // (B, C)
  return fc ? fc->forward(pooled) : pooled;
}

// ---- model ---------------------------------------------------------------------

SwinTransformerImpl::SwinTransformerImpl(const SwinTransformerOptions& options_) : options(options_) {
  const auto& o = options;
  TORCH_CHECK(o.num_stages() >= 1, "SwinTransformer: depths must name at least one stage");
  TORCH_CHECK(o.num_heads().size() == o.depths().size(), "SwinTransformer: num_heads has ", o.num_heads().size(),
              " entries but depths has ", o.depths().size(), " (one per stage)");
  TORCH_CHECK(o.embed_dim() > 0, "SwinTransformer: embed_dim must be positive, got ", o.embed_dim());
  TORCH_CHECK(o.window_size() > 0, "SwinTransformer: window_size must be positive, got ", o.window_size());
  TORCH_CHECK(o.num_classes() >= 0, "SwinTransformer: num_classes must be >= 0, got ", o.num_classes());
  TORCH_CHECK(o.mlp_ratio() > 0, "SwinTransformer: mlp_ratio must be positive, got ", o.mlp_ratio());
  for (int64_t i = 0; i < o.num_stages(); ++i) {
    TORCH_CHECK(o.depths()[i] >= 1, "SwinTransformer: depths[", i, "] must be >= 1, got ", o.depths()[i]);
    TORCH_CHECK(o.num_heads()[i] >= 1 && o.stage_dim(i) % o.num_heads()[i] == 0, "SwinTransformer: stage ", i,
                " width ", o.stage_dim(i), " (embed_dim ", o.embed_dim(), " x 2^", i,
                ") must be divisible by num_heads[", i, "] = ", o.num_heads()[i]);
  }
  for (double rate : {o.drop_rate(), o.proj_drop_rate(), o.attn_drop_rate(), o.drop_path_rate()}) {
    TORCH_CHECK(rate >= 0 && rate < 1, "SwinTransformer: dropout / drop path rates must be in [0, 1), got ", rate);
  }

  const int64_t D = o.embed_dim();
  patch_embed = register_module(
      "patch_embed", nn::PatchEmbed(nn::PatchEmbedOptions(o.img_size(), o.patch_size(), o.in_chans(), D).flatten(false)));
  // timm's PatchEmbed owns the norm after the projection; nn::PatchEmbed has none, so the
  // norm is registered under it to keep the name patch_embed.norm.
  patch_norm = patch_embed->register_module("norm", layer_norm(D));

  // Stochastic depth rises linearly over all blocks of all stages (timm: linspace(0, rate, total)).
  const int64_t total = o.total_depth();
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0, first = 0; i < o.num_stages(); first += o.depths()[i], ++i) {
    std::vector<double> dpr;
    for (int64_t j = 0; j < o.depths()[i]; ++j) {
      dpr.push_back(total > 1 ? o.drop_path_rate() * static_cast<double>(first + j) / static_cast<double>(total - 1)
                              : 0.0);
    }
    layers->push_back(SwinTransformerStage(o, i, dpr));
  }
  norm = register_module("norm", layer_norm(o.num_features()));
  head = register_module("head", SwinHead(o.num_features(), o.num_classes(), o.drop_rate()));
  init_weights();
}

void SwinTransformerImpl::init_weights() {
  // timm's default scheme: trunc-normal(.02) Linear weights and zero biases; the bias
  // tables are trunc-normal(.02) from WindowAttention; norms and the patch conv keep
  // their defaults.
  at::NoGradGuard no_grad;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      nn::trunc_normal_(linear->weight, 0.0, 0.02);
      if (linear->bias.defined()) linear->bias.zero_();
    }
  }
}

at::Tensor SwinTransformerImpl::forward_features(const at::Tensor& images) {
  auto x = patch_norm->forward(patch_embed->forward(images));  // (B, H, W, C)
  for (const auto& layer : *layers) x = layer->as<SwinTransformerStageImpl>()->forward(x);
  return norm->forward(x).flatten(1, 2);  // (B, H * W, C)
}

at::Tensor SwinTransformerImpl::forward_head(const at::Tensor& features) { return head->forward(features); }

at::Tensor SwinTransformerImpl::forward(const at::Tensor& images) { return forward_head(forward_features(images)); }

std::vector<std::string> SwinTransformerImpl::no_weight_decay() const {
  std::vector<std::string> names;
  for (const auto& p : named_parameters(/*recurse=*/true)) {
    if (p.key().find("relative_position_bias_table") != std::string::npos) names.push_back(p.key());
  }
  return names;
}

int64_t SwinTransformerImpl::layer_id(const std::string& name) const {
  if (name.rfind("patch_embed.", 0) == 0) return 0;
  if (name.rfind("layers.", 0) == 0) {
    const auto dot = name.find('.', 7);
    const int64_t stage = std::stoll(name.substr(7, dot - 7));
    int64_t id = 1;
    for (int64_t i = 0; i < stage; ++i) id += options.depths()[i];
    const std::string rest = name.substr(dot + 1);
    if (rest.rfind("blocks.", 0) == 0) id += std::stoll(rest.substr(7, rest.find('.', 7) - 7));
    return id;  // downsample: with the stage's first block (timm's grouping)
  }
  if (name.rfind("norm.", 0) == 0) return options.total_depth();  // with the last block, as timm
  return num_layers() - 1;  // head
}

// ---- registry ------------------------------------------------------------------

namespace {

SwinTransformerOptions swin(int64_t img, int64_t window, int64_t dim, std::vector<int64_t> depths,
                            std::vector<int64_t> heads) {
  return SwinTransformerOptions()
      .img_size(img)
      .patch_size(4)
      .window_size(window)
      .embed_dim(dim)
      .depths(std::move(depths))
      .num_heads(std::move(heads));
}

// timm's names and numbers; "swin" is a fully custom Swin with Swin-T's numbers as defaults.
const std::vector<std::pair<std::string, SwinTransformerOptions>>& swin_presets() {
  static const std::vector<std::pair<std::string, SwinTransformerOptions>> presets = {
      {"swin", SwinTransformerOptions()},
      {"swin_tiny_patch4_window7_224", swin(224, 7, 96, {2, 2, 6, 2}, {3, 6, 12, 24})},
      {"swin_small_patch4_window7_224", swin(224, 7, 96, {2, 2, 18, 2}, {3, 6, 12, 24})},
      {"swin_base_patch4_window7_224", swin(224, 7, 128, {2, 2, 18, 2}, {4, 8, 16, 32})},
      {"swin_base_patch4_window12_384", swin(384, 12, 128, {2, 2, 18, 2}, {4, 8, 16, 32})},
  };
  return presets;
}

}  // namespace

SwinTransformerOptions swin_options(const config::ModelConfig& c) {
  const auto& presets = swin_presets();
  auto it = std::find_if(presets.begin(), presets.end(), [&](const auto& p) { return p.first == c.name; });
  TORCH_CHECK(it != presets.end(), "swin_options: '", c.name, "' is not a Swin preset");
  if (c.depth) throw Error("model.depth", "is a ViT setting; a Swin (" + c.name + ") takes depths, one per stage");
  if (c.class_token) throw Error("model.class_token", "is a ViT setting; a Swin (" + c.name + ") has no class token");
  if (c.global_pool && *c.global_pool != config::GlobalPool::Avg) {
    throw Error("model.global_pool", "a Swin (" + c.name + ") has no class token to pool; only 'avg' applies");
  }
  auto o = it->second;
  if (c.img_size) o.img_size(*c.img_size);
  if (c.patch_size) o.patch_size(*c.patch_size);
  if (c.in_chans) o.in_chans(*c.in_chans);
  if (c.num_classes) o.num_classes(*c.num_classes);
  if (c.embed_dim) o.embed_dim(*c.embed_dim);
  if (c.depths) o.depths(*c.depths);
  if (c.num_heads) o.num_heads(*c.num_heads);
  if (o.depths().empty()) throw Error("model.depths", "needs at least one stage");
  if (o.num_heads().size() != o.depths().size()) {
    throw Error(c.num_heads ? "model.num_heads" : "model.depths",
                "num_heads needs one entry per stage: depths has " + std::to_string(o.depths().size()) +
                    ", num_heads " + std::to_string(o.num_heads().size()));
  }
  if (c.window_size) o.window_size(*c.window_size);
  if (c.mlp_ratio) o.mlp_ratio(*c.mlp_ratio);
  if (c.qkv_bias) o.qkv_bias(*c.qkv_bias);
  if (c.pos_drop_rate) {
    throw Error("model.pos_drop_rate", "a Swin (" + c.name + ") has no position embedding; use proj_drop_rate");
  }
  if (c.drop_rate) o.drop_rate(*c.drop_rate);
  if (c.proj_drop_rate) o.proj_drop_rate(*c.proj_drop_rate);
  if (c.attn_drop_rate) o.attn_drop_rate(*c.attn_drop_rate);
  if (c.drop_path_rate) o.drop_path_rate(*c.drop_path_rate);
  return o;
}

std::vector<ModelEntry> swin_entries() {
  std::vector<ModelEntry> entries;
  for (const auto& [name, options] : swin_presets()) {
    entries.push_back({name, "swin", [o = options] { return o.num_params(); },
                       [](const config::ModelConfig& c) -> ImageClassifier {
                         return std::make_shared<SwinTransformerImpl>(swin_options(c));
                       }});
  }
  return entries;
}

}  // namespace tessera::models
