// Tests for multi-head attention (src/tessera/nn/attention.h, sdpa.h) against a plain
// softmax(Q K^T / sqrt(d)) V written out by hand.
#include "tessera/nn/attention.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tessera/nn/sdpa.h"

namespace tessera::nn {
namespace {

at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& additive_mask = {}) {
  auto scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (additive_mask.defined()) scores = scores + additive_mask;
  return at::matmul(at::softmax(scores, -1), v);
}

TEST(Sdpa, EqualsSoftmaxReference) {
  at::manual_seed(0);
  auto q = at::randn({2, 3, 5, 8}, at::kDouble), k = at::randn({2, 3, 5, 8}, at::kDouble),
       v = at::randn({2, 3, 5, 8}, at::kDouble);
  EXPECT_TRUE(at::allclose(scaled_dot_product(q, k, v), reference_attention(q, k, v), 1e-10, 1e-12));
}

TEST(Sdpa, AdditiveMaskEqualsReference) {
  at::manual_seed(1);
  auto q = at::randn({1, 2, 6, 4}), k = at::randn({1, 2, 6, 4}), v = at::randn({1, 2, 6, 4});
  auto mask = at::randn({1, 1, 6, 6});
  EXPECT_TRUE(at::allclose(scaled_dot_product(q, k, v, mask), reference_attention(q, k, v, mask), 1e-5, 1e-6));
}

TEST(Sdpa, CausalEqualsReference) {
  at::manual_seed(2);
  auto q = at::randn({1, 1, 4, 4}), k = at::randn({1, 1, 4, 4}), v = at::randn({1, 1, 4, 4});
  auto upper = at::ones({4, 4}).triu(1).to(at::kBool);
  auto mask = at::zeros({4, 4}).masked_fill(upper, -INFINITY);
  EXPECT_TRUE(at::allclose(scaled_dot_product(q, k, v, std::nullopt, 0.0, /*is_causal=*/true),
                           reference_attention(q, k, v, mask), 1e-5, 1e-6));
}

TEST(Attention, ModuleEqualsHandWrittenMultiHead) {
  at::manual_seed(3);
  const int64_t B = 2, N = 7, C = 12, H = 3;
  Attention attn(AttentionOptions(C, H));
  attn->eval();
  auto x = at::randn({B, N, C});
  // By hand: project, split heads, attend per head, merge, project.
  auto qkv = at::linear(x, attn->qkv->weight, attn->qkv->bias).reshape({B, N, 3, H, C / H});
  auto q = qkv.select(2, 0).transpose(1, 2), k = qkv.select(2, 1).transpose(1, 2),
       v = qkv.select(2, 2).transpose(1, 2);  // (B, H, N, C/H)
  auto merged = reference_attention(q, k, v).transpose(1, 2).reshape({B, N, C});
  auto expected = at::linear(merged, attn->proj->weight, attn->proj->bias);
  EXPECT_TRUE(at::allclose(attn->forward(x), expected, 1e-5, 1e-6));
}

TEST(Attention, QkvBiasCanBeOff) {
  Attention attn(AttentionOptions(8, 2).qkv_bias(false));
  EXPECT_FALSE(attn->qkv->bias.defined());
}

TEST(Attention, RejectsHeadsThatDoNotDivideDim) {
  EXPECT_THROW(Attention(AttentionOptions(10, 3)), c10::Error);
}

}  // namespace
}  // namespace tessera::nn
