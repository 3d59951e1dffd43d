// Resizing a learned absolute position embedding to a new patch grid (Dosovitskiy et al.,
// 2021, §3.2: 2-D interpolation for fine-tuning at another resolution), as timm's
// resample_abs_pos_embed does it.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>

namespace tessera::nn {

// pos_embed (1, num_prefix_tokens + old_h * old_w, D) → (1, num_prefix_tokens + new_h * new_w, D).
// The prefix rows (class / distillation tokens) are kept as they are; the patch rows,
// seen as a (D, old_h, old_w) image, are resampled with antialiased bicubic
// interpolation (align_corners false) in float32 and cast back — timm's defaults.
// Sizes are {height, width}. Returns pos_embed itself when the grid does not change.
at::Tensor resample_abs_pos_embed(const at::Tensor& pos_embed, std::array<int64_t, 2> new_size,
                                  std::array<int64_t, 2> old_size, int64_t num_prefix_tokens);

}  // namespace tessera::nn
