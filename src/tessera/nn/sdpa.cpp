// SDPA entry point (see sdpa.h).
#include "tessera/nn/sdpa.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <sstream>

#include "tessera/core/error.h"
#include "tessera/nn/attention.h"
#include "tessera/nn/window_attention.h"

namespace tessera::nn {

at::Tensor scaled_dot_product(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const std::optional<at::Tensor>& attn_mask, double dropout_p,
                              bool is_causal) {
  try {
    return at::scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal);
  } catch (const c10::Error& e) {
    const auto& ctx = at::globalContext();
    if (ctx.userEnabledFlashSDP() && ctx.userEnabledMemEfficientSDP() && ctx.userEnabledMathSDP()) throw;
    // Only some backends are on (train.attention): say so rather than leave ATen's riddle.
    std::ostringstream message;
    message << "the SDPA backend chosen here cannot run attention with q " << q.sizes() << " "
            << c10::toString(q.scalar_type()) << " on " << q.device() << (attn_mask ? " with a mask" : "")
            << (dropout_p > 0 ? " with dropout" : "") << " (" << e.what_without_backtrace()
            << "); use train.attention: auto or math";
    std::string text = message.str();
    std::replace(text.begin(), text.end(), '\n', ' ');
    throw Error("train.attention", text);
  }
}

AttentionShapes attention_shapes(const torch::nn::Module& model) {
  AttentionShapes shapes;
  auto add = [&shapes](const torch::nn::Module& module) {
    if (const auto* attention = dynamic_cast<const AttentionImpl*>(&module)) {
      shapes.head_dims.push_back(attention->options.dim() / attention->options.num_heads());
    } else if (const auto* window = dynamic_cast<const WindowAttentionImpl*>(&module)) {
      shapes.head_dims.push_back(window->options.dim() / window->options.num_heads());
      shapes.masked = true;  // the relative position bias always goes in as a mask
    }
  };
  add(model);  // modules(include_self) would need `model` held by a shared_ptr
  for (const auto& module : model.modules(/*include_self=*/false)) add(*module);
  auto& dims = shapes.head_dims;
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  return shapes;
}

}  // namespace tessera::nn
