// Tests for the Vision Transformer (src/tessera/models/vit.h): shapes, timm names,
// parameter counts, layer ids, gradients.
#include "tessera/models/vit.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "fixtures/param_count.h"
#include "tessera/models/registry.h"

#include <set>

namespace tessera::models {
namespace {

using tessera::testing::count_params;

struct VitCase {
  int64_t img, patch, chans, classes, dim, depth, heads;
  config::GlobalPool pool;
  bool class_token;
};

void PrintTo(const VitCase& c, std::ostream* os) {
  *os << "img " << c.img << " patch " << c.patch << " dim " << c.dim << " depth " << c.depth;
}

class VitShapes : public ::testing::TestWithParam<VitCase> {};

TEST_P(VitShapes, ForwardShapesAndParamCount) {
  const auto c = GetParam();
  auto o = VisionTransformerOptions()
               .img_size(c.img)
               .patch_size(c.patch)
               .in_chans(c.chans)
               .num_classes(c.classes)
               .embed_dim(c.dim)
               .depth(c.depth)
               .num_heads(c.heads)
               .global_pool(c.pool)
               .class_token(c.class_token);
  VisionTransformer model(o);
  const int64_t tokens = (c.img / c.patch) * (c.img / c.patch) + (c.class_token ? 1 : 0);
  auto x = at::randn({2, c.chans, c.img, c.img});
  auto features = model->forward_features(x);
  EXPECT_EQ(features.sizes(), (at::IntArrayRef{2, tokens, c.dim}));
  auto logits = model->forward(x);
  EXPECT_EQ(logits.sizes(), (at::IntArrayRef{2, c.classes > 0 ? c.classes : c.dim}));
  EXPECT_TRUE(logits.isfinite().all().item<bool>());
  EXPECT_EQ(count_params(*model), o.num_params());
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, VitShapes,
    ::testing::Values(VitCase{28, 4, 1, 10, 32, 2, 2, config::GlobalPool::Token, true},     // grayscale
                      VitCase{32, 4, 3, 10, 48, 3, 3, config::GlobalPool::Token, true},     // CIFAR
                      VitCase{96, 8, 3, 5, 64, 2, 4, config::GlobalPool::Avg, true},        // avg pool
                      VitCase{64, 16, 3, 7, 32, 1, 1, config::GlobalPool::Avg, false},      // no class token
                      VitCase{224, 16, 3, 1000, 192, 1, 3, config::GlobalPool::Token, true},  // ViT-Ti width
                      VitCase{32, 8, 3, 0, 32, 1, 2, config::GlobalPool::Token, true}),     // no head
    [](const ::testing::TestParamInfo<VitCase>& info) {
      const auto& c = info.param;
      return "img" + std::to_string(c.img) + "_patch" + std::to_string(c.patch) + "_in" + std::to_string(c.chans) +
             "_classes" + std::to_string(c.classes) + (c.pool == config::GlobalPool::Avg ? "_avg" : "_token") +
             (c.class_token ? "" : "_nocls");
    });

TEST(Vit, ParameterNamesAreTimms) {
  VisionTransformer model(VisionTransformerOptions().img_size(32).patch_size(8).embed_dim(32).depth(2).num_heads(2));
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const char* expected :
       {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "blocks.0.norm1.weight",
        "blocks.0.norm1.bias", "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias", "blocks.0.attn.proj.weight",
        "blocks.0.attn.proj.bias", "blocks.0.norm2.weight", "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc1.bias",
        "blocks.0.mlp.fc2.weight", "blocks.1.mlp.fc2.bias", "norm.weight", "norm.bias", "head.weight", "head.bias"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  EXPECT_EQ(names.size(), 4u + 12u * 2u + 4u);  // tokens + patch conv, 12 per block, norm + head
}

TEST(Vit, LayerIdsFollowDepth) {
  VisionTransformer model(VisionTransformerOptions().img_size(32).patch_size(8).embed_dim(32).depth(3).num_heads(2));
  EXPECT_EQ(model->num_layers(), 5);
  EXPECT_EQ(model->layer_id("cls_token"), 0);
  EXPECT_EQ(model->layer_id("patch_embed.proj.weight"), 0);
  EXPECT_EQ(model->layer_id("blocks.0.attn.qkv.weight"), 1);
  EXPECT_EQ(model->layer_id("blocks.2.mlp.fc2.bias"), 3);
  EXPECT_EQ(model->layer_id("norm.weight"), 3);  // with the last block, as timm groups it
  EXPECT_EQ(model->layer_id("head.weight"), 4);
}

TEST(Vit, BackwardGivesFiniteGradientsEverywhere) {
  VisionTransformer model(
      VisionTransformerOptions().img_size(28).patch_size(7).in_chans(1).num_classes(10).embed_dim(32).depth(2).num_heads(2)
          .drop_path_rate(0.1).drop_rate(0.1));
  model->train();
  auto loss = model->forward(at::randn({4, 1, 28, 28})).logsumexp(1).mean();
  loss.backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(p.value().grad().isfinite().all().item<bool>()) << p.key();
  }
}

TEST(Vit, DropoutRatesGoWhereTimmPutsThem) {
  tessera::config::ModelConfig c;
  c.name = "vit_tiny_patch16_224";
  c.img_size = 32;
  c.num_classes = 10;
  c.drop_rate = 0.1;
  c.pos_drop_rate = 0.2;
  c.proj_drop_rate = 0.3;
  c.attn_drop_rate = 0.4;
  auto model = std::dynamic_pointer_cast<VisionTransformerImpl>(tessera::models::create(c));
  ASSERT_TRUE(model);
  EXPECT_DOUBLE_EQ(model->head_drop->options.p(), 0.1);  // timm's drop_rate: before the head only
  EXPECT_DOUBLE_EQ(model->pos_drop->options.p(), 0.2);
  int inside_blocks = 0;
  for (const auto& named : model->named_modules()) {
    const auto* dropout = dynamic_cast<const torch::nn::DropoutImpl*>(named.value().get());
    const auto& key = named.key();
    if (!dropout || key.rfind("blocks.", 0) != 0) continue;
    EXPECT_DOUBLE_EQ(dropout->options.p(), 0.3) << key;  // attn.proj_drop, mlp.drop1, mlp.drop2
    ++inside_blocks;
  }
  EXPECT_EQ(inside_blocks, 12 * 3);
}

TEST(Vit, EvalModeIsDeterministic) {
  VisionTransformer model(VisionTransformerOptions().img_size(16).patch_size(4).embed_dim(32).depth(2).num_heads(2)
                              .drop_path_rate(0.5).drop_rate(0.5));
  model->eval();
  auto x = at::randn({3, 3, 16, 16});
  EXPECT_TRUE(at::equal(model->forward(x), model->forward(x)));
}

TEST(Vit, RejectsBadArchitecture) {
  EXPECT_THROW(VisionTransformer(VisionTransformerOptions().embed_dim(30).num_heads(4)), c10::Error);
  EXPECT_THROW(VisionTransformer(VisionTransformerOptions().img_size(30).patch_size(4)), c10::Error);
  VisionTransformer model(VisionTransformerOptions().img_size(16).patch_size(4).embed_dim(32).depth(1).num_heads(2));
  EXPECT_THROW(model->forward(at::randn({1, 3, 20, 20})), c10::Error);
}

}  // namespace
}  // namespace tessera::models
