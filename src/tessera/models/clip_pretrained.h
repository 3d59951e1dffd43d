// Starting a CLIP from an open_clip state dict saved as safetensors (or a Tessera CLIP
// checkpoint, which has the same names), loaded strictly by name and adapted as
// open_clip's load_checkpoint adapts it: a DDP "module." prefix dropped, the image
// position embedding resized to another patch grid, the text one to another context length.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "tessera/models/clip.h"

namespace tessera::models {

// What load_clip_pretrained changed on the way in; each item is also logged.
struct ClipPretrainedLoad {
  int64_t loaded = 0;                   // tensors copied into the model
  bool stripped_module_prefix = false;  // the file's names all began with DDP's "module."
  // visual.positional_embedding's patch grid {height, width} in the file and the model, when resized.
  std::optional<std::array<int64_t, 2>> image_grid_from;
  std::optional<std::array<int64_t, 2>> image_grid_to;
  // positional_embedding's rows (the text context length) in the file and the model, when resized.
  std::optional<int64_t> context_from;
  std::optional<int64_t> context_to;
  std::map<std::string, std::string> metadata;  // the file's
};

// Copies `file` into `model`, a freshly built CLIP (create_clip). Strict by name: every
// parameter must be in the file and the file may hold nothing else, or a tessera::Error
// naming the file lists the missing and unexpected names (did-you-mean for renamed keys,
// and a word when the file is another family's, e.g. a timm ViT) and shape mismatches.
// Adapted as open_clip does when loading a checkpoint into a model of another size:
//  - visual.positional_embedding for another image_size (same patch_size): the class
//    token row kept, the square patch grid resampled bicubic, antialiased, align_corners
//    false (open_clip's resize_pos_embed);
//  - positional_embedding for another text context_length: interpolated linearly along
//    the positions, no antialiasing, align_corners false (open_clip's resize_text_pos_embed);
//  - a logit_scale saved with shape (1) instead of () is reshaped.
ClipPretrainedLoad load_clip_pretrained(ClipImpl& model, const std::filesystem::path& file);

}  // namespace tessera::models
