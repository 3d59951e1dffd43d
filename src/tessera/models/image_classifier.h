// The interface every image model family offers the trainer, export and serving.
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tessera::models {

class ImageClassifierImpl : public torch::nn::Module {
 public:
  // images (B, C, H, W) → logits (B, num_classes)
  virtual at::Tensor forward(const at::Tensor& images) = 0;
  // images → tokens after the final norm, before pooling: (B, N, D)
  virtual at::Tensor forward_features(const at::Tensor& images) = 0;
  // tokens from forward_features → logits
  virtual at::Tensor forward_head(const at::Tensor& features) = 0;
  // Parameter names that never get weight decay besides biases and norms (pos_embed, cls_token, ...).
  virtual std::vector<std::string> no_weight_decay() const = 0;
  // Depth of a parameter for layer-wise LR decay, as timm's param_groups_layer_decay
  // assigns it: 0 = embeddings, then the blocks, num_layers()-1 = the head.
  virtual int64_t layer_id(const std::string& param_name) const = 0;
  virtual int64_t num_layers() const = 0;
  virtual int64_t num_classes() const = 0;
  // The images forward() takes: (B, in_chans(), img_size(), img_size()).
  virtual int64_t in_chans() const = 0;
  virtual int64_t img_size() const = 0;
  // Models with a distillation head (DeiT): the class head's and the distillation head's
  // logits, for a distillation loss. std::nullopt, with nothing computed, for the others:
  // a trainer calls this and falls back to forward().
  virtual std::optional<std::pair<at::Tensor, at::Tensor>> forward_distilled(const at::Tensor& images) {
    return std::nullopt;
  }
};

using ImageClassifier = std::shared_ptr<ImageClassifierImpl>;

}  // namespace tessera::models
