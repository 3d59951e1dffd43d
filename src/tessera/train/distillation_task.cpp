// DeiT distillation (see distillation_task.h).
#include "tessera/train/distillation_task.h"

#include <ATen/ATen.h>
#include <ATen/DeviceAccelerator.h>
#include <c10/core/InferenceMode.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/models/deit.h"

namespace tessera::train {

namespace {

DistillationOptions options_of(const config::DistillConfig& c) {
  DistillationOptions o;
  o.type = c.type;
  o.alpha = c.alpha;
  o.tau = c.tau;
  o.normalization = c.normalization;
  return o;
}

}  // namespace

DistillationTask::DistillationTask(const config::RecipeConfig& config, models::ImageClassifier student,
                                   models::ImageClassifier teacher, c10::Device device)
    : ClassificationTask(config, std::move(student), device), teacher_(std::move(teacher)),
      options_(options_of(config.distill)) {
  if (options_.type == DistillType::None) throw Error("distill.type", "none: there is nothing to distill");
  if (dynamic_cast<const models::VisionTransformerDistilledImpl*>(model_.get()) == nullptr) {
    throw Error("model.name", "'" + config.model.name +
                                  "' has no distillation head; distillation needs a distilled student such as "
                                  "deit_tiny_distilled_patch16_224");
  }
  if (teacher_->num_classes() != model_->num_classes()) {
    throw Error("distill.teacher", "the teacher predicts " + std::to_string(teacher_->num_classes()) +
                                       " classes and the student " + std::to_string(model_->num_classes()));
  }
  if (teacher_->img_size() != model_->img_size() || teacher_->in_chans() != model_->in_chans()) {
    // The teacher sees the student's (mixed) images as they are, as in DeiT.
    throw Error("distill.teacher", "the teacher takes " + std::to_string(teacher_->in_chans()) + "x" +
                                       std::to_string(teacher_->img_size()) + "x" +
                                       std::to_string(teacher_->img_size()) + " images and the student " +
                                       std::to_string(model_->in_chans()) + "x" + std::to_string(model_->img_size()) +
                                       "x" + std::to_string(model_->img_size()));
  }
  teacher_->to(device_);
  teacher_->eval();
  for (auto& p : teacher_->parameters()) p.requires_grad_(false);
}

nn::AttentionShapes DistillationTask::attention_shapes() const {
  auto shapes = nn::attention_shapes(*model_);
  const auto teacher = nn::attention_shapes(*teacher_);
  shapes.head_dims.insert(shapes.head_dims.end(), teacher.head_dims.begin(), teacher.head_dims.end());
  std::sort(shapes.head_dims.begin(), shapes.head_dims.end());
  shapes.head_dims.erase(std::unique(shapes.head_dims.begin(), shapes.head_dims.end()), shapes.head_dims.end());
  shapes.masked = shapes.masked || teacher.masked;
  return shapes;
}

at::Tensor DistillationTask::teacher_logits(const at::Tensor& images) {
  const auto started = std::chrono::steady_clock::now();
  at::Tensor logits;
  {
    c10::InferenceMode inference;
    core::AutocastGuard autocast(precision_, device_);
    logits = teacher_->forward(images);
  }
  // Outside inference mode the clone is a normal tensor: the loss may save it for backward.
  logits = logits.clone();
  if (device_.is_cuda()) at::accelerator::synchronizeDevice(device_.index());  // time the kernels, not their launch
  teacher_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return logits;
}

TaskLoss DistillationTask::loss(const data::Batch& batch, int64_t micro_batch) {
  const Inputs in = inputs_of(batch, micro_batch);
  const at::Tensor teacher = teacher_logits(in.images);  // the mixed images, as the student's
  std::pair<at::Tensor, at::Tensor> heads;
  {
    core::AutocastGuard autocast(precision_, device_);
    heads = *model_->forward_distilled(in.images);
  }
  const at::Tensor base = label_loss(heads.first, in);
  return {distillation_loss(base, heads.second, teacher, options_), {}};
}

std::vector<Metric> DistillationTask::take_epoch_stats(int64_t steps, int64_t images) {
  const double seconds = teacher_seconds_;
  teacher_seconds_ = 0.0;
  if (steps <= 0 || seconds <= 0) return {};
  return {{"teacher_ms_per_step", 1000.0 * seconds / static_cast<double>(steps)},
          {"teacher_images_per_second", static_cast<double>(images) / seconds}};
}

std::vector<std::string> DistillationTask::describe() const {
  auto lines = ClassificationTask::describe();
  lines.front() = fmt::format("task: distillation (DeiT), {} with alpha {:g}", config::to_string(options_.type),
                              options_.alpha);
  if (options_.type == DistillType::Soft) {
    lines.front() += fmt::format(", tau {:g}, {}", options_.tau, config::to_string(options_.normalization));
  }
  lines.front() += std::string("; the class head learns from the labels") + (mixup_ ? " (mixed)" : "") +
                   ", the distillation head from the teacher (on the same images)";
  int64_t params = 0;
  for (const auto& p : teacher_->parameters()) params += p.numel();
  lines.push_back("teacher: " + std::to_string(params) + " parameters, eval mode, no gradients");
  return lines;
}

}  // namespace tessera::train
