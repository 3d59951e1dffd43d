// Tests for the Swin Transformer (src/tessera/models/swin.h) and its window attention
// (src/tessera/nn/window_attention.h): shapes, windows and shift masks, timm names,
// parameter counts, layer ids, recipe overrides.
#include "tessera/models/swin.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "fixtures/param_count.h"

#include <map>
#include <set>

#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/nn/window_attention.h"

namespace tessera::models {
namespace {

using tessera::testing::count_params;

struct SwinCase {
  std::string name;
  int64_t img, patch, window, chans, classes, dim;
  std::vector<int64_t> depths, heads;
};

void PrintTo(const SwinCase& c, std::ostream* os) { *os << c.name; }

class SwinShapes : public ::testing::TestWithParam<SwinCase> {};

TEST_P(SwinShapes, ForwardShapesAndParamCount) {
  const auto c = GetParam();
  auto o = SwinTransformerOptions()
               .img_size(c.img)
               .patch_size(c.patch)
               .window_size(c.window)
               .in_chans(c.chans)
               .num_classes(c.classes)
               .embed_dim(c.dim)
               .depths(c.depths)
               .num_heads(c.heads);
  SwinTransformer model(o);
  model->eval();
  const int64_t last = o.num_stages() - 1, side = o.stage_resolution(last);
  auto x = at::randn({2, c.chans, c.img, c.img});
  auto features = model->forward_features(x);
  EXPECT_EQ(features.sizes(), (at::IntArrayRef{2, side * side, o.num_features()}));
  auto logits = model->forward(x);
  EXPECT_EQ(logits.sizes(), (at::IntArrayRef{2, c.classes > 0 ? c.classes : o.num_features()}));
  EXPECT_TRUE(logits.isfinite().all().item<bool>());
  EXPECT_EQ(count_params(*model), o.num_params());
  EXPECT_EQ(model->num_layers(), o.total_depth() + 2);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, SwinShapes,
    ::testing::Values(
        // CIFAR: 16 → 8 → 4 → 2 tokens per side; window 4 fits the first two stages exactly,
        // covers stage 2 (no shift) and is clamped to 2 in stage 3.
        SwinCase{"cifar32_patch2_window4", 32, 2, 4, 3, 10, 32, {2, 2, 2, 2}, {1, 2, 4, 8}},
        // 20 → 10 → 5 → 3: the first two stages pad to 24 / 16 with a shift, then clamp.
        SwinCase{"img40_patch2_window8_padded", 40, 2, 8, 3, 10, 16, {2, 2, 2, 2}, {1, 2, 2, 4}},
        // Grayscale 28: 7 → 4 → 2 → 1, odd maps into patch merging.
        SwinCase{"gray28_patch4_window7", 28, 4, 7, 1, 10, 16, {2, 2, 1, 1}, {2, 2, 4, 4}},
        // 16 tokens per side with window 7: padded to 21, shifted by 3.
        SwinCase{"img64_patch4_window7", 64, 4, 7, 3, 5, 24, {2, 2}, {3, 6}},
        SwinCase{"three_stages_no_head", 48, 4, 4, 3, 0, 16, {1, 2, 1}, {1, 2, 4}},
        SwinCase{"swin_tiny_width_224", 224, 4, 7, 3, 1000, 96, {1, 1, 1, 1}, {3, 6, 12, 24}}),
    [](const ::testing::TestParamInfo<SwinCase>& info) { return info.param.name; });

TEST(Swin, StageWindowsFollowTimm) {
  // timm 1.0.31 (always_partition off): window = min(window, map); no shift where the
  // window covers the map; maps halve rounding up.
  auto o = SwinTransformerOptions().img_size(40).patch_size(2).window_size(8);
  const std::vector<int64_t> res = {20, 10, 5, 3}, window = {8, 8, 5, 3}, shift = {4, 4, 0, 0};
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(o.stage_resolution(i), res[i]) << "stage " << i;
    EXPECT_EQ(o.stage_window(i), window[i]) << "stage " << i;
    EXPECT_EQ(o.stage_shift(i), shift[i]) << "stage " << i;
  }
  // Swin-T at 224: 56, 28, 14, 7; the last stage is one window and is never shifted.
  SwinTransformerOptions t;
  EXPECT_EQ(t.stage_resolution(3), 7);
  EXPECT_EQ(t.stage_shift(2), 3);
  EXPECT_EQ(t.stage_shift(3), 0);

