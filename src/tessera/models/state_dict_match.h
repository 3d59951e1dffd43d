// Matching a weights file's tensors to a model's by name: what every weight loader
// (timm classifiers, open_clip CLIP) checks and says when they do not fit.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace tessera::models {

// Drops the "module." that DistributedDataParallel puts before every name of the model
// it wraps, when every name has it (open_clip's loader does the same). Returns whether
// it did.
bool strip_ddp_prefix(std::map<std::string, at::Tensor>& tensors);

// Which reference layout a set of names follows, for messages: "open_clip CLIP",
// "timm Swin", "timm ViT/DeiT", or nullopt when none is recognised.
std::optional<std::string> weights_family(const std::map<std::string, at::Tensor>& tensors);

// The model's side of the match: every tensor by name, and the names the file must give.
struct ModelState {
  std::map<std::string, at::Tensor> tensors;  // parameters and buffers
  std::set<std::string> required;             // parameters: all must come from the file
};

// The model's parameters (required) and buffers (optional: reference state dicts often
// leave derived buffers out), by their dotted names.
ModelState model_state(torch::nn::Module& model);

// Throws a tessera::Error naming `file` unless every required name is in `given`, every
// name of `given` is in the model and the shapes agree. The message lists the missing and
// unexpected names (a renamed key gets "did you mean ...?") and the shape mismatches, and
// says so first when the file follows another family's layout than the model.
void check_weights_fit(const std::filesystem::path& file, const ModelState& model,
                       const std::map<std::string, at::Tensor>& given);

// Copies `given` into the model's tensors (already checked to fit), converting device
// and dtype; returns how many were copied.
int64_t copy_weights(ModelState& model, const std::map<std::string, at::Tensor>& given);

}  // namespace tessera::models
