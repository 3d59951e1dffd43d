// CLIP's contrastive image-text pretraining (Radford et al., 2021), as open_clip trains
// on one process: each batch's images and captions are embedded, and the symmetric
// InfoNCE loss (clip_loss.h) pulls each image towards its own caption and away from the
// others'. The learnable temperature logit_scale starts at log(1/0.07) and is clamped to
// [0, ln 100] after every optimizer step (open_clip clamps in its training loop). With
// clip.lock_image the image tower is frozen and kept in eval mode (LiT, Zhai et al.,
// 2022; open_clip's --lock-image with no unlocked groups). In data-parallel training the
// features are gathered from every rank (dist.clip_local_loss, dist.clip_gather_with_grad),
// so each image's negatives are the global batch's captions, as open_clip's ClipLoss.
#pragma once

#include <c10/core/Device.h>

#include <memory>

#include "tessera/dist/clip_gather.h"
#include "tessera/models/clip.h"
#include "tessera/text/bpe_tokenizer.h"
#include "tessera/train/task.h"

namespace tessera::train {

// open_clip's bound on the logit scale: exp(logit_scale) <= 100.
double max_logit_scale();

class ContrastiveTask : public Task {
 public:
  // `config.model` is the resolved model section `clip` was built from. The model is moved
  // to `device`; with clip.lock_image the image tower's parameters stop requiring gradients.
  ContrastiveTask(const config::RecipeConfig& config, models::Clip clip,
                  std::shared_ptr<const text::BpeTokenizer> tokenizer, c10::Device device);

  torch::nn::Module& model() override { return *clip_; }
  std::shared_ptr<torch::nn::Module> make_twin() const override;
  std::vector<ParamGroup> param_groups(const config::OptimConfig& optim) override;
  nn::AttentionShapes attention_shapes() const override { return {}; }
  void train_mode() override;
  // The batch's captions tokenized to the text tower's context length. Metrics: i2t_acc,
  // t2i_acc (in-batch retrieval accuracy) and logit_scale (its exp, the similarity scale).
  TaskLoss loss(const data::Batch& batch, int64_t micro_batch) override;
  void after_step() override;
  // Image-text retrieval on the evaluation split (retrieval.h).
  EvalResult evaluate(torch::nn::Module& model, data::Loader& loader) override;
  std::vector<std::string> describe() const override;

 private:
  config::ModelConfig model_config_;
  config::ClipTrainConfig clip_config_;
  dist::ClipGatherOptions clip_gather_;  // data-parallel runs: how the features are gathered
  models::Clip clip_;
  std::shared_ptr<const text::BpeTokenizer> tokenizer_;
  c10::Device device_;
  config::Precision precision_;
};

}  // namespace tessera::train
