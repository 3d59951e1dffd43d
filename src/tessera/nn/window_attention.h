// Window multi-head self-attention with a relative position bias (Liu et al., 2021, "Swin
// Transformer: Hierarchical Vision Transformer using Shifted Windows"), and the window
// bookkeeping around it: partition / reverse, relative position index, shifted-window mask.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <optional>

namespace tessera::nn {

// (B, H, W, C) → (B * H/window * W/window, window, window, C), windows in row-major order
// per image. H and W must be multiples of `window`.
at::Tensor window_partition(const at::Tensor& x, int64_t window);

// Inverse of window_partition: (B * nW, window, window, C) → (B, H, W, C).
at::Tensor window_reverse(const at::Tensor& windows, int64_t window, int64_t H, int64_t W);

// (N, N) int64 with N = window²: for tokens i, j of a window, the row of the bias table
// ((2 window - 1)², heads) that holds their offset (dy, dx).
at::Tensor relative_position_index(int64_t window);

// Additive float32 mask (nW, N, N) for attention on an H × W map rolled by -shift: after
// the roll, a window at the bottom / right edge holds tokens from opposite borders of the
// map, which must not see each other. 0 where two tokens come from the same region, -100
// elsewhere (-100, not -inf, as in the paper's code: a row is never all -inf). H and W
// are the padded sizes (multiples of window).
at::Tensor shifted_window_mask(int64_t H, int64_t W, int64_t window, int64_t shift);

struct WindowAttentionOptions {
  WindowAttentionOptions(int64_t dim, int64_t num_heads, int64_t window_size)
      : dim_(dim), num_heads_(num_heads), window_size_(window_size) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, window_size);     // tokens per side of a (square) window
  TORCH_ARG(bool, qkv_bias) = true;
  TORCH_ARG(double, attn_drop) = 0.0;  // dropout on the attention weights
  TORCH_ARG(double, proj_drop) = 0.0;  // dropout after the output projection
};

// timm's WindowAttention: parameters qkv, proj and relative_position_bias_table. The
// relative position index is derived from the window size and kept out of the state
// (timm's buffer is non-persistent), so checkpoints hold exactly timm's keys.
class WindowAttentionImpl : public torch::nn::Module {
 public:
  explicit WindowAttentionImpl(const WindowAttentionOptions& options);
  // x: (B * nW, N, dim) with N = window_size²; mask: additive (nW, N, N) or none. The bias
  // and the mask go to SDPA as one additive mask in x's dtype.
  at::Tensor forward(const at::Tensor& x, const std::optional<at::Tensor>& mask = std::nullopt);
  // The bias table laid out per token pair: (1, heads, N, N).
  at::Tensor relative_position_bias() const;

  // The index is no registered buffer, so it follows the module's device here.
  using torch::nn::Module::to;
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Device device, bool non_blocking = false) override;

  WindowAttentionOptions options;
  at::Tensor relative_position_bias_table;  // ((2 window - 1)², heads)
  at::Tensor relative_position_index;       // (N, N) int64, not a parameter or buffer
  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear proj{nullptr};
  torch::nn::Dropout proj_drop{nullptr};
};
TORCH_MODULE(WindowAttention);

}  // namespace tessera::nn
