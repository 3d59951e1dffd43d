// CLIP's image tower (Radford et al., 2021): a ViT with a pre-norm (ln_pre), the class
// token pooled after ln_post and a projection to the joint space, with open_clip's names
// (conv1, class_embedding, positional_embedding, ln_pre, transformer, ln_post, proj).
#pragma once

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include "tessera/models/clip_blocks.h"

namespace tessera::models {

// open_clip's vision_cfg for a ViT tower.
struct ClipVisionOptions {
  TORCH_ARG(int64_t, image_size) = 224;
  TORCH_ARG(int64_t, patch_size) = 32;
  TORCH_ARG(int64_t, in_chans) = 3;  // open_clip has 3; 1 for grayscale data
  TORCH_ARG(int64_t, width) = 768;
  TORCH_ARG(int64_t, layers) = 12;
  TORCH_ARG(int64_t, heads) = 12;    // open_clip: width / head_width (64)
  TORCH_ARG(double, mlp_ratio) = 4.0;

 public:  // TORCH_ARG leaves the section private
  int64_t grid_size() const { return image_size() / patch_size(); }
  // Parameter count with a projection to `output_dim`, from the numbers alone.
  int64_t num_params(int64_t output_dim) const;
};

class ClipVisionTransformerImpl : public torch::nn::Module {
 public:
  ClipVisionTransformerImpl(const ClipVisionOptions& options, int64_t output_dim, ClipActivation activation);

  // images (B, in_chans, image_size, image_size) → (B, output_dim), not normalized.
  at::Tensor forward(const at::Tensor& images);
  // images → every token after ln_post, before pooling: (B, 1 + grid², width).
  at::Tensor forward_features(const at::Tensor& images);

  ClipVisionOptions options;
  torch::nn::Conv2d conv1{nullptr};      // patch embedding, no bias
  at::Tensor class_embedding;            // (width)
  at::Tensor positional_embedding;       // (1 + grid², width)
  torch::nn::LayerNorm ln_pre{nullptr};
  ClipTransformer transformer{nullptr};
  torch::nn::LayerNorm ln_post{nullptr};
  at::Tensor proj;                       // (width, output_dim)
};
TORCH_MODULE(ClipVisionTransformer);

}  // namespace tessera::models
