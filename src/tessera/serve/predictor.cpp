// Bundle inference (see predictor.h).
#include "tessera/serve/predictor.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include "tessera/config/names.h"
#include "tessera/core/device.h"
#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/models/registry.h"
#include "tessera/serve/zero_shot.h"
#include "tessera/train/checkpoint.h"

namespace tessera::serve {

namespace fs = std::filesystem;

namespace {

// The model's input size must be the transform's output: a hand-edited tessera.json could break that.
void check_input(int64_t chans, int64_t size, const Preprocessing& p, const fs::path& dir) {
  if (p.channels != chans || p.height != size || p.width != size) {
    throw Error((dir / kBundleMetadataFile).string(), "preprocessing gives " + std::to_string(p.channels) + "x" +
                                                          std::to_string(p.height) + "x" + std::to_string(p.width) +
                                                          " inputs but the model takes " + std::to_string(chans) + "x" +
                                                          std::to_string(size) + "x" + std::to_string(size));
  }
}

}  // namespace

nlohmann::json predictions_json(const std::vector<ScoredClass>& top) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : top) out.push_back({{"label", c.label}, {"index", c.index}, {"probability", c.probability}});
  return out;
}

Predictor::Predictor(const fs::path& dir, const PredictorOptions& options)
    : info_(read_bundle(dir)),
      transform_(info_.preprocessing.transform_spec()),
      device_(core::choose_device(options.device)),
      precision_(options.precision.value_or(device_.is_cuda() ? info_.precision : config::Precision::FP32)) {
  core::check_precision(precision_, device_);
  const fs::path weights = dir / kBundleWeightsFile;
  try {
    if (info_.family == "clip") {
      clip_ = models::create_clip(info_.model);
      const auto& vision = clip_->options.vision();
      check_input(vision.in_chans(), vision.image_size(), info_.preprocessing, dir);
      train::load_weights(*clip_, weights);
      clip_->eval();
      clip_->to(device_);
      labels_ = options.labels.empty() ? info_.class_names : options.labels;
      if (labels_.empty()) {
        throw Error("--labels", "this CLIP bundle has no class names: give the labels to score images against");
      }
      const text::BpeTokenizer tokenizer(text::default_vocab_path(), clip_->options.text().context_length());
      const std::vector<std::string> prompts =
          options.prompts.empty() ? std::vector<std::string>{kDefaultPrompt} : options.prompts;
      core::AutocastGuard autocast(precision_, device_);
      zero_shot_head_ = zero_shot_head(*clip_, class_embeddings(*clip_, tokenizer, labels_, prompts));
    } else {
      if (!options.labels.empty() || !options.prompts.empty()) {
        throw Error(options.labels.empty() ? "--prompt" : "--labels",
                    "is for CLIP bundles; this " + info_.family + " classifier has its own classes");
      }
      classifier_ = models::create(info_.model);
      check_input(classifier_->in_chans(), classifier_->img_size(), info_.preprocessing, dir);
      train::load_weights(*classifier_, weights);
      classifier_->eval();
      classifier_->to(device_);
      labels_ = info_.class_names;
      if (num_classes() != classifier_->num_classes()) {
        throw Error((dir / kBundleMetadataFile).string(), "lists " + std::to_string(num_classes()) +
                                                              " classes but the model has " +
                                                              std::to_string(classifier_->num_classes()) + " outputs");
      }
    }
  } catch (const c10::Error& e) {
    throw Error(dir.string(), e.what_without_backtrace());
  }
  spdlog::info("bundle {}: {} ({}), {} classes, input {}x{}x{}, {} on {}", dir.string(), info_.model.name, info_.family,
               num_classes(), info_.preprocessing.channels, info_.preprocessing.height, info_.preprocessing.width,
               config::to_string(precision_), device_.str());
}

std::vector<int64_t> Predictor::input_shape() const {
  return {transform_.channels(), transform_.height(), transform_.width()};
}

void Predictor::preprocess(const data::Image& image, float* dst) const {
  data::SampleRng unused(0);  // the evaluation transform draws nothing
  transform_(image, unused, dst);
}

at::Tensor Predictor::preprocess_batch(const std::vector<data::Image>& images) const {
  auto shape = input_shape();
  shape.insert(shape.begin(), static_cast<int64_t>(images.size()));
  auto batch = at::empty(shape, at::kFloat);
  float* out = batch.data_ptr<float>();
  const int64_t n = input_floats();
  at::parallel_for(0, static_cast<int64_t>(images.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) preprocess(images[static_cast<size_t>(i)], out + i * n);
  });
  return batch;
}

at::Tensor Predictor::logits(const at::Tensor& inputs) {
  c10::InferenceMode inference;
  const auto x = inputs.to(device_, at::kFloat);
  at::Tensor out;
  if (clip_) {
    at::Tensor features;  // (B, embed_dim)
    {
      core::AutocastGuard autocast(precision_, device_);
      features = clip_->encode_image(x, /*normalize=*/true);
    }
    out = zero_shot_head_.logits(features);  // fp32, as train::evaluate_zero_shot
  } else {
    core::AutocastGuard autocast(precision_, device_);
    out = classifier_->forward(x);
  }
  return out.to(at::kCPU, at::kFloat);
}

at::Tensor Predictor::probabilities(const at::Tensor& inputs) { return at::softmax(logits(inputs), -1); }

std::vector<ScoredClass> Predictor::top_k(const at::Tensor& probabilities_row, int64_t k) const {
  const auto row = probabilities_row.reshape({-1}).to(at::kCPU, at::kFloat);
  const int64_t n = std::min<int64_t>(std::max<int64_t>(k, 1), row.size(0));
  const auto [values, indices] = at::topk(row, n);
  const auto values_cpu = values.contiguous().cpu();  // float32, as row
  const auto indices_cpu = indices.contiguous().cpu();  // int64
  const float* value = values_cpu.data_ptr<float>();
  const int64_t* index = indices_cpu.data_ptr<int64_t>();
  std::vector<ScoredClass> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    out.push_back({index[i], labels_.at(static_cast<size_t>(index[i])), static_cast<double>(value[i])});
  }
  return out;
}

}  // namespace tessera::serve
