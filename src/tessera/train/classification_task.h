// Image classification: cross-entropy against the labels (label smoothing folded in), or
// against mixup / cutmix soft targets (timm's Mixup + SoftTargetCrossEntropy).
#pragma once

#include <c10/core/Device.h>

#include <optional>

#include "tessera/models/image_classifier.h"
#include "tessera/train/mixup.h"
#include "tessera/train/task.h"

namespace tessera::train {

class ClassificationTask : public Task {
 public:
  // `config.model` is the resolved model section `model` was built from (make_twin builds
  // it again). The model is moved to `device`.
  ClassificationTask(const config::RecipeConfig& config, models::ImageClassifier model, c10::Device device);

  torch::nn::Module& model() override { return *model_; }
  std::shared_ptr<torch::nn::Module> make_twin() const override;
  std::vector<ParamGroup> param_groups(const config::OptimConfig& optim) override;
  nn::AttentionShapes attention_shapes() const override;
  TaskLoss loss(const data::Batch& batch, int64_t micro_batch) override;
  EvalResult evaluate(torch::nn::Module& model, data::Loader& loader) override;
  std::vector<std::string> describe() const override;

 protected:
  // A micro-batch on the device, mixed when mixup is on.
  struct Inputs {
    at::Tensor images;   // (B, C, H, W), mixed
    at::Tensor labels;   // (B) int64
    at::Tensor targets;  // (B, classes) soft targets when mixed; undefined otherwise
  };
  Inputs inputs_of(const data::Batch& batch, int64_t micro_batch) const;
  // The label loss of `logits` in float32: soft-target cross-entropy when mixed, else
  // cross-entropy with train.label_smoothing.
  at::Tensor label_loss(const at::Tensor& logits, const Inputs& inputs) const;

  config::ModelConfig model_config_;
  models::ImageClassifier model_;
  c10::Device device_;
  config::Precision precision_;
  double label_smoothing_;
  std::optional<Mixup> mixup_;  // train.mixup, when an alpha or cutmix_minmax is set
};

}  // namespace tessera::train
