// Starting a model from reference weights: a timm state dict saved as safetensors (or a
// Tessera checkpoint, which has the same names), loaded strictly by name and adapted as
// timm's pretrained loading adapts it: a new classifier head when num_classes changed,
// pos_embed resampled when the patch grid changed.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tessera/models/image_classifier.h"

namespace tessera::models {

// What load_pretrained changed on the way in; each item is also logged.
struct PretrainedLoad {
  int64_t loaded = 0;  // tensors copied into the model
  bool stripped_module_prefix = false;  // the file's names all began with DDP's "module."
  // Classifier heads ("head", "head_dist") that kept the model's own initialisation
  // because the file's differ in shape (another num_classes) or are absent.
  std::vector<std::string> new_heads;
  // Classifier heads of the file left out because the model has none (num_classes 0).
  std::vector<std::string> dropped_heads;
  // pos_embed's patch grid {height, width} in the file and in the model, when resampled.
  std::optional<std::array<int64_t, 2>> pos_embed_from;
  std::optional<std::array<int64_t, 2>> pos_embed_to;
  std::map<std::string, std::string> metadata;  // the file's
};

// Copies `file` into `model`, a freshly built model (models::create). A "module." prefix
// on every name (a DDP-saved state dict) is dropped first. Strict by name:
// every parameter of the model must be in the file and the file may hold nothing else;
// otherwise a tessera::Error naming the file lists the missing and unexpected names (with
// did-you-mean for renamed keys) and the shape mismatches (state_dict_match.h). Buffers
// are copied when the file has them (timm leaves derived buffers such as index tables
// out of its state dicts). Two differences are adapted, as timm does:
//  - a classifier head (head.*, head_dist.*) of another shape — another num_classes — is
//    not loaded: the model keeps its own initialisation of it (timm drops the
//    checkpoint's classifier and loads the rest);
//  - a pos_embed for another patch grid (img_size or patch grid changed) is resampled
//    with nn::resample_abs_pos_embed, the prefix tokens kept.
PretrainedLoad load_pretrained(ImageClassifierImpl& model, const std::filesystem::path& file);

}  // namespace tessera::models
