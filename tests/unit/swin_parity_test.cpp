// Parity of the Swin Transformer (src/tessera/models/swin.h) with timm, run at test time:
// timm's weights load by name, and eval / train outputs and the input gradient match in
// fp32; the presets' parameter counts match timm's.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "reference_runner.h"
#include "tessera/models/model_entry.h"
#include "tessera/models/swin.h"
#include "tessera/train/checkpoint.h"

namespace tessera::models {
namespace {

using testing::max_abs_diff;
using testing::read_tensors;
using testing::run_reference_script;
using testing::scratch_dir;

constexpr double kTolerance = 1e-4;

// Runs timm_reference.py for `timm_name` with `kwargs`, loads its weights into the Tessera
// model that `config` describes, and compares eval output, train output (dropout and drop
// path off) and the input gradient.
void expect_parity(const std::string& label, const std::string& timm_name, const std::string& kwargs_json,
                   config::ModelConfig config, int batch) {
  const auto dir = scratch_dir();
  auto result = run_reference_script("timm_reference.py",
                                     timm_name + " '" + dir.string() + "' '" + kwargs_json + "' " + std::to_string(batch));
  ASSERT_EQ(result.exit_code, 0);

  // Drop path has no parameters; off here, as the reference turns it off for train_out.
  config.drop_path_rate = 0.0;
  SwinTransformer model(swin_options(config));
  train::load_weights(*model, dir / "weights.safetensors");  // strict: every timm name, nothing else
  auto io = read_tensors(dir / "io.safetensors");
  const auto& input = io.at("input");

  model->eval();
  auto x = input.clone().requires_grad_(true);
  auto out = model->forward(x);
  const double eval_err = max_abs_diff(out, io.at("eval_out"));
  (out * io.at("grad_weight")).sum().backward();
  const double grad_err = max_abs_diff(x.grad(), io.at("input_grad"));

  model->train();
  at::Tensor train_out;
  {
    at::NoGradGuard no_grad;
    train_out = model->forward(input);
  }
  const double train_err = max_abs_diff(train_out, io.at("train_out"));

  std::cout << "[parity] " << label << " eval: max abs err " << eval_err << "\n"
            << "[parity] " << label << " train: max abs err " << train_err << "\n"
            << "[parity] " << label << " input grad: max abs err " << grad_err << "\n";
  EXPECT_LE(eval_err, kTolerance) << label;
  EXPECT_LE(train_err, kTolerance) << label;
  EXPECT_LE(grad_err, kTolerance) << label;
}

TEST(SwinParity, TinyAt224MatchesTimm) {
  config::ModelConfig c;
  c.name = "swin_tiny_patch4_window7_224";
  expect_parity("swin_tiny_patch4_window7_224 224", c.name, "{}", c, 1);
}

TEST(SwinParity, CustomSizeNotAMultipleOfTheWindowMatchesTimm) {
  // 40 / patch 2 → maps 20, 10, 5, 3 with window 8: stages 0 and 1 are padded to 24 and
  // 16 after the shift, stage 2 clamps the window to 5 with no shift, stage 3 merges an
  // odd map. timm builds it from the Swin-T entry point with every number overridden.
  config::ModelConfig c;
  c.name = "swin";
  c.img_size = 40;
  c.patch_size = 2;
  c.window_size = 8;
  c.embed_dim = 16;
  c.depths = std::vector<int64_t>{2, 2, 2, 2};
  c.num_heads = std::vector<int64_t>{1, 2, 2, 4};
  c.num_classes = 10;
  expect_parity("swin custom img40 patch2 window8", "swin_tiny_patch4_window7_224",
                R"({"img_size": 40, "patch_size": 2, "window_size": 8, "embed_dim": 16, )"
                R"("depths": [2, 2, 2, 2], "num_heads": [1, 2, 2, 4], "num_classes": 10})",
                c, 2);
}

TEST(SwinParity, PresetParamCountsMatchTimm) {
  std::string names;
  std::map<std::string, int64_t> ours;
  for (const auto& entry : swin_entries()) {
    if (entry.name == "swin") continue;  // custom: no timm name
    names += " " + entry.name;
    ours[entry.name] = entry.num_params();
  }
  // Built on the meta device by the script: no memory, no weights.
  auto result = run_reference_script("timm_param_counts.py", names);
  ASSERT_EQ(result.exit_code, 0);
  const auto counts = nlohmann::json::parse(result.output.substr(result.output.rfind('{')));
  for (const auto& [name, n] : ours) {
    ASSERT_TRUE(counts.contains(name) && counts[name].is_number()) << name << " unknown to timm";
    std::cout << "[params] " << name << ": tessera " << n << ", timm " << counts[name].get<int64_t>() << "\n";
    EXPECT_EQ(n, counts[name].get<int64_t>()) << name;
  }
}

}  // namespace
}  // namespace tessera::models
