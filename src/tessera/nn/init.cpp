// Truncated-normal initialisation (see init.h).
#include "tessera/nn/init.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

namespace tessera::nn {

void trunc_normal_(at::Tensor t, double mean, double std, double a, double b) {
  at::NoGradGuard no_grad;
  auto norm_cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
  const double lo = norm_cdf((a - mean) / std);
  const double hi = norm_cdf((b - mean) / std);
  // Uniform in [2lo-1, 2hi-1], then erfinv maps it back to a truncated standard normal.
  t.uniform_(2 * lo - 1, 2 * hi - 1);
  t.erfinv_();
  t.mul_(std * std::sqrt(2.0)).add_(mean);
  t.clamp_(a, b);
}

}  // namespace tessera::nn
