// Position-embedding resampling (see resample_pos_embed.h).
#include "tessera/nn/resample_pos_embed.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace tessera::nn {

at::Tensor resample_abs_pos_embed(const at::Tensor& pos_embed, std::array<int64_t, 2> new_size,
                                  std::array<int64_t, 2> old_size, int64_t num_prefix_tokens) {
  const auto [old_h, old_w] = old_size;
  const auto [new_h, new_w] = new_size;
  TORCH_CHECK(pos_embed.dim() == 3 && pos_embed.size(0) == 1,
              "resample_abs_pos_embed: expected pos_embed of shape (1, tokens, dim), got ", pos_embed.sizes());
  TORCH_CHECK(num_prefix_tokens >= 0 && old_h > 0 && old_w > 0 && new_h > 0 && new_w > 0,
              "resample_abs_pos_embed: sizes must be positive and num_prefix_tokens >= 0, got old ", old_h, "x", old_w,
              ", new ", new_h, "x", new_w, ", num_prefix_tokens ", num_prefix_tokens);
  TORCH_CHECK(pos_embed.size(1) == num_prefix_tokens + old_h * old_w, "resample_abs_pos_embed: ", pos_embed.size(1),
              " tokens is not ", num_prefix_tokens, " prefix tokens + a ", old_h, "x", old_w, " grid");
  if (old_size == new_size) return pos_embed;

  const int64_t D = pos_embed.size(2);
  auto grid = pos_embed.slice(1, num_prefix_tokens)
                  .to(at::kFloat)  // the interpolation kernels want float32
                  .reshape({1, old_h, old_w, D})
                  .permute({0, 3, 1, 2});  // (1, D, old_h, old_w)
  grid = at::_upsample_bicubic2d_aa(grid, {new_h, new_w}, /*align_corners=*/false);  // (1, D, new_h, new_w)
  grid = grid.permute({0, 2, 3, 1}).reshape({1, new_h * new_w, D}).to(pos_embed.scalar_type());  // (1, new_h*new_w, D)
  if (num_prefix_tokens == 0) return grid;
  return at::cat({pos_embed.slice(1, 0, num_prefix_tokens), grid}, 1);  // (1, prefix + new_h*new_w, D)
}

}  // namespace tessera::nn
