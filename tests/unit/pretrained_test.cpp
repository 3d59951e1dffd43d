// Tests for loading reference weights (src/tessera/models/pretrained.h): the same result
// as timm's own pretrained loading when num_classes and img_size change (timm runs at
// test time, tests/reference/timm_pretrained_reference.py), and strictness by name.
#include "tessera/models/pretrained.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "reference_runner.h"
#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"
#include "tessera/models/clip.h"
#include "tessera/models/registry.h"

namespace tessera::models {
namespace {

namespace fs = std::filesystem;

std::map<std::string, at::Tensor> state_of(torch::nn::Module& model) {
  std::map<std::string, at::Tensor> state;
  for (const auto& p : model.named_parameters()) state[p.key()] = p.value().detach().clone();
  return state;
}

bool is_head(const std::string& name) { return name.rfind("head.", 0) == 0 || name.rfind("head_dist.", 0) == 0; }

// timm builds `name` with `source_kwargs` and saves it, then loads that file its own way
// into the model with `target_kwargs`. Tessera loads the same file into `target` (the same
// model) and must hold the same tensors, except new heads: random in both, ours must be
// the model's own initialisation, untouched.
void expect_loads_like_timm(const std::string& label, const config::ModelConfig& target,
                            const nlohmann::json& source_kwargs, const nlohmann::json& target_kwargs,
                            const std::vector<std::string>& new_heads, std::array<int64_t, 2> grid_from,
                            std::array<int64_t, 2> grid_to) {
  const auto dir = testing::scratch_dir();
  const nlohmann::json cases = {{target.name, dir.string(), source_kwargs, target_kwargs}};
  testing::run_reference_script("timm_pretrained_reference.py", "load '" + cases.dump() + "'");
  ASSERT_FALSE(::testing::Test::HasFailure());

  auto model = create(target);
  const auto fresh = state_of(*model);
  const auto result = load_pretrained(*model, dir / "source.safetensors");
  EXPECT_EQ(result.new_heads, new_heads);
  ASSERT_TRUE(result.pos_embed_from.has_value());
  EXPECT_EQ(*result.pos_embed_from, grid_from);
  EXPECT_EQ(*result.pos_embed_to, grid_to);

  const auto timm = testing::read_tensors(dir / "loaded.safetensors");
  const auto ours = state_of(*model);
  ASSERT_EQ(ours.size(), timm.size());
  double err = 0, pos_err = 0;
  for (const auto& [name, tensor] : ours) {
    ASSERT_TRUE(timm.count(name)) << name;
    ASSERT_EQ(tensor.sizes(), timm.at(name).sizes()) << name;
    if (is_head(name) && !new_heads.empty()) {
      EXPECT_TRUE(at::equal(tensor, fresh.at(name))) << name;
      continue;
    }
    const double d = testing::max_abs_diff(tensor, timm.at(name));
    if (name == "pos_embed") {
      pos_err = d;
    } else {
      err = std::max(err, d);
    }
  }
  std::cout << "[parity] " << label << " pos_embed resampled like timm's loader: max abs err " << pos_err << "\n"
            << "[parity] " << label << " other tensors: max abs err " << err << "\n";
  EXPECT_LE(pos_err, 1e-5);
  EXPECT_EQ(err, 0.0);
}

TEST(PretrainedLikeTimm, DistilledNewClassesAndSize) {
  config::ModelConfig c;
  c.name = "deit_tiny_distilled_patch16_224";
  c.depth = 2;
  c.num_classes = 10;
  c.img_size = 96;
  expect_loads_like_timm("deit_tiny_distilled 224/1000 classes -> 96/10 classes", c, {{"depth", 2}},
                         {{"depth", 2}, {"num_classes", 10}, {"img_size", 96}}, {"head", "head_dist"}, {14, 14},
                         {6, 6});
}

TEST(PretrainedLikeTimm, VitLargerImageSameHead) {
  config::ModelConfig c;
  c.name = "vit_tiny_patch16_224";
  c.depth = 1;
  c.img_size = 128;
  expect_loads_like_timm("vit_tiny 64 -> 128", c, {{"depth", 1}, {"img_size", 64}}, {{"depth", 1}, {"img_size", 128}},
                         {}, {4, 4}, {8, 8});
}

// A small custom ViT and its weights written by Tessera (the same names as timm's).
config::ModelConfig small_vit(int64_t embed_dim = 32, int64_t num_classes = 5) {
  config::ModelConfig c;
  c.name = "vit";
  c.img_size = 32;
  c.patch_size = 8;
  c.embed_dim = embed_dim;
  c.depth = 2;
  c.num_heads = std::vector<int64_t>{2};
  c.num_classes = num_classes;
  return c;
}

fs::path write_weights(const fs::path& file, torch::nn::Module& model, const std::vector<std::string>& drop = {},
                       const std::vector<std::pair<std::string, at::Tensor>>& add = {}) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, t] : state_of(model)) {
    if (std::find(drop.begin(), drop.end(), name) == drop.end()) tensors.emplace_back(name, t);
  }
  for (const auto& extra : add) tensors.push_back(extra);
  core::save_safetensors(file, tensors);
  return file;
}

