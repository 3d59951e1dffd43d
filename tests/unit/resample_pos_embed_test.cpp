// Tests for position-embedding resampling (src/tessera/nn/resample_pos_embed.h): the
// same numbers as timm's resample_abs_pos_embed, run in Python at test time.
#include "tessera/nn/resample_pos_embed.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <iostream>

#include "reference_runner.h"

namespace tessera::nn {
namespace {

TEST(ResamplePosEmbed, SameNumbersAsTimm) {
  struct Case {
    int64_t prefix, old_h, old_w, new_h, new_w, dim;
  };
  const std::vector<Case> cases = {
      {1, 14, 14, 6, 6, 32},    // ViT 224 -> 96: downsampled, antialiased
      {2, 7, 7, 12, 12, 16},    // DeiT's two tokens, upsampled
      {0, 4, 4, 3, 5, 8},       // no prefix, a grid that is not square
      {1, 24, 24, 14, 14, 8}};  // 384 -> 224
  std::string json = "[";
  for (const auto& c : cases) {
    json += (json.size() > 1 ? ", [" : "[") + std::to_string(c.prefix) + ", " + std::to_string(c.old_h) + ", " +
            std::to_string(c.old_w) + ", " + std::to_string(c.new_h) + ", " + std::to_string(c.new_w) + ", " +
            std::to_string(c.dim) + "]";
  }
  json += "]";
  const auto file = testing::scratch_dir() / "resampled.safetensors";
  testing::run_reference_script("timm_pretrained_reference.py", "resample '" + file.string() + "' '" + json + "'");
  ASSERT_FALSE(HasFailure());
  const auto t = testing::read_tensors(file);

  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto& input = t.at("input_" + std::to_string(i));
    const auto& expected = t.at("output_" + std::to_string(i));
    const auto out = resample_abs_pos_embed(input, {c.new_h, c.new_w}, {c.old_h, c.old_w}, c.prefix);
    ASSERT_EQ(out.sizes(), expected.sizes()) << "case " << i;
    const double err = testing::max_abs_diff(out, expected);
    std::cout << "[parity] resample_abs_pos_embed " << c.prefix << " prefix, " << c.old_h << "x" << c.old_w << " -> "
              << c.new_h << "x" << c.new_w << ": max abs err " << err << "\n";
    EXPECT_LE(err, 1e-5) << "case " << i;
    // The class / distillation rows pass through untouched.
    EXPECT_TRUE(at::equal(out.slice(1, 0, c.prefix), input.slice(1, 0, c.prefix))) << "case " << i;
  }
}

TEST(ResamplePosEmbed, SameGridIsUnchanged) {
  auto p = at::randn({1, 1 + 16, 8});
  EXPECT_TRUE(resample_abs_pos_embed(p, {4, 4}, {4, 4}, 1).is_same(p));
}

TEST(ResamplePosEmbed, KeepsTheDtype) {
  auto p = at::randn({1, 1 + 16, 8}).to(at::kBFloat16);
  EXPECT_EQ(resample_abs_pos_embed(p, {2, 2}, {4, 4}, 1).scalar_type(), at::kBFloat16);
}

TEST(ResamplePosEmbed, TokenCountMustMatchTheGrid) {
  auto p = at::randn({1, 1 + 15, 8});
  EXPECT_THROW(resample_abs_pos_embed(p, {2, 2}, {4, 4}, 1), c10::Error);
}

}  // namespace
}  // namespace tessera::nn
