// The interface every image model family offers the trainer, export and serving.
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <string>
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
  // Depth of a parameter for layer-wise LR decay: 0 = embeddings, 1..num_layers()-2 = blocks,
  // num_layers()-1 = final norm and head (timm / BEiT convention).
  virtual int64_t layer_id(const std::string& param_name) const = 0;
  virtual int64_t num_layers() const = 0;
  virtual int64_t num_classes() const = 0;
};

using ImageClassifier = std::shared_ptr<ImageClassifierImpl>;

}  // namespace tessera::models
