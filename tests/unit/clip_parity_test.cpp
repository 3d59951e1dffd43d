// Parity of CLIP (src/tessera/models/clip.h) with open_clip, run at test time: the same
// weights loaded by open_clip's names, then image / text features, logits and the input
// gradient compared in fp32; and every preset's parameter count against open_clip's.
#include "tessera/models/clip.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "fixtures/reduced_clip.h"
#include "reference_runner.h"
#include "tessera/models/model_entry.h"
#include "tessera/train/checkpoint.h"

namespace tessera::models {
namespace {

using tessera::testing::max_abs_diff;
using tessera::testing::reduced_clip_config;
using tessera::testing::read_tensors;
using tessera::testing::run_reference_script;
using tessera::testing::scratch_dir;

constexpr double kTolerance = 1e-4;

struct ParityCase {
  std::string label;        // for the printed figures
  std::string python_name;  // open_clip model name
  std::string overrides;    // open_clip create_model keyword arguments (JSON)
  config::ModelConfig config;
  int64_t images = 2;
  int64_t texts = 3;
  bool grad = true;
};

void check_parity(const ParityCase& c) {
  const auto dir = scratch_dir();
  std::string args = "model '" + c.python_name + "' '" + dir.string() + "' '" + c.overrides + "' --images " +
                     std::to_string(c.images) + " --texts " + std::to_string(c.texts) + (c.grad ? " --grad" : "");
  run_reference_script("open_clip_reference.py", args);
  if (::testing::Test::HasFailure()) return;

  auto model = create_clip(c.config);
  train::load_weights(*model, dir / "weights.safetensors");  // strict: every open_clip name, nothing else
  model->eval();
  const auto io = read_tensors(dir / "io.safetensors");

  auto images = io.at("images").clone().requires_grad_(c.grad);
  const auto& tokens = io.at("tokens");
  at::Tensor image_features, text_features;
  {
    at::NoGradGuard no_grad;
    image_features = model->encode_image(images);
    text_features = model->encode_text(tokens);
  }
  auto out = model->forward(images, tokens);
  auto logits = out.logits_per_image();

  auto compare = [&](const std::string& what, const at::Tensor& got, const at::Tensor& expected) {
    ASSERT_EQ(got.sizes(), expected.sizes()) << what;
    const double err = max_abs_diff(got, expected);
    std::cout << "[parity] " << c.label << " " << what << ": max abs err " << err << "\n";
    EXPECT_LE(err, kTolerance) << what;
  };
  compare("image features", image_features, io.at("image_features"));
  compare("text features", text_features, io.at("text_features"));
  compare("logit scale", out.logit_scale.detach().reshape({1}), io.at("logit_scale"));
  compare("logits", logits.detach(), io.at("logits"));
  if (c.grad) {
    (logits * io.at("grad_weight")).sum().backward();
    compare("input-image gradient", images.grad(), io.at("image_grad"));
  }
}

std::string reduced_overrides(int64_t context_length) {
  return nlohmann::json{{"embed_dim", 32},
                        {"vision_cfg", {{"image_size", 32}, {"patch_size", 8}, {"width", 64}, {"layers", 2},
                                        {"head_width", 32}, {"mlp_ratio", 2.0}}},
                        {"text_cfg", {{"context_length", context_length}, {"vocab_size", 49408}, {"width", 48},
                                      {"heads", 4}, {"layers", 2}}}}
      .dump();
}

TEST(ClipParity, CustomClipMatchesOpenClip) {
  // "clip" with every number from the recipe, against open_clip's CLIP built from the same
  // numbers (GELU, context 77): features, logits and the gradient reaching the images.
  check_parity({"clip (reduced ViT-B-32 structure)", "ViT-B-32", reduced_overrides(77),
                reduced_clip_config("clip", 32, 77)});
}

TEST(ClipParity, QuickGeluWithShortContextMatchesOpenClip) {
  check_parity({"ViT-B-32-quickgelu (reduced, context 16)", "ViT-B-32-quickgelu", reduced_overrides(16),
                reduced_clip_config("ViT-B-32-quickgelu", 32, 16)});
}

TEST(ClipParity, FullViTB32MatchesOpenClip) {
  // The full-size preset (151M parameters), one image and two captions, forward only.
  config::ModelConfig c;
  c.name = "ViT-B-32";
  check_parity({"ViT-B-32 (full size)", "ViT-B-32", "{}", c, /*images=*/1, /*texts=*/2, /*grad=*/false});
}

TEST(ClipParity, ParameterCountsMatchOpenClip) {
  const std::vector<std::string> names = {"ViT-B-32", "ViT-B-32-quickgelu", "ViT-B-16", "ViT-B-16-quickgelu",
                                          "ViT-L-14", "ViT-L-14-quickgelu"};
  std::string args = "params";
  for (const auto& n : names) args += " '" + n + "'";
  const auto result = run_reference_script("open_clip_reference.py", args);
  ASSERT_FALSE(HasFailure());
  // The JSON object is the script's last line (open_clip logs warnings before it).
  const auto start = result.output.rfind("\n{");
  const auto counts = nlohmann::json::parse(result.output.substr(start == std::string::npos ? 0 : start + 1));
  const auto entries = clip_entries();
  for (const auto& name : names) {
    const int64_t expected = counts.at(name).get<int64_t>();
    auto entry = std::find_if(entries.begin(), entries.end(), [&](const ModelEntry& e) { return e.name == name; });
    ASSERT_NE(entry, entries.end()) << name << " is not registered";
    const int64_t got = entry->num_params();
    std::cout << "[parity] " << name << " parameters: tessera " << got << ", open_clip " << expected << "\n";
    EXPECT_EQ(got, expected) << name;
  }
}

}  // namespace
}  // namespace tessera::models
