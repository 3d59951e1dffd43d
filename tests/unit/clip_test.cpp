// Tests for CLIP (src/tessera/models/clip.h) on tiny configs: open_clip's names, parameter
// counts, shapes, end-of-text pooling, causality, recipe overrides and their errors.
#include "tessera/models/clip.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "fixtures/param_count.h"

#include <algorithm>
#include <set>

#include "tessera/core/error.h"
#include "tessera/models/registry.h"

namespace tessera::models {
namespace {

ClipOptions tiny(int64_t in_chans = 3) {
  return ClipOptions()
      .embed_dim(16)
      .vision(ClipVisionOptions().image_size(16).patch_size(8).in_chans(in_chans).width(32).layers(2).heads(2))
      .text(ClipTextOptions().context_length(8).vocab_size(50).width(24).layers(2).heads(3));
}

using tessera::testing::count_params;

TEST(Clip, ParameterNamesAreOpenClips) {
  Clip model(tiny());
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const char* expected :
       {"visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre.weight",
        "visual.ln_pre.bias", "visual.transformer.resblocks.0.ln_1.weight", "visual.transformer.resblocks.0.ln_1.bias",
        "visual.transformer.resblocks.0.attn.in_proj_weight", "visual.transformer.resblocks.0.attn.in_proj_bias",
        "visual.transformer.resblocks.0.attn.out_proj.weight", "visual.transformer.resblocks.0.attn.out_proj.bias",
        "visual.transformer.resblocks.0.ln_2.weight", "visual.transformer.resblocks.0.mlp.c_fc.weight",
        "visual.transformer.resblocks.0.mlp.c_fc.bias", "visual.transformer.resblocks.1.mlp.c_proj.weight",
        "visual.transformer.resblocks.1.mlp.c_proj.bias", "visual.ln_post.weight", "visual.ln_post.bias",
        "visual.proj", "token_embedding.weight", "positional_embedding", "transformer.resblocks.1.attn.in_proj_weight",
        "ln_final.weight", "ln_final.bias", "text_projection", "logit_scale"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  EXPECT_EQ(names.size(), 8u + 2u * 12u + 5u + 2u * 12u + 1u);  // visual, its blocks, text, its blocks, scale
  // open_clip's causal mask is a non-persistent buffer: not in the state dict, nor here.
  EXPECT_TRUE(model->named_buffers().is_empty());
  EXPECT_EQ(count_params(*model), tiny().num_params());
}

TEST(Clip, ParamCountFormulaMatchesTheModule) {
  for (auto o : {tiny(), tiny(1)}) {
    o.vision().mlp_ratio(2.5);
    o.text().mlp_ratio(3.0);
    Clip model(o);
    EXPECT_EQ(count_params(*model), o.num_params());
  }
}

TEST(Clip, ForwardGivesUnitFeaturesAndTheLogitScale) {
  Clip model(tiny());
  model->eval();
  auto images = at::randn({2, 3, 16, 16});
  auto tokens = at::randint(1, 40, {3, 8}, at::kLong);
  tokens.select(1, 5).fill_(49);  // the end-of-text token: the row's largest id
  auto out = model->forward(images, tokens);
  EXPECT_EQ(out.image_features.sizes(), (at::IntArrayRef{2, 16}));
  EXPECT_EQ(out.text_features.sizes(), (at::IntArrayRef{3, 16}));
  EXPECT_TRUE(at::allclose(out.image_features.norm(2, {-1}), at::ones({2})));
  EXPECT_TRUE(at::allclose(out.text_features.norm(2, {-1}), at::ones({3})));
  EXPECT_NEAR(out.logit_scale.item<double>(), 1.0 / 0.07, 1e-4);
  EXPECT_EQ(out.logits_per_image().sizes(), (at::IntArrayRef{2, 3}));
  out.logits_per_image().sum().backward();
  EXPECT_TRUE(model->logit_scale.grad().defined());
  EXPECT_TRUE(model->visual->conv1->weight.grad().isfinite().all().item<bool>());
}

TEST(Clip, TextIsReadAtTheEndTokenAndIsCausal) {
  Clip model(tiny());
  model->eval();
  at::NoGradGuard no_grad;
  auto tokens = at::tensor({45, 3, 4, 49, 0, 0, 0, 0}, at::kLong).view({1, 8});  // start, text, end, padding
  auto changed_after = tokens.clone();
  changed_after[0][5] = 7;  // after the end token: neither seen (causal) nor pooled
  EXPECT_TRUE(at::allclose(model->encode_text(tokens), model->encode_text(changed_after), 0.0, 1e-6));
  auto changed_before = tokens.clone();
  changed_before[0][1] = 8;
  EXPECT_FALSE(at::allclose(model->encode_text(tokens), model->encode_text(changed_before)));
  // A shorter context reads the first positions of the position embedding.
  EXPECT_EQ(model->encode_text(tokens.slice(1, 0, 5)).sizes(), (at::IntArrayRef{1, 16}));
  EXPECT_THROW(model->encode_text(at::zeros({1, 9}, at::kLong)), c10::Error);
}

TEST(Clip, GrayscaleImages) {
  Clip model(tiny(/*in_chans=*/1));
  EXPECT_EQ(model->encode_image(at::randn({2, 1, 16, 16})).sizes(), (at::IntArrayRef{2, 16}));
  EXPECT_THROW(model->encode_image(at::randn({2, 3, 16, 16})), c10::Error);
}

TEST(Clip, NoWeightDecayFollowsOpenClipTrain) {
  Clip model(tiny());
  const auto names = model->no_weight_decay();
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  for (const char* n : {"logit_scale", "visual.class_embedding", "visual.ln_pre.weight", "ln_final.bias",
                        "transformer.resblocks.0.attn.in_proj_bias", "visual.transformer.resblocks.1.mlp.c_fc.bias"}) {
    EXPECT_TRUE(has(n)) << n;
  }
  for (const char* n : {"positional_embedding", "visual.positional_embedding", "token_embedding.weight", "visual.proj",
                        "text_projection", "visual.conv1.weight", "transformer.resblocks.0.attn.in_proj_weight"}) {
    EXPECT_FALSE(has(n)) << n;
  }
}

TEST(Clip, PresetsAndRecipeOverrides) {
  config::ModelConfig c;
  c.name = "ViT-L-14";
  auto o = clip_options(c);
  EXPECT_EQ(o.embed_dim(), 768);
  EXPECT_EQ(o.vision().patch_size(), 14);
  EXPECT_EQ(o.vision().width(), 1024);
  EXPECT_EQ(o.vision().layers(), 24);
  EXPECT_EQ(o.vision().heads(), 16);
  EXPECT_EQ(o.text().width(), 768);
  EXPECT_EQ(o.text().heads(), 12);
  EXPECT_EQ(o.activation(), ClipActivation::GELU);
  c.name = "ViT-B-16-quickgelu";
  EXPECT_EQ(clip_options(c).activation(), ClipActivation::QuickGELU);

  c.name = "clip";
  c.embed_dim = 64;
  c.in_chans = 1;
  c.vision.image_size = 32;
  c.vision.patch_size = 4;
  c.vision.width = 128;  // heads follow as width / 64, as open_clip's head_width
  c.text.context_length = 16;
  c.text.vocab_size = 1000;
  c.text.width = 96;
  c.text.heads = 2;
  c.text.layers = 3;
  o = clip_options(c);
  EXPECT_EQ(o.embed_dim(), 64);
  EXPECT_EQ(o.vision().in_chans(), 1);
  EXPECT_EQ(o.vision().image_size(), 32);
  EXPECT_EQ(o.vision().heads(), 2);
  EXPECT_EQ(o.vision().layers(), 12);  // ViT-B-32's where the recipe says nothing
  EXPECT_EQ(o.text().context_length(), 16);
  EXPECT_EQ(o.text().layers(), 3);
  c.vision.heads = 4;
  EXPECT_EQ(clip_options(c).vision().heads(), 4);
}

TEST(Clip, SettingsClipLacksAreErrorsNamingTheKey) {
  auto expect_error = [](config::ModelConfig c, const std::string& key, const std::string& hint) {
    c.name = "ViT-B-32";
    try {
      clip_options(c);
      ADD_FAILURE() << "expected an error for " << key;
    } catch (const Error& e) {
      EXPECT_EQ(e.where(), key);
      EXPECT_NE(e.message().find(hint), std::string::npos) << e.what();
    }
  };
  config::ModelConfig c;
  c.window_size = 7;
  expect_error(c, "model.window_size", "not a setting of CLIP");
  c = {};
  c.depths = std::vector<int64_t>{2, 2};
  expect_error(c, "model.depths", "not a setting of CLIP");
  c = {};
  c.img_size = 96;
  expect_error(c, "model.img_size", "model.vision.image_size");
  c = {};
  c.num_classes = 10;
  expect_error(c, "model.num_classes", "no classifier head");
  c = {};
  c.vision.width = 32;
  expect_error(c, "model.vision.heads", "head width of 64");

  c = {};
  c.name = "clip";
  c.vision.image_size = 32;  // a small image tower: the text tower's mistake is the one to report
  c.vision.width = 64;
  c.vision.layers = 1;
  c.text.width = 100;
  c.text.heads = 3;
  try {
    create_clip(c);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "model (clip)");
    EXPECT_NE(e.message().find("divisible"), std::string::npos) << e.what();
  }
}

TEST(Clip, RegisteredButNotAnImageClassifier) {
  std::set<std::string> clip_names;
  for (const auto& info : list_models()) {
    if (info.family == "clip") clip_names.insert(info.name);
  }
  for (const char* n : {"clip", "ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-B-32-quickgelu"}) {
    EXPECT_TRUE(clip_names.count(n)) << n;
  }
  config::ModelConfig c;
  c.name = "ViT-B-32";
  try {
    create(c);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an image classifier"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tessera::models
