// DeiT (Touvron et al., 2021, "Training data-efficient image transformers & distillation
// through attention"): ViT presets with DeiT's numbers, and the distilled ViT with a
// distillation token and a second head, with timm's names (VisionTransformerDistilled).
#pragma once

#include <torch/nn/modules/linear.h>

#include <optional>
#include <utility>

#include "tessera/config/recipe.h"
#include "tessera/models/vit.h"

namespace tessera::models {

// A ViT whose second prefix token (dist_token, after cls_token) feeds a second head
// (head_dist) that a distillation loss trains against a teacher. forward() returns the
// mean of both heads' logits, as timm does in eval and in plain (non-distilled) training;
// forward_heads() gives both for distillation training.
class VisionTransformerDistilledImpl : public VisionTransformerImpl {
 public:
  // options.global_pool must be token and class_token true: the heads read the two tokens.
  explicit VisionTransformerDistilledImpl(const VisionTransformerOptions& options);

  // (B, 2 + N, D): class token, distillation token, patch tokens.
  at::Tensor forward_features(const at::Tensor& images) override;
  // (head(cls) + head_dist(dist)) / 2
  at::Tensor forward_head(const at::Tensor& features) override;
  // (head(cls), head_dist(dist)): the class head's and the distillation head's logits.
  std::pair<at::Tensor, at::Tensor> forward_heads(const at::Tensor& images);
  std::optional<std::pair<at::Tensor, at::Tensor>> forward_distilled(const at::Tensor& images) override {
    return forward_heads(images);
  }
  std::vector<std::string> no_weight_decay() const override { return {"pos_embed", "cls_token", "dist_token"}; }
  int64_t layer_id(const std::string& param_name) const override;

  at::Tensor dist_token;  // (1, 1, D)
  torch::nn::Linear head_dist{nullptr};  // absent with num_classes = 0, like head

 private:
  std::pair<at::Tensor, at::Tensor> heads_of(const at::Tensor& features);
};
TORCH_MODULE(VisionTransformerDistilled);

// Parameter count of a distilled model with these options (no allocation).
int64_t distilled_num_params(const VisionTransformerOptions& options);

// The DeiT preset registered as config.name (deit_* names, distilled or not) with the
// recipe's overrides applied.
VisionTransformerOptions deit_options(const config::ModelConfig& config);

}  // namespace tessera::models
