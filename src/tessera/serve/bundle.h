// A serving bundle: one folder holding model.safetensors (the weights under timm's /
// open_clip's names) and tessera.json (what the weights are and how images reach them).
//
// tessera.json, format_version 1:
//   format, format_version       "tessera-bundle", 1
//   family                       vit | deit | swin | clip
//   model                        the resolved model section of the recipe (its keys)
//   reference                    how timm / open_clip build the same module (reference_model.h)
//   classes                      class names in output order (CLIP: default zero-shot labels, may be empty)
//   preprocessing                channels, image_size [H, W], crop_pct, interpolation, mean, std:
//                                the run's evaluation transform
//   precision                    the compute precision to serve with on CUDA: fp32 | bf16 | fp16
//   weights                      file, dtype (float32 | float16 | bfloat16), bytes, sha256, ema
//   source                       run, checkpoint, step (-1 when unknown)
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/transform_spec.h"

namespace tessera::serve {

inline constexpr const char* kBundleWeightsFile = "model.safetensors";
inline constexpr const char* kBundleMetadataFile = "tessera.json";
inline constexpr const char* kBundleFormat = "tessera-bundle";
inline constexpr int64_t kBundleFormatVersion = 1;

// How an image file becomes the model's input: the deterministic evaluation transform
// (resize the shorter side to size / crop_pct, center-crop, scale to [0, 1], normalize).
struct Preprocessing {
  int64_t channels = 3;
  int64_t height = 224;
  int64_t width = 224;
  double crop_pct = 1.0;
  data::Interpolation interpolation = data::Interpolation::Bilinear;
  std::vector<double> mean{0.5};  // one value, or one per channel
  std::vector<double> std{0.5};

  // The TransformSpec SampleTransform runs.
  data::TransformSpec transform_spec() const;
  // The fields of an evaluation spec. A spec with random steps (augmentation) is a
  // tessera::Error: a bundle must preprocess the same way every time.
  static Preprocessing from_spec(const data::TransformSpec& spec);
};

// Where the weights came from.
struct BundleSource {
  std::string run;         // the run folder, or "" for a file outside one
  std::string checkpoint;  // the weights file read
  int64_t step = -1;       // optimizer step of the checkpoint; -1 when unknown
};

struct BundleInfo {
  std::string family;                    // vit, deit, swin, clip
  config::ModelConfig model;             // builds the module: models::create / models::create_clip
  nlohmann::json reference;              // how timm / open_clip build it (reference_model.h)
  std::vector<std::string> class_names;  // output order; CLIP: default zero-shot labels
  Preprocessing preprocessing;
  config::Precision precision = config::Precision::FP32;      // compute precision on CUDA
  config::Precision weights_dtype = config::Precision::FP32;  // dtype of the floating tensors in the file
  bool ema = false;                                           // the weights are the run's exponential moving average
  BundleSource source;
  // Set by write_bundle from the file it wrote; read_bundle checks the file against them.
  std::string weights_sha256;
  int64_t weights_bytes = 0;
};

// tessera.json's content, and back. parse_bundle_json checks every field (type, range,
// a model section the recipe loader accepts) and throws tessera::Error naming `origin`
// and the key.
nlohmann::json bundle_json(const BundleInfo& info);
BundleInfo parse_bundle_json(const nlohmann::json& json, const std::string& origin);

// Writes the bundle folder `dir`: model.safetensors from `weights` (floating tensors cast
// to info.weights_dtype; others as they are), then tessera.json with the file's size and
// SHA-256. Everything is written into a temporary folder beside `dir` and renamed into
// place, so a failure leaves no partial bundle. An existing `dir` is a tessera::Error
// unless `force`, which replaces it (only when it is a bundle or empty: a folder holding
// anything else is never removed). Returns the info as written.
BundleInfo write_bundle(const std::filesystem::path& dir, BundleInfo info,
                        const std::vector<std::pair<std::string, at::Tensor>>& weights, bool force);

// Reads and checks `dir`/tessera.json; with `verify_weights` also the size and SHA-256
// of model.safetensors (a mismatch says the file was changed or cut short).
BundleInfo read_bundle(const std::filesystem::path& dir, bool verify_weights = true);

// The spellings tessera.json uses (timm's for interpolation, torch's for dtypes).
std::string interpolation_name(data::Interpolation value);
std::string dtype_name(config::Precision weights_dtype);

}  // namespace tessera::serve
