// Model registry: timm / open_clip names → architecture presets, with recipe overrides.
#pragma once

#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/models/image_classifier.h"
#include "tessera/models/vit.h"

namespace tessera::models {

struct ModelInfo {
  std::string name;    // e.g. vit_small_patch16_224
  std::string family;  // vit, ...
  int64_t num_params;  // with the preset's head (1000 classes for ImageNet models)
};

// Every registered name, in registration order.
std::vector<ModelInfo> list_models();

// The preset for config.name with config's overrides applied. Throws tessera::Error
// for an unknown name (suggesting the nearest one).
VisionTransformerOptions vit_options(const config::ModelConfig& config);

// Builds the model the recipe asks for, freshly initialised.
ImageClassifier create(const config::ModelConfig& config);

}  // namespace tessera::models