  SwinTransformer model(o.embed_dim(16).depths({2, 2, 2, 2}).num_heads({1, 2, 2, 4}));
  auto block = [&](int64_t stage, int64_t j) {
    return model->layers[stage]->as<SwinTransformerStageImpl>()->blocks[j]->as<SwinTransformerBlockImpl>();
  };
  EXPECT_FALSE(block(0, 0)->attn_mask.defined());
  ASSERT_TRUE(block(0, 1)->attn_mask.defined());
  EXPECT_EQ(block(0, 1)->attn_mask.sizes(), (at::IntArrayRef{9, 64, 64}));  // 24×24 padded map
  EXPECT_EQ(block(1, 1)->attn_mask.sizes(), (at::IntArrayRef{4, 64, 64}));  // 16×16
  EXPECT_FALSE(block(2, 1)->attn_mask.defined());
  EXPECT_EQ(block(2, 1)->attn->relative_position_bias_table.sizes(), (at::IntArrayRef{81, 2}));
}

TEST(WindowAttention, PartitionAndReverseRoundTrip) {
  auto x = at::randn({2, 8, 12, 5});
  auto windows = nn::window_partition(x, 4);
  EXPECT_EQ(windows.sizes(), (at::IntArrayRef{2 * 2 * 3, 4, 4, 5}));
  // Window 1 of image 0 is rows 0..3, columns 4..7.
  EXPECT_TRUE(at::equal(windows[1], x[0].slice(0, 0, 4).slice(1, 4, 8)));
  // Image 1's windows follow all of image 0's.
  EXPECT_TRUE(at::equal(windows[6], x[1].slice(0, 0, 4).slice(1, 0, 4)));
  EXPECT_TRUE(at::equal(nn::window_reverse(windows, 4, 8, 12), x));
}

TEST(WindowAttention, RelativePositionIndex) {
  const int64_t w = 3, span = 2 * w - 1;
  auto index = nn::relative_position_index(w);
  ASSERT_EQ(index.sizes(), (at::IntArrayRef{9, 9}));
  EXPECT_EQ(index.min().item<int64_t>(), 0);
  EXPECT_EQ(index.max().item<int64_t>(), span * span - 1);
  // A token with itself: offset (0, 0), the centre of the table.
  EXPECT_TRUE(at::all(index.diagonal() == (w - 1) * span + (w - 1)).item<bool>());
  // Token 0 = (0, 0) to token 8 = (2, 2): offset (-2, -2) → row 0; the reverse → the last row.
  EXPECT_EQ(index[0][8].item<int64_t>(), 0);
  EXPECT_EQ(index[8][0].item<int64_t>(), span * span - 1);
  // Token 1 = (0, 1) to token 3 = (1, 0): offset (-1, +1).
  EXPECT_EQ(index[1][3].item<int64_t>(), (w - 2) * span + (w));
}

TEST(WindowAttention, ShiftMaskSeparatesWrappedRegions) {
  // 8×8 map, window 4, shift 2: four windows. After the roll, the top-left window holds
  // one region, the top-right and bottom-left two, the bottom-right four.
  auto mask = nn::shifted_window_mask(8, 8, 4, 2);
  ASSERT_EQ(mask.sizes(), (at::IntArrayRef{4, 16, 16}));
  EXPECT_EQ(mask.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(mask, mask.transpose(1, 2)));
  EXPECT_TRUE(at::all((mask == 0) | (mask == -100)).item<bool>());
  for (int64_t w = 0; w < 4; ++w) EXPECT_TRUE(at::all(mask[w].diagonal() == 0).item<bool>());
  auto zeros_per_row = (mask == 0).sum(-1);  // (4, 16)
  const std::vector<int64_t> expected = {16, 8, 8, 4};
  for (int64_t w = 0; w < 4; ++w) EXPECT_TRUE(at::all(zeros_per_row[w] == expected[w]).item<bool>()) << "window " << w;
  // Bottom-right window: its tokens (0, 0) and (2, 2) come from opposite corners of the map.
  EXPECT_EQ(mask[3][0][10].item<float>(), -100.0f);
  EXPECT_EQ(mask[3][0][1].item<float>(), 0.0f);
}

TEST(WindowAttention, MaskedAttentionEqualsHandWritten) {
  at::manual_seed(0);
  nn::WindowAttention attn(nn::WindowAttentionOptions(8, 2, 4));
  attn->eval();
  auto x = at::randn({2 * 4, 16, 8});  // two images of four windows
  auto mask = nn::shifted_window_mask(8, 8, 4, 2);
  auto out = attn->forward(x, mask);
  // softmax(q kᵀ / √d + bias + mask) v, written out.
  auto qkv = attn->qkv->forward(x).reshape({8, 16, 3, 2, 4}).permute({2, 0, 3, 1, 4});
  auto scores = at::matmul(qkv[0], qkv[1].transpose(-2, -1)) / 2.0;  // √4
  scores = scores + attn->relative_position_bias();
  scores = (scores.view({2, 4, 2, 16, 16}) + mask.unsqueeze(1).unsqueeze(0)).view({8, 2, 16, 16});
  auto ref = at::matmul(at::softmax(scores, -1), qkv[2]).transpose(1, 2).reshape({8, 16, 8});
  ref = attn->proj->forward(ref);
  EXPECT_LT((out - ref).abs().max().item<double>(), 1e-5);
}

TEST(Swin, ParameterNamesAreTimms) {
  SwinTransformer model(
      SwinTransformerOptions().img_size(32).patch_size(2).window_size(4).embed_dim(16).depths({2, 1}).num_heads({1, 2}));
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const char* expected :
       {"patch_embed.proj.weight", "patch_embed.proj.bias", "patch_embed.norm.weight", "patch_embed.norm.bias",
        "layers.0.blocks.0.norm1.weight", "layers.0.blocks.0.norm1.bias",
        "layers.0.blocks.0.attn.relative_position_bias_table", "layers.0.blocks.0.attn.qkv.weight",
        "layers.0.blocks.0.attn.qkv.bias", "layers.0.blocks.0.attn.proj.weight", "layers.0.blocks.0.attn.proj.bias",
        "layers.0.blocks.0.norm2.weight", "layers.0.blocks.0.norm2.bias", "layers.0.blocks.0.mlp.fc1.weight",
        "layers.0.blocks.0.mlp.fc1.bias", "layers.0.blocks.0.mlp.fc2.weight", "layers.0.blocks.1.mlp.fc2.bias",
        "layers.1.downsample.norm.weight", "layers.1.downsample.norm.bias", "layers.1.downsample.reduction.weight",
        "layers.1.blocks.0.attn.relative_position_bias_table", "norm.weight", "norm.bias", "head.fc.weight",
        "head.fc.bias"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  EXPECT_EQ(names.size(), 4u + 13u * 3u + 3u + 4u);  // patch_embed, 13 per block, merging, norm + head
  // timm's relative_position_index and attn_mask are non-persistent: not in the state.
  EXPECT_TRUE(model->named_buffers().is_empty());
}

TEST(Swin, NoWeightDecayNamesEveryBiasTable) {
  SwinTransformer model(
      SwinTransformerOptions().img_size(32).patch_size(2).window_size(4).embed_dim(16).depths({2, 1}).num_heads({1, 2}));
  const auto nwd = model->no_weight_decay();
  EXPECT_EQ(std::set<std::string>(nwd.begin(), nwd.end()),
            (std::set<std::string>{"layers.0.blocks.0.attn.relative_position_bias_table",
                                   "layers.0.blocks.1.attn.relative_position_bias_table",
                                   "layers.1.blocks.0.attn.relative_position_bias_table"}));
}

TEST(Swin, LayerIdsAreTimmsGrouping) {
  // Expected values: timm's group_parameters(model, model.group_matcher(coarse=False),
  // reverse=True) for depths (2, 2, 2, 2), as param_groups_layer_decay uses them.
  SwinTransformer model(SwinTransformerOptions()
                            .img_size(40)
                            .patch_size(2)
                            .window_size(8)
                            .embed_dim(16)
                            .depths({2, 2, 2, 2})
                            .num_heads({1, 2, 2, 4}));
  const std::map<std::string, int64_t> expected = {
      {"patch_embed.proj.weight", 0},
      {"patch_embed.norm.bias", 0},
      {"layers.0.blocks.0.norm1.weight", 1},
      {"layers.0.blocks.1.attn.relative_position_bias_table", 2},
      {"layers.1.downsample.reduction.weight", 3},
      {"layers.1.blocks.0.mlp.fc1.weight", 3},
      {"layers.1.blocks.1.attn.qkv.bias", 4},
      {"layers.2.downsample.norm.weight", 5},
      {"layers.3.downsample.norm.bias", 7},
      {"layers.3.blocks.1.mlp.fc2.weight", 8},
      {"norm.weight", 8},
      {"head.fc.weight", 9},
      {"head.fc.bias", 9}};
  for (const auto& [name, id] : expected) EXPECT_EQ(model->layer_id(name), id) << name;
  EXPECT_EQ(model->num_layers(), 10);
  for (const auto& p : model->named_parameters()) {
    const auto id = model->layer_id(p.key());
    EXPECT_TRUE(id >= 0 && id < model->num_layers()) << p.key();
  }
}

TEST(Swin, BackwardReachesEveryParameter) {
  SwinTransformer model(SwinTransformerOptions()
                            .img_size(40)
                            .patch_size(2)
                            .window_size(8)
                            .embed_dim(16)
                            .depths({2, 2, 2, 2})
                            .num_heads({1, 2, 2, 4})
                            .num_classes(7)
                            .drop_path_rate(0.0));  // a dropped residual branch would get no gradient
  model->train();
  auto x = at::randn({2, 3, 40, 40}).requires_grad_(true);
  model->forward(x).pow(2).sum().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(p.value().grad().isfinite().all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  EXPECT_TRUE(x.grad().isfinite().all().item<bool>());
}

TEST(Swin, BadArchitecturesAreRejected) {
  auto base = [] { return SwinTransformerOptions().img_size(32).patch_size(2).window_size(4).embed_dim(16); };
  EXPECT_THROW(SwinTransformer(base().depths({2, 2}).num_heads({1, 2, 4})), c10::Error);  // lists differ
  EXPECT_THROW(SwinTransformer(base().depths({2, 2}).num_heads({3, 2})), c10::Error);     // 16 % 3
  EXPECT_THROW(SwinTransformer(base().depths({2, 0}).num_heads({1, 2})), c10::Error);
  EXPECT_THROW(SwinTransformer(base().depths({}).num_heads({})), c10::Error);
  EXPECT_THROW(SwinTransformer(base().depths({2}).num_heads({1}).window_size(0)), c10::Error);
  EXPECT_THROW(SwinTransformer(base().depths({2}).num_heads({1}).img_size(33)), c10::Error);  // 33 % 2
}

TEST(SwinOptions, RecipeOverridesApply) {
  config::ModelConfig c;
  c.name = "swin";
  c.img_size = 32;
  c.patch_size = 2;
  c.window_size = 4;
  c.in_chans = 1;
  c.num_classes = 10;
  c.embed_dim = 48;
  c.depths = std::vector<int64_t>{2, 6, 2};
  c.num_heads = std::vector<int64_t>{3, 6, 12};
  c.mlp_ratio = 2.0;
  c.qkv_bias = false;
  c.drop_rate = 0.1;
  c.attn_drop_rate = 0.05;
  c.drop_path_rate = 0.2;
  const auto o = swin_options(c);
  EXPECT_EQ(o.img_size(), 32);
  EXPECT_EQ(o.patch_size(), 2);
  EXPECT_EQ(o.window_size(), 4);
  EXPECT_EQ(o.in_chans(), 1);
  EXPECT_EQ(o.num_classes(), 10);
  EXPECT_EQ(o.embed_dim(), 48);
  EXPECT_EQ(o.depths(), (std::vector<int64_t>{2, 6, 2}));
  EXPECT_EQ(o.num_heads(), (std::vector<int64_t>{3, 6, 12}));
  EXPECT_EQ(o.mlp_ratio(), 2.0);
  EXPECT_FALSE(o.qkv_bias());
  EXPECT_EQ(o.drop_rate(), 0.1);
  EXPECT_EQ(o.attn_drop_rate(), 0.05);
  EXPECT_EQ(o.drop_path_rate(), 0.2);
  SwinTransformer model(o);
  EXPECT_EQ(count_params(*model), o.num_params());

  // The custom entry defaults to Swin-T; presets keep their numbers.
  config::ModelConfig t;
  t.name = "swin";
  EXPECT_EQ(swin_options(t).num_params(), 28288354);  // timm's swin_tiny_patch4_window7_224
  t.name = "swin_base_patch4_window12_384";
  EXPECT_EQ(swin_options(t).window_size(), 12);
  EXPECT_EQ(swin_options(t).img_size(), 384);
  EXPECT_EQ(swin_options(t).embed_dim(), 128);
}

void expect_error_names(const config::ModelConfig& c, const std::string& key) {
  try {
    swin_options(c);
    FAIL() << "expected an error naming " << key;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

TEST(SwinOptions, ViTSettingsAreRejectedByKey) {
  config::ModelConfig c;
  c.name = "swin_tiny_patch4_window7_224";
  c.depth = 12;
  expect_error_names(c, "model.depth");
  c = {};
  c.name = "swin_tiny_patch4_window7_224";
  c.class_token = true;
  expect_error_names(c, "model.class_token");
  c = {};
  c.name = "swin";
  c.global_pool = config::GlobalPool::Token;
  expect_error_names(c, "model.global_pool");
  c = {};
  c.name = "swin";
  c.num_heads = std::vector<int64_t>{3, 6};  // Swin-T has four stages
  expect_error_names(c, "model.num_heads");
  c = {};
  c.name = "swin";
  c.depths = std::vector<int64_t>{2, 2};
  expect_error_names(c, "model.depths");
}

SwinTransformer small_padded_model() {
  return SwinTransformer(SwinTransformerOptions()
                             .img_size(40)
                             .patch_size(2)
                             .window_size(8)
                             .embed_dim(32)
                             .depths({2, 2, 2, 2})
                             .num_heads({2, 4, 4, 8})
                             .num_classes(10));
}

TEST(Swin, Bfloat16ForwardCastsTheMask) {
  // bf16 under autocast (fp32 bias table and mask, bf16 queries) and with bf16 weights:
  // the combined mask is cast to the queries' dtype, and outputs stay close to fp32.
  // (CPU SDPA would also take a float32 mask; the CUDA test below is the stricter one.)
  at::manual_seed(0);
  auto model = small_padded_model();
  model->eval();
  auto x = at::randn({2, 3, 40, 40});
  auto full = model->forward(x);
  const double tolerance = 0.05 * full.abs().max().item<double>() + 0.02;
  {
    // Autocast: bf16 queries, fp32 bias table and mask.
    core::AutocastGuard autocast(config::Precision::BF16, at::Device(at::kCPU));
    auto mixed = model->forward(x);
    EXPECT_LT((mixed.to(at::kFloat) - full).abs().max().item<double>(), tolerance);
  }
  model->to(at::kBFloat16);
  auto half = model->forward(x.to(at::kBFloat16));
  EXPECT_EQ(half.scalar_type(), at::kBFloat16);
  EXPECT_LT((half.to(at::kFloat) - full).abs().max().item<double>(), tolerance);
}

TEST(Swin, ForwardOnDevice_CUDA) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  at::manual_seed(0);
  auto model = small_padded_model();
  model->eval();
  auto x = at::randn({2, 3, 40, 40});
  auto cpu = model->forward(x);
  model->to(at::kCUDA);  // the index and masks, no buffers, must follow
  auto gpu = model->forward(x.cuda());
  EXPECT_LT((gpu.cpu() - cpu).abs().max().item<double>(), 1e-4);
  // bf16 weights and inputs: the additive mask is cast to the queries' dtype.
  model->to(at::kBFloat16);
  auto half = model->forward(x.cuda().to(at::kBFloat16)).to(at::kFloat).cpu();
  EXPECT_TRUE(half.isfinite().all().item<bool>());
  EXPECT_LT((half - cpu).abs().max().item<double>(), 0.1 * cpu.abs().max().item<double>() + 0.05);
}

}  // namespace
}  // namespace tessera::models
