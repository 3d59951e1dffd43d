// Image classification (see classification_task.h).
#include "tessera/train/classification_task.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "tessera/core/precision.h"
#include "tessera/models/registry.h"

namespace tessera::train {

ClassificationTask::ClassificationTask(const config::RecipeConfig& config, models::ImageClassifier model,
                                       c10::Device device)
    : model_config_(config.model),
      model_(std::move(model)),
      device_(device),
      precision_(config.precision),
      label_smoothing_(config.train.label_smoothing) {
  model_->to(device_);
  if (Mixup::enabled(config.train.mixup)) {
    mixup_.emplace(config.train.mixup, model_->num_classes(), config.train.label_smoothing, config.train.seed);
  }
}

std::shared_ptr<torch::nn::Module> ClassificationTask::make_twin() const {
  auto twin = models::create(model_config_);
  twin->to(device_);
  return twin;
}

std::vector<ParamGroup> ClassificationTask::param_groups(const config::OptimConfig& optim) {
  return build_param_groups(*model_, optim.weight_decay, optim.layer_decay, optim.lr_groups);
}

nn::AttentionShapes ClassificationTask::attention_shapes() const { return nn::attention_shapes(*model_); }

ClassificationTask::Inputs ClassificationTask::inputs_of(const data::Batch& batch, int64_t micro_batch) const {
  Inputs in;
  in.images = batch.images.to(device_, /*non_blocking=*/true);
  in.labels = batch.labels.to(device_, /*non_blocking=*/true);
  if (mixup_) {
    // Keyed by the micro-batch's global index: a resumed run draws the same λs and boxes.
    auto mixed = (*mixup_)(in.images, in.labels, micro_batch);
    in.images = mixed.images;
    in.targets = mixed.targets;
  }
  return in;
}

at::Tensor ClassificationTask::label_loss(const at::Tensor& logits, const Inputs& in) const {
  if (in.targets.defined()) return soft_target_cross_entropy(logits, in.targets);
  // The loss in fp32 whatever the compute precision (log-softmax is autocast's fp32 op anyway).
  return at::cross_entropy_loss(logits.to(at::kFloat), in.labels, {}, at::Reduction::Mean, -100, label_smoothing_);
}

TaskLoss ClassificationTask::loss(const data::Batch& batch, int64_t micro_batch) {
  const Inputs in = inputs_of(batch, micro_batch);
  at::Tensor logits;
  {
    core::AutocastGuard autocast(precision_, device_);
    logits = model_->forward(in.images);
  }
  return {label_loss(logits, in), {}};
}

EvalResult ClassificationTask::evaluate(torch::nn::Module& model, data::Loader& loader) {
  auto* classifier = dynamic_cast<models::ImageClassifierImpl*>(&model);
  TORCH_CHECK(classifier != nullptr, "ClassificationTask::evaluate: not an image classifier");
  return train::evaluate(*classifier, loader, device_, precision_, group_.get());
}

std::vector<std::string> ClassificationTask::describe() const {
  std::vector<std::string> lines = {"task: classification (cross-entropy" +
                                    std::string(label_smoothing_ > 0 ? ", label smoothing" : "") + ")"};
  if (mixup_) lines.push_back(mixup_->describe());
  return lines;
}

}  // namespace tessera::train
