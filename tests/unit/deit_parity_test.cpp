// Parity of DeiT (src/tessera/models/deit.h) with timm's VisionTransformerDistilled on
// the same weights: the eval output (mean of both heads), both heads' training outputs
// and the input gradient. timm runs at test time (tests/reference/timm_reference.py,
// which trains with set_distilled_training(True)).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <iostream>

#include "reference_runner.h"
#include "tessera/models/deit.h"
#include "tessera/models/pretrained.h"
#include "tessera/models/registry.h"

namespace tessera::models {
namespace {

using testing::max_abs_diff;

constexpr double kTolerance = 1e-4;  // fp32, max abs

// timm writes `name`'s weights (dir/weights.safetensors) and outputs (returned) for
// `timm_kwargs`; empty when the script failed (the test has failed then).
std::map<std::string, at::Tensor> timm_outputs(const std::string& name, const std::string& timm_kwargs,
                                               const std::filesystem::path& dir) {
  testing::run_reference_script("timm_reference.py", name + " '" + dir.string() + "' '" + timm_kwargs + "' 2 0");
  if (::testing::Test::HasFailure()) return {};
  return testing::read_tensors(dir / "io.safetensors");
}

TEST(DeitParity, TinyDistilledAtImg112) {
  const std::string label = "deit_tiny_distilled_patch16_224 img 112";
  const auto dir = testing::scratch_dir();
  const auto io = timm_outputs("deit_tiny_distilled_patch16_224", R"({"img_size": 112})", dir);
  ASSERT_FALSE(HasFailure());

  config::ModelConfig c;
  c.name = "deit_tiny_distilled_patch16_224";
  c.img_size = 112;
  ImageClassifier model = create(c);
  const auto loaded = load_pretrained(*model, dir / "weights.safetensors");
  ASSERT_TRUE(loaded.new_heads.empty() && !loaded.pos_embed_from);

  model->eval();
  auto input = io.at("input").clone().requires_grad_(true);
  auto out = model->forward(input);
  const double eval_err = max_abs_diff(out, io.at("eval_out"));
  (out * io.at("grad_weight")).sum().backward();
  const double grad_err = max_abs_diff(input.grad(), io.at("input_grad"));

  // Distillation training reaches both heads through the ImageClassifier interface.
  model->train();
  at::NoGradGuard no_grad;
  const auto heads = model->forward_distilled(io.at("input"));
  ASSERT_TRUE(heads.has_value());
  const double train_err = max_abs_diff(heads->first, io.at("train_out"));
  const double train_dist_err = max_abs_diff(heads->second, io.at("train_out_dist"));
  // Outside distillation forward() is the mean of the heads in training too (timm's
  // default, distilled_training off).
  const double train_mean_err = max_abs_diff(model->forward(io.at("input")), (heads->first + heads->second) / 2);

  std::cout << "[parity] " << label << " eval: max abs err " << eval_err << "\n"
            << "[parity] " << label << " train head: max abs err " << train_err << "\n"
            << "[parity] " << label << " train head_dist: max abs err " << train_dist_err << "\n"
            << "[parity] " << label << " input grad: max abs err " << grad_err << "\n";
  EXPECT_LE(eval_err, kTolerance);
  EXPECT_LE(train_err, kTolerance);
  EXPECT_LE(train_dist_err, kTolerance);
  EXPECT_LE(grad_err, kTolerance);
  EXPECT_LE(train_mean_err, 1e-6);
  // The two heads really differ: the test would not notice swapped tokens otherwise.
  EXPECT_GT(max_abs_diff(io.at("train_out"), io.at("train_out_dist")), 1e-3);
}

TEST(DeitParity, PlainDeitIsTimmsViT) {
  const std::string label = "deit_small_patch16_224 img 64 depth 4";
  const auto dir = testing::scratch_dir();
  const auto io = timm_outputs("deit_small_patch16_224", R"({"img_size": 64, "depth": 4})", dir);
  ASSERT_FALSE(HasFailure());
  config::ModelConfig c;
  c.name = "deit_small_patch16_224";
  c.img_size = 64;
  c.depth = 4;
  auto model = create(c);
  load_pretrained(*model, dir / "weights.safetensors");
  model->eval();
  auto input = io.at("input").clone().requires_grad_(true);
  auto out = model->forward(input);
  (out * io.at("grad_weight")).sum().backward();
  const double eval_err = max_abs_diff(out, io.at("eval_out"));
  const double grad_err = max_abs_diff(input.grad(), io.at("input_grad"));
  std::cout << "[parity] " << label << " eval: max abs err " << eval_err << "\n"
            << "[parity] " << label << " input grad: max abs err " << grad_err << "\n";
  EXPECT_LE(eval_err, kTolerance);
  EXPECT_LE(grad_err, kTolerance);
  EXPECT_FALSE(model->forward_distilled(io.at("input")).has_value()) << "one head: nothing to distill";
}

}  // namespace
}  // namespace tessera::models
