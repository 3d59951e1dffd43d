// Tests for rule-based parameter groups (src/tessera/train/param_groups.h).
#include "tessera/train/param_groups.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "reference_runner.h"
#include "tessera/models/registry.h"
#include "tessera/models/vit.h"

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

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
  const bool decay_first = groups[0].label == "decay";
  const auto& decay = groups[decay_first ? 0 : 1];
  const auto& no_decay = groups[decay_first ? 1 : 0];
  EXPECT_EQ(no_decay.label, "no_decay");
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

// The lr scale and weight decay of each parameter, as a map.
std::map<std::string, std::pair<double, double>> per_parameter(const std::vector<ParamGroup>& groups) {
  std::map<std::string, std::pair<double, double>> out;
  for (const auto& g : groups) {
    for (const auto& name : g.names) out[name] = {g.lr_scale, g.weight_decay};
  }
  return out;
}

TEST(ParamGroups, LayerDecayMatchesTimmForVitTiny) {
  config::ModelConfig c;
  c.name = "vit_tiny_patch16_224";
  auto model = models::create(c);
  const auto groups = build_param_groups(*model, 0.05, 0.65);
  const auto ours = per_parameter(groups);

  auto run = testing::run_reference_script("timm_param_groups.py", "vit_tiny_patch16_224 0.65 0.05");
  ASSERT_EQ(run.exit_code, 0);
  const auto timm = nlohmann::json::parse(run.output.substr(run.output.find('{')));
  ASSERT_EQ(timm.size(), ours.size());
  for (const auto& [name, values] : timm.items()) {
    ASSERT_TRUE(ours.count(name)) << name;
    EXPECT_NEAR(ours.at(name).first, values[0].get<double>(), 1e-15) << name;
    EXPECT_EQ(ours.at(name).second, values[1].get<double>()) << name;
  }
  // The per-group learning rates for a base lr of 1e-3, for the record.
  for (const auto& g : groups) {
    std::cout << "[layer decay 0.65] " << g.label << ": lr " << 1e-3 * g.lr_scale << " wd " << g.weight_decay
              << " (" << g.params.size() << " tensors)\n";
  }
  EXPECT_EQ(groups.size(), 28u);  // 14 layers x {decay, no_decay}
}

TEST(ParamGroups, LrGroupsMultiplyTheFirstMatch) {
  models::VisionTransformerImpl model(
      models::VisionTransformerOptions().img_size(16).patch_size(4).embed_dim(16).depth(2).num_heads(2).num_classes(3));
  const auto ours = per_parameter(build_param_groups(model, 0.1, 0.5, {{"head*", 10.0}, {"*", 0.1}}));
  // 4 layers: head at the top (scale 1) x 10; blocks.0 at layer 1: 0.5^2 x 0.1.
  EXPECT_DOUBLE_EQ(ours.at("head.weight").first, 10.0);
  EXPECT_DOUBLE_EQ(ours.at("blocks.0.attn.qkv.weight").first, 0.25 * 0.1);
  EXPECT_DOUBLE_EQ(ours.at("cls_token").first, 0.125 * 0.1);
  EXPECT_DOUBLE_EQ(ours.at("head.bias").second, 0.0);
  EXPECT_DOUBLE_EQ(ours.at("head.weight").second, 0.1);
}

}  // namespace
}  // namespace tessera::train
