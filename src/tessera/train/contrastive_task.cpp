// CLIP contrastive training (see contrastive_task.h).
#include "tessera/train/contrastive_task.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <cmath>

#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/train/clip_loss.h"
#include "tessera/train/clip_param_groups.h"
#include "tessera/train/mixup.h"
#include "tessera/train/retrieval.h"

namespace tessera::train {

double max_logit_scale() { return std::log(100.0); }

ContrastiveTask::ContrastiveTask(const config::RecipeConfig& config, models::Clip clip,
                                 std::shared_ptr<const text::BpeTokenizer> tokenizer, c10::Device device)
    : model_config_(config.model),
      clip_config_(config.clip),
      clip_gather_(dist::ClipGatherOptions()
                       .local_loss(config.dist.clip_local_loss)
                       .gather_with_grad(config.dist.clip_gather_with_grad)),
      clip_(std::move(clip)),
      tokenizer_(std::move(tokenizer)),
      device_(device),
      precision_(config.precision) {
  TORCH_CHECK(tokenizer_ != nullptr, "ContrastiveTask: no tokenizer");
  if (Mixup::enabled(config.train.mixup)) {
    throw Error("train.mixup", "mixes class labels; contrastive training has captions, not labels");
  }
  if (config.train.label_smoothing > 0) {
    throw Error("train.label_smoothing", "applies to class labels; contrastive training has captions");
  }
  clip_->to(device_);
  if (clip_config_.lock_image) {
    for (auto& p : clip_->visual->parameters()) p.requires_grad_(false);
  }
}

std::shared_ptr<torch::nn::Module> ContrastiveTask::make_twin() const {
  auto twin = models::create_clip(model_config_);
  twin->to(device_);
  return twin.ptr();
}

std::vector<ParamGroup> ContrastiveTask::param_groups(const config::OptimConfig& optim) {
  return build_clip_param_groups(*clip_, optim, clip_config_);
}

void ContrastiveTask::train_mode() {
  clip_->train();
  if (clip_config_.lock_image) clip_->visual->eval();
}

TaskLoss ContrastiveTask::loss(const data::Batch& batch, int64_t micro_batch) {
  TORCH_CHECK(static_cast<int64_t>(batch.captions.size()) == batch.images.size(0),
              "ContrastiveTask: a batch without one caption per image");
  const auto images = batch.images.to(device_, /*non_blocking=*/true);
  const auto tokens = tokenizer_->tokenize(batch.captions, clip_->options.text().context_length()).to(device_);
  at::Tensor image_features, text_features;
  {
    core::AutocastGuard autocast(precision_, device_);
    image_features = clip_->encode_image(images, /*normalize=*/true);
    text_features = clip_->encode_text(tokens, /*normalize=*/true);
  }
  // The loss in fp32 whatever the compute precision, as the classifiers'.
  const auto scale = clip_->logit_scale.exp();
  image_features = image_features.to(at::kFloat);
  text_features = text_features.to(at::kFloat);
  ClipLossResult r;
  if (group_) {
    // Against the features of every rank: the negatives are the global batch.
    const auto logits = dist::clip_logits_across_ranks(image_features, text_features, scale, group_, clip_gather_);
    r = clip_loss_from_logits(logits.logits_per_image, logits.logits_per_text, logits.targets);
  } else {
    r = clip_loss(image_features, text_features, scale);
  }
  return {r.loss,
          {{"i2t_acc", r.image_to_text_acc}, {"t2i_acc", r.text_to_image_acc}, {"logit_scale", scale.detach()}}};
}

void ContrastiveTask::after_step() {
  at::NoGradGuard no_grad;
  clip_->logit_scale.clamp_(0.0, max_logit_scale());
}

EvalResult ContrastiveTask::evaluate(torch::nn::Module& model, data::Loader& loader) {
  auto* clip = dynamic_cast<models::ClipImpl*>(&model);
  TORCH_CHECK(clip != nullptr, "ContrastiveTask::evaluate: not a CLIP");
  return evaluate_retrieval(*clip, *tokenizer_, loader, device_, precision_, group_.get());
}

std::vector<std::string> ContrastiveTask::describe() const {
  std::vector<std::string> lines = {fmt::format(
      "task: contrastive image-text (CLIP, symmetric InfoNCE), logit scale {:.4g} (clamped to at most 100), "
      "captions tokenized to {} tokens",
      std::exp(clip_->logit_scale.item<double>()), clip_->options.text().context_length())};
  if (clip_config_.lock_image) lines.push_back("clip.lock_image: the image tower is frozen and in eval mode (LiT)");
  return lines;
}

}  // namespace tessera::train
