// Window attention and window bookkeeping (see window_attention.h).
#include "tessera/nn/window_attention.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "tessera/nn/init.h"
#include "tessera/nn/sdpa.h"

namespace tessera::nn {

at::Tensor window_partition(const at::Tensor& x, int64_t window) {
  const auto B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  TORCH_CHECK(H % window == 0 && W % window == 0, "window_partition: map ", H, "x", W,
              " is not a multiple of the window ", window);
  return x.view({B, H / window, window, W / window, window, C})  // (B, nH, wy, nW, wx, C)
      .permute({0, 1, 3, 2, 4, 5})                              // (B, nH, nW, wy, wx, C)
      .reshape({-1, window, window, C});                        // (B * windows, wy, wx, C)
}

at::Tensor window_reverse(const at::Tensor& windows, int64_t window, int64_t H, int64_t W) {
  const auto C = windows.size(-1);
  return windows.view({-1, H / window, W / window, window, window, C})  // (B, nH, nW, wy, wx, C)
      .permute({0, 1, 3, 2, 4, 5})                                     // (B, nH, wy, nW, wx, C)
      .reshape({-1, H, W, C});                                         // (B, H, W, C)
}

at::Tensor relative_position_index(int64_t window) {
  const auto token = at::arange(window * window, at::kLong);
  const auto y = token.div(window, "floor"), x = token.remainder(window);
  // Offsets shifted to start at 0, then (dy, dx) flattened row-major over (2 window - 1)².
  const auto dy = y.unsqueeze(1) - y.unsqueeze(0) + (window - 1);  // (N, N)
  const auto dx = x.unsqueeze(1) - x.unsqueeze(0) + (window - 1);  // (N, N)
  return dy * (2 * window - 1) + dx;
}

at::Tensor shifted_window_mask(int64_t H, int64_t W, int64_t window, int64_t shift) {
  TORCH_CHECK(shift > 0 && shift < window && window <= H && window <= W, "shifted_window_mask: needs 0 < shift (",
              shift, ") < window (", window, ") <= map ", H, "x", W);
  // After the roll, each axis has three bands: untouched tokens, the last window's tokens
  // that were there before, and the `shift` tokens wrapped around from the other border.
  auto band = [&](int64_t n) {
    const auto i = at::arange(n, at::kLong);
    return i.ge(n - window).to(at::kLong) + i.ge(n - shift).to(at::kLong);  // 0, 1, 2
  };
  const auto region = (band(H).unsqueeze(1) * 3 + band(W).unsqueeze(0)).to(at::kFloat);  // (H, W)
  const auto ids = window_partition(region.view({1, H, W, 1}), window).view({-1, window * window});  // (nW, N)
  const auto differ = ids.unsqueeze(1).ne(ids.unsqueeze(2));  // (nW, N, N)
  return at::zeros(differ.sizes(), at::kFloat).masked_fill_(differ, -100.0);
}

WindowAttentionImpl::WindowAttentionImpl(const WindowAttentionOptions& options_) : options(options_) {
  const auto& o = options;
  TORCH_CHECK(o.dim() > 0, "WindowAttention: dim must be positive, got ", o.dim());
  TORCH_CHECK(o.num_heads() > 0 && o.dim() % o.num_heads() == 0, "WindowAttention: dim (", o.dim(),
              ") must be divisible by num_heads (", o.num_heads(), ")");
  TORCH_CHECK(o.window_size() > 0, "WindowAttention: window_size must be positive, got ", o.window_size());
  TORCH_CHECK(o.attn_drop() >= 0 && o.attn_drop() < 1, "WindowAttention: attn_drop must be in [0, 1), got ",
              o.attn_drop());
  const int64_t span = 2 * o.window_size() - 1;
  relative_position_bias_table = register_parameter("relative_position_bias_table",
                                                    at::zeros({span * span, o.num_heads()}));
  trunc_normal_(relative_position_bias_table, 0.0, 0.02);
  relative_position_index = nn::relative_position_index(o.window_size());
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(o.dim(), 3 * o.dim()).bias(o.qkv_bias())));
  proj = register_module("proj", torch::nn::Linear(o.dim(), o.dim()));
  proj_drop = register_module("proj_drop", torch::nn::Dropout(o.proj_drop()));
}

at::Tensor WindowAttentionImpl::relative_position_bias() const {
  const auto N = options.window_size() * options.window_size();
  return relative_position_bias_table.index_select(0, relative_position_index.view(-1))
      .view({N, N, -1})   // (N, N, heads)
      .permute({2, 0, 1})  // (heads, N, N)
      .unsqueeze(0);       // (1, heads, N, N)
}

at::Tensor WindowAttentionImpl::forward(const at::Tensor& x, const std::optional<at::Tensor>& mask) {
  const auto B_ = x.size(0), N = x.size(1), C = x.size(2);
  const auto heads = options.num_heads();
  TORCH_CHECK(N == options.window_size() * options.window_size(), "WindowAttention: expected ",
              options.window_size() * options.window_size(), " tokens per window, got ", N);
  auto qkv_out = qkv->forward(x)
                     .reshape({B_, N, 3, heads, C / heads})  // (B_, N, 3, heads, head_dim)
                     .permute({2, 0, 3, 1, 4});              // (3, B_, heads, N, head_dim)
  auto q = qkv_out[0], k = qkv_out[1], v = qkv_out[2];

  at::Tensor bias = relative_position_bias();  // (1, heads, N, N)
  if (mask) {
    // Windows are batch-major (image b's windows are rows b*nW .. b*nW+nW-1), so the
    // per-window mask repeats over images; it cannot be a broadcast view of (nW, ...).
    const auto nW = mask->size(0);
    TORCH_CHECK(B_ % nW == 0, "WindowAttention: ", B_, " windows are not a multiple of the mask's ", nW);
    bias = (bias + mask->unsqueeze(1))           // (nW, heads, N, N)
               .unsqueeze(0)
               .expand({B_ / nW, nW, heads, N, N})  // (B, nW, heads, N, N)
               .reshape({B_, heads, N, N});          // (B_, heads, N, N)
  }
  // One additive mask in the query's dtype: a float32 mask with bf16 queries is wrong on
  // some CUDA backends.
  const double p = is_training() ? options.attn_drop() : 0.0;
  auto out = scaled_dot_product(q, k, v, bias.to(q.scalar_type()), p);  // (B_, heads, N, head_dim)
  out = out.transpose(1, 2).reshape({B_, N, C});                        // (B_, N, dim)
  return proj_drop->forward(proj->forward(out));
}

void WindowAttentionImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(device, dtype, non_blocking);
  relative_position_index = relative_position_index.to(device);
}

void WindowAttentionImpl::to(torch::Device device, bool non_blocking) {
  torch::nn::Module::to(device, non_blocking);
  relative_position_index = relative_position_index.to(device);
}

}  // namespace tessera::nn
