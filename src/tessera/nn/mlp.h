// The transformer's feed-forward block: fc1 → GELU → dropout → fc2 → dropout (timm's Mlp).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace tessera::nn {

struct MlpOptions {
  MlpOptions(int64_t in_features, int64_t hidden_features)
      : in_features_(in_features), hidden_features_(hidden_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, hidden_features);
  TORCH_ARG(int64_t, out_features) = 0;  // 0 = in_features
  TORCH_ARG(double, drop) = 0.0;
};

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const MlpOptions& options);
  at::Tensor forward(const at::Tensor& x);

  MlpOptions options;
  torch::nn::Linear fc1{nullptr};
  torch::nn::Linear fc2{nullptr};
  torch::nn::Dropout drop1{nullptr};
  torch::nn::Dropout drop2{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace tessera::nn
