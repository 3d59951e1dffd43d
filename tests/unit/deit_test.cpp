// Tests for DeiT (src/tessera/models/deit.h): timm's names, shapes, parameter counts,
// weight-decay exemptions and layer ids of the distilled model; the presets' numbers.
#include "tessera/models/deit.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "fixtures/param_count.h"

#include <algorithm>

#include "tessera/core/error.h"
#include "tessera/models/registry.h"

namespace tessera::models {
namespace {

VisionTransformerOptions tiny() {
  return VisionTransformerOptions().img_size(32).patch_size(8).num_classes(7).embed_dim(24).depth(2).num_heads(2);
}

TEST(Deit, DistilledHasTimmsNamesAndShapes) {
  VisionTransformerDistilled model(tiny());
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : model->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(shapes.at("cls_token"), (std::vector<int64_t>{1, 1, 24}));
  EXPECT_EQ(shapes.at("dist_token"), (std::vector<int64_t>{1, 1, 24}));
  EXPECT_EQ(shapes.at("pos_embed"), (std::vector<int64_t>{1, 2 + 16, 24}));  // both tokens have a row
  EXPECT_EQ(shapes.at("head.weight"), (std::vector<int64_t>{7, 24}));
  EXPECT_EQ(shapes.at("head_dist.weight"), (std::vector<int64_t>{7, 24}));
  EXPECT_EQ(shapes.at("head_dist.bias"), (std::vector<int64_t>{7}));

  EXPECT_EQ(testing::count_params(*model), distilled_num_params(tiny()));
}

TEST(Deit, DistilledForwardShapes) {
  VisionTransformerDistilled model(tiny());
  auto x = at::randn({3, 3, 32, 32});
  EXPECT_EQ(model->forward_features(x).sizes(), (at::IntArrayRef{3, 2 + 16, 24}));
  auto [cls, dist] = model->forward_heads(x);
  EXPECT_EQ(cls.sizes(), (at::IntArrayRef{3, 7}));
  EXPECT_EQ(dist.sizes(), (at::IntArrayRef{3, 7}));
  model->eval();
  EXPECT_TRUE(at::allclose(model->forward(x), (cls + dist) / 2, 1e-5, 1e-6));
}

TEST(Deit, NoWeightDecayAndLayerIds) {
  VisionTransformerDistilled model(tiny());
  const auto skip = model->no_weight_decay();
  for (const char* name : {"pos_embed", "cls_token", "dist_token"}) {
    EXPECT_NE(std::find(skip.begin(), skip.end(), name), skip.end()) << name;
  }
  EXPECT_EQ(model->layer_id("dist_token"), 0);
  EXPECT_EQ(model->layer_id("cls_token"), 0);
  EXPECT_EQ(model->layer_id("patch_embed.proj.weight"), 0);
  EXPECT_EQ(model->layer_id("blocks.1.mlp.fc1.weight"), 2);
  EXPECT_EQ(model->layer_id("head_dist.weight"), model->num_layers() - 1);
}

TEST(Deit, DistilledNeedsTheClassTokenAndTokenPooling) {
  EXPECT_THROW(VisionTransformerDistilled(tiny().global_pool(config::GlobalPool::Avg)), c10::Error);
  config::ModelConfig c;
  c.name = "deit_tiny_distilled_patch16_224";
  c.global_pool = config::GlobalPool::Avg;
  EXPECT_THROW(create(c), Error);  // a user's mistake, reported as such
}

TEST(Deit, PresetsAreTimmsNumbers) {
  config::ModelConfig c;
  c.name = "deit_small_distilled_patch16_224";
  auto o = deit_options(c);
  EXPECT_EQ(o.embed_dim(), 384);
  EXPECT_EQ(o.num_heads(), 6);
  EXPECT_EQ(o.depth(), 12);
  EXPECT_EQ(o.patch_size(), 16);
  c.name = "deit_base_patch16_384";
  c.num_classes = 10;
  o = deit_options(c);
  EXPECT_EQ(o.img_size(), 384);
  EXPECT_EQ(o.embed_dim(), 768);
  EXPECT_EQ(o.num_classes(), 10);
  for (const auto& m : list_models()) {
    if (m.name.rfind("deit_", 0) == 0) {
      EXPECT_EQ(m.family, "deit") << m.name;
    }
  }
}

TEST(Deit, HeadlessDistilledReturnsTheMeanToken) {
  VisionTransformerDistilled model(tiny().num_classes(0));
  EXPECT_FALSE(model->head_dist);
  model->eval();
  auto x = at::randn({2, 3, 32, 32});
  auto features = model->forward_features(x);
  EXPECT_TRUE(at::allclose(model->forward(x), (features.select(1, 0) + features.select(1, 1)) / 2, 1e-5, 1e-6));
}

}  // namespace
}  // namespace tessera::models
