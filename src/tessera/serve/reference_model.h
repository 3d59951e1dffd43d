// How the Python reference implementations build the module a bundle holds, so that
// model.safetensors loads into them by name (tessera.json's "reference" section):
//   timm:      {"library": "timm", "module": "timm.models.vision_transformer",
//               "class": "VisionTransformer", "kwargs": {...}}
//              (VisionTransformerDistilled in timm.models.deit, SwinTransformer in
//              timm.models.swin_transformer)
//   open_clip: {"library": "open_clip", "module": "open_clip.model", "class": "CLIP",
//               "kwargs": {"embed_dim", "vision_cfg": {...}, "text_cfg": {...}, "quick_gelu"}}
// The kwargs are the architecture only (dropout and stochastic depth, which do nothing
// in inference, are left at 0). tests/reference/timm_bundle_reference.py and
// scripts/export_onnx.py read them.
#pragma once

#include <nlohmann/json.hpp>

#include "tessera/models/clip.h"
#include "tessera/models/image_classifier.h"

namespace tessera::serve {

// For a ViT, DeiT (plain or distilled) or Swin built by models::create. Throws
// tessera::Error for another module type.
nlohmann::json reference_model(const models::ImageClassifierImpl& model);

// For a CLIP built by models::create_clip.
nlohmann::json reference_model(const models::ClipOptions& options);

}  // namespace tessera::serve
