// CLIP's image tower (see clip_vision.h).
#include "tessera/models/clip_vision.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <cmath>

namespace tessera::models {

int64_t ClipVisionOptions::num_params(int64_t output_dim) const {
  const int64_t W = width();
  return in_chans() * patch_size() * patch_size() * W  // conv1
         + W                                           // class_embedding
         + (grid_size() * grid_size() + 1) * W         // positional_embedding
         + 2 * W                                       // ln_pre
         + layers() * clip_block_params(W, mlp_ratio())
         + 2 * W                                       // ln_post
         + W * output_dim;                             // proj
}

ClipVisionTransformerImpl::ClipVisionTransformerImpl(const ClipVisionOptions& options_, int64_t output_dim,
                                                     ClipActivation activation)
    : options(options_) {
  const auto& o = options;
  TORCH_CHECK(o.patch_size() > 0 && o.patch_size() <= o.image_size(), "ClipVisionTransformer: patch_size (",
              o.patch_size(), ") must be in [1, image_size (", o.image_size(), ")]");
  TORCH_CHECK(o.in_chans() > 0, "ClipVisionTransformer: in_chans must be positive, got ", o.in_chans());
  TORCH_CHECK(o.width() > 0, "ClipVisionTransformer: width must be positive, got ", o.width());
  TORCH_CHECK(output_dim > 0, "ClipVisionTransformer: embed_dim must be positive, got ", output_dim);
  const int64_t W = o.width();
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_chans(), W, o.patch_size())
                                                         .stride(o.patch_size())
                                                         .bias(false)));
  // open_clip's initialisation: N(0, width^-1/2) for the class and position embeddings
  // and the projection; the conv, norms and blocks keep torch's defaults.
  const double scale = 1.0 / std::sqrt(static_cast<double>(W));
  class_embedding = register_parameter("class_embedding", scale * at::randn({W}));
  positional_embedding =
      register_parameter("positional_embedding", scale * at::randn({o.grid_size() * o.grid_size() + 1, W}));
  ln_pre = register_module("ln_pre", torch::nn::LayerNorm(torch::nn::LayerNormOptions({W})));
  transformer = register_module("transformer", ClipTransformer(W, o.layers(), o.heads(), o.mlp_ratio(), activation));
  ln_post = register_module("ln_post", torch::nn::LayerNorm(torch::nn::LayerNormOptions({W})));
  proj = register_parameter("proj", scale * at::randn({W, output_dim}));
}

at::Tensor ClipVisionTransformerImpl::forward_features(const at::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == options.in_chans() && images.size(2) == options.image_size() &&
                  images.size(3) == options.image_size(),
              "ClipVisionTransformer: expected images of shape (B, ", options.in_chans(), ", ", options.image_size(),
              ", ", options.image_size(), "), got ", images.sizes());
  auto x = conv1->forward(images);  // (B, width, grid, grid)
  x = x.flatten(2).transpose(1, 2);  // (B, grid², width)
  auto cls = class_embedding.to(x.scalar_type()).view({1, 1, -1}).expand({x.size(0), 1, -1});  // (B, 1, width)
  x = at::cat({cls, x}, 1) + positional_embedding.to(x.scalar_type());  // (B, 1 + grid², width)
  x = ln_pre->forward(x);
  x = transformer->forward(x, /*causal=*/false);
  return ln_post->forward(x);
}

at::Tensor ClipVisionTransformerImpl::forward(const at::Tensor& images) {
  return forward_features(images).select(1, 0).matmul(proj);  // class token (B, width) → (B, output_dim)
}

}  // namespace tessera::models
