// Tests for the model registry (src/tessera/models/registry.h): every name builds,
// trains one step and reports its parameter count; overrides and errors.
#include "tessera/models/registry.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tessera/core/error.h"

namespace tessera::models {
namespace {

TEST(Registry, EveryModelForwardBackwardAtReducedSize) {
  for (const auto& info : list_models()) {
    // The preset's numbers, made small (one block, a 2x2 patch grid) to stay fast;
    // width and heads stay the preset's.
    config::ModelConfig c;
    c.name = info.name;
    const auto preset = vit_options(c);
    c.depth = 1;
    c.img_size = preset.patch_size() * 2;
    c.num_classes = 5;
    auto model = create(c);
    auto logits = model->forward(at::randn({2, 3, *c.img_size, *c.img_size}));
    ASSERT_EQ(logits.sizes(), (at::IntArrayRef{2, 5})) << info.name;
    logits.sum().backward();
    for (const auto& p : model->parameters()) ASSERT_TRUE(p.grad().isfinite().all().item<bool>()) << info.name;
  }
}

TEST(Registry, ParamCountsOfTheTimmPresets) {
  // timm's figures for these models with the 1000-class head.
  std::map<std::string, int64_t> timm = {{"vit_tiny_patch16_224", 5717416},
                                         {"vit_small_patch16_224", 22050664},
                                         {"vit_base_patch16_224", 86567656},
                                         {"vit_base_patch32_224", 88224232},
                                         {"vit_large_patch16_224", 304326632}};
  for (const auto& info : list_models()) {
    if (timm.count(info.name)) EXPECT_EQ(info.num_params, timm[info.name]) << info.name;
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

TEST(Registry, BadArchitectureIsAUserError) {
  config::ModelConfig c;
  c.name = "vit";
  c.embed_dim = 30;
  c.num_heads = 4;
  EXPECT_THROW(create(c), Error);
}

}  // namespace
}  // namespace tessera::models
