// Model registry: timm / open_clip names → architecture presets, with recipe overrides.
#pragma once

#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/models/image_classifier.h"
#include "tessera/models/model_entry.h"

namespace tessera::models {

struct ModelInfo {
  std::string name;    // e.g. vit_small_patch16_224
  std::string family;  // vit, deit, swin, clip
  int64_t num_params;  // with the preset's head (1000 classes for ImageNet models)
};

// Every registered name, family by family in registration order.
std::vector<ModelInfo> list_models();

// The entry registered as `name`. Throws tessera::Error for an unknown name, suggesting
// the nearest one.
const ModelEntry& find_model(const std::string& name);

// Builds the image classifier the recipe asks for, freshly initialised. Architecture
// mistakes (heads that do not divide the width, ...) are tessera::Errors naming the model.
ImageClassifier create(const config::ModelConfig& config);

}  // namespace tessera::models