std::string load_error(ImageClassifierImpl& model, const fs::path& file) {
  try {
    load_pretrained(model, file);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Pretrained, SameArchitectureLoadsEverything) {
  auto source = create(small_vit());
  auto target = create(small_vit());
  const auto file = write_weights(testing::scratch_dir() / "w.safetensors", *source);
  const auto result = load_pretrained(*target, file);
  EXPECT_TRUE(result.new_heads.empty());
  EXPECT_FALSE(result.pos_embed_from.has_value());
  for (const auto& [name, t] : state_of(*target)) EXPECT_TRUE(at::equal(t, state_of(*source).at(name))) << name;
}

TEST(Pretrained, MissingAndUnexpectedNamesAreListed) {
  auto model = create(small_vit());
  const auto file = write_weights(testing::scratch_dir() / "w.safetensors", *model, {"blocks.1.norm1.weight"},
                                  {{"blocks.2.norm1.weight", at::zeros({32})}});
  const auto error = load_error(*model, file);
  EXPECT_NE(error.find(file.string()), std::string::npos) << error;
  EXPECT_NE(error.find("missing blocks.1.norm1.weight"), std::string::npos) << error;
  EXPECT_NE(error.find("unexpected blocks.2.norm1.weight"), std::string::npos) << error;
}

TEST(Pretrained, OtherShapesAreAnErrorBesidesTheHead) {
  auto source = create(small_vit(/*embed_dim=*/32));
  auto target = create(small_vit(/*embed_dim=*/48));
  const auto file = write_weights(testing::scratch_dir() / "w.safetensors", *source);
  const auto error = load_error(*target, file);
  EXPECT_NE(error.find("shape mismatch"), std::string::npos) << error;
  EXPECT_NE(error.find("blocks.0.attn.qkv.weight"), std::string::npos) << error;
}

TEST(Pretrained, HeadlessFileOrHeadlessModel) {
  const auto dir = testing::scratch_dir();
  auto with_head = create(small_vit(32, 5));
  auto headless = create(small_vit(32, 0));
  // A file without a head (features only) gives the model a fresh head.
  auto result = load_pretrained(*with_head, write_weights(dir / "headless.safetensors", *headless));
  EXPECT_EQ(result.new_heads, std::vector<std::string>{"head"});
  // A model without a head leaves the file's out.
  result = load_pretrained(*headless, write_weights(dir / "with_head.safetensors", *with_head));
  EXPECT_EQ(result.dropped_heads, std::vector<std::string>{"head"});
}

TEST(Pretrained, DistilledWeightsDoNotMakeAViT) {
  config::ModelConfig deit;
  deit.name = "deit_tiny_distilled_patch16_224";
  deit.depth = 1;
  deit.img_size = 32;
  config::ModelConfig vit = deit;
  vit.name = "vit_tiny_patch16_224";
  auto source = create(deit);
  auto target = create(vit);
  const auto error = load_error(*target, write_weights(testing::scratch_dir() / "deit.safetensors", *source));
  EXPECT_NE(error.find("unexpected dist_token, head_dist.bias, head_dist.weight"), std::string::npos) << error;
  EXPECT_NE(error.find("shape mismatch pos_embed"), std::string::npos) << error;
}

TEST(Pretrained, DdpModulePrefixIsDropped) {
  auto source = create(small_vit());
  auto target = create(small_vit());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, t] : state_of(*source)) tensors.emplace_back("module." + name, t);
  const auto file = testing::scratch_dir() / "ddp.safetensors";
  core::save_safetensors(file, tensors);
  const auto result = load_pretrained(*target, file);
  EXPECT_TRUE(result.stripped_module_prefix);
  for (const auto& [name, t] : state_of(*target)) EXPECT_TRUE(at::equal(t, state_of(*source).at(name))) << name;
}

TEST(Pretrained, RenamedKeyGetsASuggestion) {
  auto model = create(small_vit());
  const auto file = write_weights(testing::scratch_dir() / "w.safetensors", *model, {"blocks.0.attn.qkv.weight"},
                                  {{"blocks.0.atn.qkv.weight", state_of(*model).at("blocks.0.attn.qkv.weight")}});
  const auto error = load_error(*model, file);
  EXPECT_NE(error.find("unexpected blocks.0.atn.qkv.weight (did you mean blocks.0.attn.qkv.weight?)"),
            std::string::npos)
      << error;
}

TEST(Pretrained, AnotherFamilysWeightsAreNamed) {
  config::ModelConfig clip;
  clip.name = "clip";
  clip.embed_dim = 16;
  clip.vision.image_size = 32;
  clip.vision.patch_size = 8;
  clip.vision.width = 32;
  clip.vision.heads = 2;
  clip.vision.layers = 1;
  clip.text.context_length = 8;
  clip.text.vocab_size = 64;
  clip.text.width = 32;
  clip.text.heads = 2;
  clip.text.layers = 1;
  auto source = create_clip(clip);
  auto model = create(small_vit());
  const auto error = load_error(*model, write_weights(testing::scratch_dir() / "clip.safetensors", *source));
  EXPECT_NE(error.find("the file holds open_clip CLIP weights, the model is timm ViT/DeiT"), std::string::npos)
      << error;
}

TEST(Pretrained, MissingFileNamesIt) {
  auto model = create(small_vit());
  const auto error = load_error(*model, testing::scratch_dir() / "nowhere.safetensors");
  EXPECT_NE(error.find("nowhere.safetensors"), std::string::npos) << error;
}

}  // namespace
}  // namespace tessera::models
