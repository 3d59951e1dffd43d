// The timm / open_clip constructor calls matching Tessera's modules (see reference_model.h).
#include "tessera/serve/reference_model.h"

#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/models/deit.h"
#include "tessera/models/swin.h"
#include "tessera/models/vit.h"

namespace tessera::serve {

namespace {

// The constructor arguments ViT and Swin options share, under timm's names.
template <typename Options>
nlohmann::json shared_kwargs(const Options& o) {
  return {{"img_size", o.img_size()},       {"patch_size", o.patch_size()}, {"in_chans", o.in_chans()},
          {"num_classes", o.num_classes()}, {"embed_dim", o.embed_dim()},   {"mlp_ratio", o.mlp_ratio()},
          {"qkv_bias", o.qkv_bias()}};
}

nlohmann::json timm_module(const char* module, const char* cls, nlohmann::json kwargs) {
  return {{"library", "timm"}, {"module", module}, {"class", cls}, {"kwargs", std::move(kwargs)}};
}

}  // namespace

nlohmann::json reference_model(const models::ImageClassifierImpl& model) {
  if (const auto* vit = dynamic_cast<const models::VisionTransformerImpl*>(&model)) {
    const auto& o = vit->options;
    auto kwargs = shared_kwargs(o);
    kwargs.update({{"depth", o.depth()},
                   {"num_heads", o.num_heads()},
                   {"class_token", o.class_token()},
                   {"global_pool", config::to_string(o.global_pool())}});
    if (dynamic_cast<const models::VisionTransformerDistilledImpl*>(&model)) {
      return timm_module("timm.models.deit", "VisionTransformerDistilled", std::move(kwargs));
    }
    return timm_module("timm.models.vision_transformer", "VisionTransformer", std::move(kwargs));
  }
  if (const auto* swin = dynamic_cast<const models::SwinTransformerImpl*>(&model)) {
    const auto& o = swin->options;
    auto kwargs = shared_kwargs(o);
    kwargs.update({{"depths", o.depths()}, {"num_heads", o.num_heads()}, {"window_size", o.window_size()}});
    return timm_module("timm.models.swin_transformer", "SwinTransformer", std::move(kwargs));
  }
  throw Error("export", "no timm counterpart is known for this model type");
}

nlohmann::json reference_model(const models::ClipOptions& o) {
  const auto& v = o.vision();
  const auto& t = o.text();
  // open_clip gives the image tower's heads as width / head_width.
  return {{"library", "open_clip"},
          {"module", "open_clip.model"},
          {"class", "CLIP"},
          {"kwargs",
           {{"embed_dim", o.embed_dim()},
            {"quick_gelu", o.activation() == models::ClipActivation::QuickGELU},
            {"vision_cfg",
             {{"image_size", v.image_size()},
              {"patch_size", v.patch_size()},
              {"width", v.width()},
              {"layers", v.layers()},
              {"head_width", v.width() / v.heads()},
              {"mlp_ratio", v.mlp_ratio()}}},
            {"text_cfg",
             {{"context_length", t.context_length()},
              {"vocab_size", t.vocab_size()},
              {"width", t.width()},
              {"layers", t.layers()},
              {"heads", t.heads()},
              {"mlp_ratio", t.mlp_ratio()}}}}}};
}

}  // namespace tessera::serve
