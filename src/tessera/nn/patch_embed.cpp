// Patch embedding (see patch_embed.h).
#include "tessera/nn/patch_embed.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace tessera::nn {

PatchEmbedImpl::PatchEmbedImpl(const PatchEmbedOptions& options_) : options(options_) {
  TORCH_CHECK(options.patch_size() > 0 && options.img_size() > 0 && options.in_chans() > 0 && options.embed_dim() > 0,
              "PatchEmbed: sizes must be positive (img_size=", options.img_size(), ", patch_size=",
              options.patch_size(), ", in_chans=", options.in_chans(), ", embed_dim=", options.embed_dim(), ")");
  TORCH_CHECK(options.img_size() % options.patch_size() == 0, "PatchEmbed: img_size (", options.img_size(),
              ") must be a multiple of patch_size (", options.patch_size(), ")");
  proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_chans(), options.embed_dim(),
                                                                             options.patch_size())
                                                        .stride(options.patch_size())));
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == options.in_chans() && images.size(2) == options.img_size() &&
                  images.size(3) == options.img_size(),
              "PatchEmbed: expected images of shape (B, ", options.in_chans(), ", ", options.img_size(), ", ",
              options.img_size(), "), got ", images.sizes());
  auto x = proj->forward(images);                      // (B, D, H', W')
  if (!options.flatten()) return x.permute({0, 2, 3, 1});  // (B, H', W', D)
  return x.flatten(2).transpose(1, 2);                 // (B, N, D)
}

}  // namespace tessera::nn
