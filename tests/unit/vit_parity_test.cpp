// Parity of the Vision Transformer (src/tessera/models/vit.h) with timm on the same
// weights: eval output, train-mode output (dropout off) and the input gradient, at a
// timm preset's own size and at non-default ones. timm runs at test time
// (tests/reference/timm_reference.py).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <iostream>

#include "reference_runner.h"
#include "tessera/models/pretrained.h"
#include "tessera/models/registry.h"

namespace tessera::models {
namespace {

using testing::max_abs_diff;

constexpr double kTolerance = 1e-4;  // fp32, max abs

struct ParityCase {
  std::string label;
  config::ModelConfig config;
  std::string timm_kwargs;  // the same overrides in timm's words (JSON)
};

const std::vector<ParityCase>& cases() {
  static const std::vector<ParityCase> all = [] {
    std::vector<ParityCase> v;
    config::ModelConfig small;
    small.name = "vit_small_patch16_224";
    v.push_back({"vit_small_patch16_224 224", small, "{}"});

    config::ModelConfig tiny;
    tiny.name = "vit_tiny_patch16_224";
    tiny.img_size = 96;
    tiny.patch_size = 8;
    tiny.num_classes = 10;
    v.push_back({"vit_tiny_patch16_224 img 96 patch 8 10 classes", tiny,
                 R"({"img_size": 96, "patch_size": 8, "num_classes": 10})"});

    // timm's other pooling path: fc_norm after the mean of the patch tokens.
    config::ModelConfig avg;
    avg.name = "vit_tiny_patch16_224";
    avg.img_size = 64;
    avg.depth = 2;
    avg.class_token = false;
    avg.global_pool = config::GlobalPool::Avg;
    v.push_back({"vit_tiny_patch16_224 img 64 depth 2 avg pool no class token", avg,
                 R"({"img_size": 64, "depth": 2, "class_token": false, "global_pool": "avg"})"});
    return v;
  }();
  return all;
}

// timm builds the case's model and writes its weights and outputs; Tessera builds the
// same config, loads the weights strictly by name and must give timm's outputs.
void expect_parity(const ParityCase& c) {
  const auto dir = testing::scratch_dir();
  testing::run_reference_script("timm_reference.py",
                                c.config.name + " '" + dir.string() + "' '" + c.timm_kwargs + "' 2 0");
  ASSERT_FALSE(::testing::Test::HasFailure());
  const auto io = testing::read_tensors(dir / "io.safetensors");
  auto model = create(c.config);
  const auto loaded = load_pretrained(*model, dir / "weights.safetensors");
  ASSERT_TRUE(loaded.new_heads.empty() && !loaded.pos_embed_from) << "the same architecture loads unchanged";

  model->eval();
  auto input = io.at("input").clone().requires_grad_(true);
  auto out = model->forward(input);
  ASSERT_EQ(out.sizes(), io.at("eval_out").sizes());
  const double eval_err = max_abs_diff(out, io.at("eval_out"));
  (out * io.at("grad_weight")).sum().backward();
  const double grad_err = max_abs_diff(input.grad(), io.at("input_grad"));

  model->train();  // built with dropout and drop path 0, as timm_reference.py turns them off
  at::Tensor train_out;
  {
    at::NoGradGuard no_grad;
    train_out = model->forward(io.at("input"));
  }
  const double train_err = max_abs_diff(train_out, io.at("train_out"));

  std::cout << "[parity] " << c.label << " eval: max abs err " << eval_err << "\n"
            << "[parity] " << c.label << " train: max abs err " << train_err << "\n"
            << "[parity] " << c.label << " input grad: max abs err " << grad_err << "\n";
  EXPECT_LE(eval_err, kTolerance) << c.label;
  EXPECT_LE(train_err, kTolerance) << c.label;
  EXPECT_LE(grad_err, kTolerance) << c.label;
}

TEST(VitParity, SmallPatch16At224) { expect_parity(cases()[0]); }
TEST(VitParity, TinyAtImg96Patch8TenClasses) { expect_parity(cases()[1]); }
TEST(VitParity, AveragePoolingWithoutClassToken) { expect_parity(cases()[2]); }

}  // namespace
}  // namespace tessera::models
