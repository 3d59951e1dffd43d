// Tests for rule-based parameter groups (src/tessera/train/param_groups.h).
#include "tessera/train/param_groups.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tessera/models/vit.h"

namespace tessera::train {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(ParamGroups, BiasesNormsAndTokensGetNoWeightDecay) {
  models::VisionTransformerImpl model(
      models::VisionTransformerOptions().img_size(16).patch_size(4).embed_dim(16).depth(2).num_heads(2).num_classes(3));
  auto groups = build_param_groups(model, 0.05);
  ASSERT_EQ(groups.size(), 2u);
  const auto& decay = groups[0];
  const auto& no_decay = groups[1];
  EXPECT_EQ(decay.label, "decay");
  EXPECT_DOUBLE_EQ(decay.weight_decay, 0.05);
  EXPECT_DOUBLE_EQ(no_decay.weight_decay, 0.0);
  for (const char* name : {"patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "blocks.1.mlp.fc2.weight",
                           "head.weight"}) {
    EXPECT_TRUE(contains(decay.names, name)) << name;
  }
  for (const char* name : {"cls_token", "pos_embed", "blocks.0.attn.qkv.bias", "blocks.0.norm1.weight",
                           "norm.weight", "head.bias"}) {
    EXPECT_TRUE(contains(no_decay.names, name)) << name;
  }
  int64_t total = 0;
  for (const auto& p : model.parameters()) total += p.numel();
  EXPECT_EQ(decay.numel() + no_decay.numel(), total);
}

TEST(ParamGroups, FrozenParametersAreLeftOut) {
  models::VisionTransformerImpl model(
      models::VisionTransformerOptions().img_size(16).patch_size(4).embed_dim(16).depth(1).num_heads(2).num_classes(3));
  model.patch_embed->proj->weight.set_requires_grad(false);
  auto groups = build_param_groups(model, 0.1);
  for (const auto& g : groups) EXPECT_FALSE(contains(g.names, "patch_embed.proj.weight"));
}

}  // namespace
}  // namespace tessera::train
