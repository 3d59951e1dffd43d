// Weight initialisation used by timm's models (truncated normal, as in timm's trunc_normal_).
#pragma once

#include <ATen/core/Tensor.h>

namespace tessera::nn {

// Fills `t` in place with N(mean, std²) truncated to the absolute interval [a, b],
// by inverse-CDF sampling (the bounds are absolute values, as in timm / PyTorch).
void trunc_normal_(at::Tensor t, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0);

}  // namespace tessera::nn
