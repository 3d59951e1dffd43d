// Model weights on disk: safetensors under the model's own (timm) parameter names,
// written atomically, loaded strictly by name.
#pragma once

#include <torch/nn/module.h>

#include <filesystem>
#include <map>
#include <string>

namespace tessera::train {

// Every parameter and buffer of `model`, by its dotted name, plus `metadata`.
void save_weights(torch::nn::Module& model, const std::filesystem::path& path,
                  const std::map<std::string, std::string>& metadata = {});

// Copies the tensors of `path` into `model`. Strict: missing or unexpected names and
// shape mismatches are a tessera::Error listing them. Returns the file's metadata.
std::map<std::string, std::string> load_weights(torch::nn::Module& model, const std::filesystem::path& path);

}  // namespace tessera::train
