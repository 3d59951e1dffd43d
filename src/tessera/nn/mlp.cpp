// Transformer feed-forward block (see mlp.h).
#include "tessera/nn/mlp.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace tessera::nn {

MlpImpl::MlpImpl(const MlpOptions& options_) : options(options_) {
  TORCH_CHECK(options.in_features() > 0 && options.hidden_features() > 0, "Mlp: features must be positive, got in=",
              options.in_features(), " hidden=", options.hidden_features());
  const int64_t out = options.out_features() > 0 ? options.out_features() : options.in_features();
  fc1 = register_module("fc1", torch::nn::Linear(options.in_features(), options.hidden_features()));
  drop1 = register_module("drop1", torch::nn::Dropout(options.drop()));
  fc2 = register_module("fc2", torch::nn::Linear(options.hidden_features(), out));
  drop2 = register_module("drop2", torch::nn::Dropout(options.drop()));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  // Exact (erf) GELU, as nn.GELU() in timm.
  return drop2->forward(fc2->forward(drop1->forward(at::gelu(fc1->forward(x)))));
}

}  // namespace tessera::nn
