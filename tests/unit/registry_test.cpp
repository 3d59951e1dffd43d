// Tests for the model registry (src/tessera/models/registry.h): every name builds,
// trains one step and reports its parameter count; overrides and errors.
#include "tessera/models/registry.h"
#include "tessera/models/swin.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tessera/core/error.h"
#include "tessera/models/deit.h"
#include "tessera/models/vit.h"

namespace tessera::models {
namespace {

// Every registered image classifier, made small enough to run in a moment: one block
// (per stage), a small input; width and heads stay the preset's.
config::ModelConfig reduced(const ModelInfo& info) {
  config::ModelConfig c;
  c.name = info.name;
  c.num_classes = 5;
  if (info.family == "vit" || info.family == "deit") {
    c.depth = 1;
    c.img_size = (info.family == "deit" ? deit_options(c) : vit_options(c)).patch_size() * 2;
  } else if (info.family == "swin") {
    c.depths = std::vector<int64_t>{1, 1, 1, 1};
    const auto preset = swin_options(c);
    c.img_size = preset.patch_size() * preset.window_size() * 2;  // two windows a side at the first stage
  }
  return c;
}

TEST(Registry, EveryModelForwardBackwardAtReducedSize) {
  for (const auto& info : list_models()) {
    if (!find_model(info.name).create_classifier) continue;  // CLIP: tested with its towers
    const auto c = reduced(info);
    auto model = create(c);
    model->eval();  // DeiT: one output (the mean of its heads)
    auto logits = model->forward(at::randn({2, model->in_chans(), model->img_size(), model->img_size()}));
    ASSERT_EQ(logits.sizes(), (at::IntArrayRef{2, 5})) << info.name;
    logits.sum().backward();
    for (const auto& p : model->parameters()) {
      if (p.grad().defined()) {
        ASSERT_TRUE(p.grad().isfinite().all().item<bool>()) << info.name;
      }
    }
  }
}

TEST(Registry, OverridesApply) {
  config::ModelConfig c;
  c.name = "vit_small_patch16_224";
  c.img_size = 32;
  c.patch_size = 4;
  c.in_chans = 1;
  c.num_classes = 10;
  c.global_pool = config::GlobalPool::Avg;
  const auto o = vit_options(c);
  EXPECT_EQ(o.embed_dim(), 384);
  EXPECT_EQ(o.num_heads(), 6);
  EXPECT_EQ(o.img_size(), 32);
  EXPECT_EQ(o.patch_size(), 4);
  EXPECT_EQ(o.in_chans(), 1);
  EXPECT_EQ(o.global_pool(), config::GlobalPool::Avg);
}

TEST(Registry, UnknownNameSuggestsTheNearest) {
  config::ModelConfig c;
  c.name = "vit_smal_patch16_224";
  try {
    create(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'vit_small_patch16_224'"), std::string::npos) << e.what();
  }
}

TEST(Registry, SwinSettingOnAVitIsExplained) {
  config::ModelConfig c;
  c.name = "vit_tiny_patch16_224";
  c.window_size = 7;
  try {
    create(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.window_size"), std::string::npos) << e.what();
  }
}

TEST(Registry, BadArchitectureIsAUserError) {
  config::ModelConfig c;
  c.name = "vit";
  c.embed_dim = 30;
  c.num_heads = std::vector<int64_t>{4};
  EXPECT_THROW(create(c), Error);
}

}  // namespace
}  // namespace tessera::models
