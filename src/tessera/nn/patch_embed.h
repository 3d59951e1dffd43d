// Image to patch tokens (Dosovitskiy et al., 2021): a strided convolution, flattened.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace tessera::nn {

struct PatchEmbedOptions {
  PatchEmbedOptions(int64_t img_size, int64_t patch_size, int64_t in_chans, int64_t embed_dim)
      : img_size_(img_size), patch_size_(patch_size), in_chans_(in_chans), embed_dim_(embed_dim) {}
  TORCH_ARG(int64_t, img_size);
  TORCH_ARG(int64_t, patch_size);
  TORCH_ARG(int64_t, in_chans);
  TORCH_ARG(int64_t, embed_dim);
  TORCH_ARG(bool, flatten) = true;  // (B, N, D) tokens; false keeps (B, H', W', D) for Swin
};

class PatchEmbedImpl : public torch::nn::Module {
 public:
  explicit PatchEmbedImpl(const PatchEmbedOptions& options);
  // images: (B, in_chans, img_size, img_size)
  at::Tensor forward(const at::Tensor& images);
  int64_t grid_size() const { return options.img_size() / options.patch_size(); }
  int64_t num_patches() const { return grid_size() * grid_size(); }

  PatchEmbedOptions options;
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

}  // namespace tessera::nn
