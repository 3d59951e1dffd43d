// Inference on a bundle: images in, class probabilities out. Loads the weights into the
// bundle's model (a classifier, or CLIP scoring images against label prompts), runs the
// bundle's evaluation transform on decoded images, and the model in inference mode at
// the bundle's precision on CUDA (fp32 on the CPU unless asked), attention through SDPA.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/image.h"
#include "tessera/data/sample_transform.h"
#include "tessera/models/clip.h"
#include "tessera/models/image_classifier.h"
#include "tessera/serve/bundle.h"
#include "tessera/serve/zero_shot.h"

namespace tessera::serve {

struct PredictorOptions {
  config::DeviceKind device = config::DeviceKind::Auto;
  // Compute precision; unset: the bundle's on CUDA, fp32 on the CPU.
  std::optional<config::Precision> precision;
  // CLIP: the classes to score against (default: the bundle's classes) and the prompts
  // each is put into (their embeddings are averaged, as open_clip's zero-shot classifier).
  std::vector<std::string> labels;
  std::vector<std::string> prompts;  // default: {"a photo of a {}."}
};

struct ScoredClass {
  int64_t index = 0;
  std::string label;
  double probability = 0.0;
};

// [{"label", "index", "probability"}, ...] in the given order: what predict --json and
// POST /v1/predict answer.
nlohmann::json predictions_json(const std::vector<ScoredClass>& top);

class Predictor {
 public:
  // Reads the bundle in `dir` and builds its model. Bundle, label and device mistakes are
  // tessera::Errors.
  Predictor(const std::filesystem::path& dir, const PredictorOptions& options = {});

  const BundleInfo& bundle() const { return info_; }
  const std::vector<std::string>& class_names() const { return labels_; }
  int64_t num_classes() const { return static_cast<int64_t>(labels_.size()); }
  bool zero_shot() const { return !clip_.is_empty(); }
  c10::Device device() const { return device_; }
  config::Precision precision() const { return precision_; }

  // The model's input: (channels, height, width), and its size in floats.
  std::vector<int64_t> input_shape() const;
  int64_t input_floats() const { return transform_.output_floats(); }

  // The bundle's evaluation transform of one decoded image into `dst` (input_floats()
  // floats). Safe to call from many threads at once; no ATen calls.
  void preprocess(const data::Image& image, float* dst) const;
  // Decoded images → (B, C, H, W) float32 on the CPU, transformed in parallel.
  at::Tensor preprocess_batch(const std::vector<data::Image>& images) const;

  // inputs (B, C, H, W) float32 (any device) → logits (B, num_classes) float32 on the CPU.
  at::Tensor logits(const at::Tensor& inputs);
  // softmax of logits.
  at::Tensor probabilities(const at::Tensor& inputs);

  // The k most probable classes of one row of probabilities (fewer when there are fewer
  // classes), most probable first.
  std::vector<ScoredClass> top_k(const at::Tensor& probabilities_row, int64_t k) const;

 private:
  BundleInfo info_;
  data::SampleTransform transform_;
  c10::Device device_;
  config::Precision precision_;
  models::ImageClassifier classifier_;  // null for CLIP
  models::Clip clip_{nullptr};          // null for classifiers
  ZeroShotHead zero_shot_head_;         // CLIP: the labels' embeddings and the logit scale
  std::vector<std::string> labels_;
};

}  // namespace tessera::serve
