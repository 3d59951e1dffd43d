// Stochastic depth (see drop_path.h).
#include "tessera/nn/drop_path.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace tessera::nn {

at::Tensor drop_path(const at::Tensor& x, double p, bool training) {
  if (p == 0.0 || !training) return x;
  const double keep = 1.0 - p;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);  // (B, 1, 1, ...): one draw per sample
  auto mask = at::empty(shape, x.options()).bernoulli_(keep).div_(keep);
  return x * mask;
}

DropPathImpl::DropPathImpl(double p_) : p(p_) {
  TORCH_CHECK(p >= 0.0 && p < 1.0, "DropPath: p must be in [0, 1), got ", p);
}

}  // namespace tessera::nn
