// Stochastic depth (Huang et al., 2016): drop a residual branch per sample while training.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace tessera::nn {

// Zeroes whole samples of `x` with probability `p` and scales survivors by 1/(1-p).
at::Tensor drop_path(const at::Tensor& x, double p, bool training);

class DropPathImpl : public torch::nn::Module {
 public:
  explicit DropPathImpl(double p = 0.0);
  at::Tensor forward(const at::Tensor& x) { return drop_path(x, p, is_training()); }
  double p;
};
TORCH_MODULE(DropPath);

}  // namespace tessera::nn
