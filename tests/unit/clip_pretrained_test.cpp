// Tests for loading open_clip-named weights into CLIP (src/tessera/models/clip_pretrained.h)
// without Python: strictness and its messages, the DDP prefix, the position-embedding
// resizes' shapes. Parity with open_clip's own loading is in tests/integration/convert_cli_test.cpp.
#include "tessera/models/clip_pretrained.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>

#include "test_env.h"
#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"
#include "tessera/models/registry.h"

namespace tessera::models {
namespace {

namespace fs = std::filesystem;

config::ModelConfig tiny_clip(int64_t image_size = 32, int64_t context_length = 8) {
  config::ModelConfig c;
  c.name = "clip";
  c.embed_dim = 16;
  c.vision.image_size = image_size;
  c.vision.patch_size = 8;
  c.vision.width = 32;
  c.vision.heads = 2;
  c.vision.layers = 1;
  c.text.context_length = context_length;
  c.text.vocab_size = 64;
  c.text.width = 32;
  c.text.heads = 2;
  c.text.layers = 1;
  return c;
}

std::map<std::string, at::Tensor> state_of(torch::nn::Module& model) {
  std::map<std::string, at::Tensor> state;
  for (const auto& p : model.named_parameters()) state[p.key()] = p.value().detach().clone();
  return state;
}

// The model's parameters, with names passed through `rename` (empty: left out).
fs::path write_weights(const fs::path& file, torch::nn::Module& model,
                       const std::function<std::string(const std::string&)>& rename = nullptr) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, t] : state_of(model)) {
    const auto saved = rename ? rename(name) : name;
    if (!saved.empty()) tensors.emplace_back(saved, t);
  }
  core::save_safetensors(file, tensors);
  return file;
}

std::string load_error(ClipImpl& model, const fs::path& file) {
  try {
    load_clip_pretrained(model, file);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ClipPretrained, LoadsEveryTensorByName) {
  auto source = create_clip(tiny_clip());
  auto target = create_clip(tiny_clip());
  const auto result = load_clip_pretrained(*target, write_weights(testing::scratch_dir() / "w.safetensors", *source));
  EXPECT_EQ(result.loaded, static_cast<int64_t>(state_of(*source).size()));
  EXPECT_FALSE(result.stripped_module_prefix);
  EXPECT_FALSE(result.image_grid_from.has_value());
  EXPECT_FALSE(result.context_from.has_value());
  for (const auto& [name, t] : state_of(*target)) EXPECT_TRUE(at::equal(t, state_of(*source).at(name))) << name;
}

TEST(ClipPretrained, DdpModulePrefixIsDroppedOnlyWhenEveryNameHasIt) {
  const auto dir = testing::scratch_dir();
  auto source = create_clip(tiny_clip());
  auto target = create_clip(tiny_clip());
  const auto all = write_weights(dir / "ddp.safetensors", *source, [](const std::string& n) { return "module." + n; });
  EXPECT_TRUE(load_clip_pretrained(*target, all).stripped_module_prefix);
  EXPECT_TRUE(at::equal(target->text_projection, source->text_projection));
  // A prefix on some names only is not DDP's: those names are unexpected.
  const auto some = write_weights(dir / "some.safetensors", *source, [](const std::string& n) {
    return n == "ln_final.weight" ? "module." + n : n;
  });
  const auto error = load_error(*target, some);
  EXPECT_NE(error.find("missing ln_final.weight"), std::string::npos) << error;
  EXPECT_NE(error.find("unexpected module.ln_final.weight (did you mean ln_final.weight?)"), std::string::npos)
      << error;
}

TEST(ClipPretrained, MissingRenamedAndMisshapenAreNamed) {
  const auto dir = testing::scratch_dir();
  auto model = create_clip(tiny_clip());
  auto error = load_error(*model, write_weights(dir / "missing.safetensors", *model, [](const std::string& n) {
    return n == "transformer.resblocks.0.attn.out_proj.bias" ? std::string() : n;
  }));
  EXPECT_NE(error.find(std::string((dir / "missing.safetensors").string()) + ": the weights do not fit the model"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("missing transformer.resblocks.0.attn.out_proj.bias"), std::string::npos) << error;

  error = load_error(*model, write_weights(dir / "renamed.safetensors", *model, [](const std::string& n) {
    return n == "visual.ln_post.weight" ? "visual.ln_posst.weight" : n;
  }));
  EXPECT_NE(error.find("unexpected visual.ln_posst.weight (did you mean visual.ln_post.weight?)"), std::string::npos)
      << error;

  auto wider = tiny_clip();
  wider.embed_dim = 24;
  auto other = create_clip(wider);
  error = load_error(*model, write_weights(dir / "wider.safetensors", *other));
  EXPECT_NE(error.find("shape mismatch"), std::string::npos) << error;
  EXPECT_NE(error.find("text_projection (file [32, 24], model [32, 16])"), std::string::npos) << error;
}

TEST(ClipPretrained, TimmWeightsAreCalledTimm) {
  config::ModelConfig vit;
  vit.name = "vit_tiny_patch16_224";
  vit.depth = 1;
  vit.img_size = 32;
  auto source = create(vit);
  auto model = create_clip(tiny_clip());
  const auto error = load_error(*model, write_weights(testing::scratch_dir() / "vit.safetensors", *source));
  EXPECT_NE(error.find("the file holds timm ViT/DeiT weights, the model is open_clip CLIP"), std::string::npos)
      << error;
  EXPECT_NE(error.find("missing "), std::string::npos) << error;
}

TEST(ClipPretrained, PositionEmbeddingsAreResized) {
  auto source = create_clip(tiny_clip(/*image_size=*/32, /*context_length=*/8));
  auto target = create_clip(tiny_clip(/*image_size=*/48, /*context_length=*/12));
  const auto result = load_clip_pretrained(*target, write_weights(testing::scratch_dir() / "w.safetensors", *source));
  ASSERT_TRUE(result.image_grid_from.has_value());
  EXPECT_EQ(*result.image_grid_from, (std::array<int64_t, 2>{4, 4}));
  EXPECT_EQ(*result.image_grid_to, (std::array<int64_t, 2>{6, 6}));
  EXPECT_EQ(result.context_from.value_or(-1), 8);
  EXPECT_EQ(result.context_to.value_or(-1), 12);
  // The class token's row is kept as it was.
  EXPECT_TRUE(at::equal(target->visual->positional_embedding[0], source->visual->positional_embedding[0]));
  // Linear interpolation with align_corners false keeps the ends where they were.
  EXPECT_TRUE(at::allclose(target->positional_embedding[0], source->positional_embedding[0]));
  EXPECT_TRUE(at::allclose(target->positional_embedding[11], source->positional_embedding[7]));
}

TEST(ClipPretrained, ScalarLogitScaleSavedAsVector) {
  auto source = create_clip(tiny_clip());
  auto target = create_clip(tiny_clip());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, t] : state_of(*source)) {
    tensors.emplace_back(name, name == "logit_scale" ? (t + 1.0).reshape({1}) : t);
  }
  const auto file = testing::scratch_dir() / "w.safetensors";
  core::save_safetensors(file, tensors);
  load_clip_pretrained(*target, file);
  EXPECT_EQ(target->logit_scale.dim(), 0);
  EXPECT_FLOAT_EQ(target->logit_scale.item<float>(), source->logit_scale.item<float>() + 1.0f);
}

}  // namespace
}  // namespace tessera::models
