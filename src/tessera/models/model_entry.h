// One registered model name: its family, its size, and how to build it from a recipe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/models/image_classifier.h"

namespace tessera::models {

struct ModelEntry {
  std::string name;    // timm / open_clip name, e.g. vit_small_patch16_224
  std::string family;  // vit, deit, swin, clip
  // Parameter count of the preset as registered (ImageNet head where it has one).
  std::function<int64_t()> num_params;
  // Builds the preset with the recipe's overrides; empty for models that are not
  // image classifiers (CLIP).
  std::function<ImageClassifier(const config::ModelConfig&)> create_classifier;
};

// Each family registers its names in its own .cpp (vit.cpp, ...).
std::vector<ModelEntry> vit_entries();
std::vector<ModelEntry> deit_entries();
std::vector<ModelEntry> swin_entries();
std::vector<ModelEntry> clip_entries();

}  // namespace tessera::models
