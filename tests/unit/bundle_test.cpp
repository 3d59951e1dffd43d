// Tests for serving bundles: SHA-256, tessera.json round trips and checks, the all-or-
// nothing folder write and --force rules, weight dtypes, the reference (timm / open_clip)
// descriptions, and tampering detected on read.
#include "tessera/serve/bundle.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fixtures/error_of.h"
#include "fixtures/reduced_clip.h"
#include "tessera/core/safetensors.h"
#include "tessera/models/registry.h"
#include "tessera/serve/reference_model.h"
#include "tessera/serve/sha256.h"
#include "test_env.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;
using serve::BundleInfo;

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

BundleInfo sample_info() {
  BundleInfo info;
  info.family = "vit";
  info.model.name = "vit";
  info.model.img_size = 32;
  info.model.patch_size = 8;
  info.model.embed_dim = 16;
  info.model.depth = 1;
  info.model.num_heads = std::vector<int64_t>{2};
  info.model.num_classes = 3;
  info.model.global_pool = config::GlobalPool::Avg;
  info.model.mlp_ratio = 2.5;
  info.reference = {{"library", "timm"}, {"class", "VisionTransformer"}, {"kwargs", {{"img_size", 32}}}};
  info.class_names = {"cat", "dog", "a bird, small"};
  info.preprocessing.channels = 3;
  info.preprocessing.height = 32;
  info.preprocessing.width = 32;
  info.preprocessing.crop_pct = 0.875;
  info.preprocessing.interpolation = data::Interpolation::Bicubic;
  info.preprocessing.mean = {0.485, 0.456, 0.406};
  info.preprocessing.std = {0.229, 0.224, 0.225};
  info.precision = config::Precision::BF16;
  info.source = {"runs/tiny", "runs/tiny/checkpoints/last.safetensors", 120};
  return info;
}

std::vector<std::pair<std::string, at::Tensor>> sample_weights() {
  return {{"head.weight", at::arange(6, at::kFloat).view({3, 2}) / 7.0},
          {"pos_embed", at::full({1, 2}, 1.0 / 3.0)},
          {"index", at::arange(4, at::kLong)}};
}

TEST(BundleSha256, KnownDigests) {
  auto digest = [](const std::string& s) {
    serve::Sha256 h;
    h.update(s);
    return h.hex_digest();
  };
  // FIPS 180-2 appendix B and the empty string.
  EXPECT_EQ(digest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a's fed in uneven pieces: the block buffering must not matter.
  serve::Sha256 h;
  const std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    const size_t n = std::min(left, chunk.size());
    h.update(chunk.data(), n);
    left -= n;
  }
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Bundle, WritesAndReadsBack) {
  const auto dir = scratch_dir() / "bundle";
  const auto written = serve::write_bundle(dir, sample_info(), sample_weights(), false);
  EXPECT_EQ(entries(dir), (std::vector<std::string>{"model.safetensors", "tessera.json"}));
  EXPECT_EQ(entries(dir.parent_path()), std::vector<std::string>{"bundle"}) << "no temporary left beside it";
  EXPECT_EQ(written.weights_sha256, serve::sha256_file(dir / "model.safetensors"));
  EXPECT_EQ(written.weights_bytes, static_cast<int64_t>(fs::file_size(dir / "model.safetensors")));

  const auto info = serve::read_bundle(dir);
  const auto expected = sample_info();
  EXPECT_EQ(info.family, "vit");
  EXPECT_EQ(info.model.name, "vit");
  EXPECT_EQ(info.model.img_size, 32);
  EXPECT_EQ(info.model.num_heads, std::vector<int64_t>{2});
  EXPECT_EQ(info.model.global_pool, config::GlobalPool::Avg);
  EXPECT_EQ(info.model.mlp_ratio, 2.5);
  EXPECT_FALSE(info.model.depths.has_value());
  EXPECT_EQ(info.reference, expected.reference);
  EXPECT_EQ(info.class_names, expected.class_names);
  EXPECT_EQ(info.preprocessing.crop_pct, 0.875);
  EXPECT_EQ(info.preprocessing.interpolation, data::Interpolation::Bicubic);
  EXPECT_EQ(info.preprocessing.mean, expected.preprocessing.mean);
  EXPECT_EQ(info.preprocessing.std, expected.preprocessing.std);
  EXPECT_EQ(info.precision, config::Precision::BF16);
  EXPECT_EQ(info.source.step, 120);
  EXPECT_EQ(info.source.run, "runs/tiny");
  EXPECT_EQ(info.weights_sha256, written.weights_sha256);

  // The tensors, by name, exactly (fp32 by default), integer tensors untouched.
  const auto file = core::load_safetensors(dir / "model.safetensors");
  ASSERT_EQ(file.tensors.size(), 3u);
  for (const auto& [name, tensor] : sample_weights()) {
    const auto it =
        std::find_if(file.tensors.begin(), file.tensors.end(), [&](const auto& t) { return t.first == name; });
    ASSERT_NE(it, file.tensors.end()) << name;
    EXPECT_EQ(it->second.scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(at::equal(it->second, tensor)) << name;
  }

  // The evaluation transform rebuilt from tessera.json.
  const auto spec = info.preprocessing.transform_spec();
  EXPECT_EQ(spec.height, 32);
  EXPECT_EQ(spec.crop_pct, 0.875);
  EXPECT_FALSE(spec.is_random());
}

TEST(Bundle, HalfPrecisionWeights) {
  const auto dir = scratch_dir();
  for (auto [dtype, scalar] :
       {std::pair{config::Precision::FP16, at::kHalf}, std::pair{config::Precision::BF16, at::kBFloat16}}) {
    auto info = sample_info();
    info.weights_dtype = dtype;
    const auto out = dir / serve::dtype_name(dtype);
    serve::write_bundle(out, info, sample_weights(), false);
    EXPECT_EQ(serve::read_bundle(out).weights_dtype, dtype);
    for (const auto& [name, tensor] : core::load_safetensors(out / "model.safetensors").tensors) {
      if (name == "index") {
        EXPECT_EQ(tensor.scalar_type(), at::kLong);
      } else {
        EXPECT_EQ(tensor.scalar_type(), scalar) << name;
      }
    }
  }
}

TEST(Bundle, RefusesToOverwriteWithoutForce) {
  const auto dir = scratch_dir() / "bundle";
  serve::write_bundle(dir, sample_info(), sample_weights(), false);
  const auto first = serve::sha256_file(dir / "model.safetensors");
  const auto message = error_of([&] { serve::write_bundle(dir, sample_info(), {{"x", at::ones({2})}}, false); });
  EXPECT_NE(message.find("--force"), std::string::npos) << message;
  EXPECT_EQ(serve::sha256_file(dir / "model.safetensors"), first) << "the old bundle is untouched";

  // --force replaces a bundle with another.
  auto info = sample_info();
  info.class_names = {"x", "y", "z"};
  serve::write_bundle(dir, info, {{"x", at::ones({2})}}, true);
  EXPECT_EQ(serve::read_bundle(dir).class_names, info.class_names);
  EXPECT_EQ(entries(dir.parent_path()), std::vector<std::string>{"bundle"}) << "the old bundle is gone, no debris";
}

TEST(Bundle, ForceNeverRemovesOtherFiles) {
  const auto dir = scratch_dir() / "not_a_bundle";
  fs::create_directories(dir);
  std::ofstream(dir / "notes.txt") << "precious";
  const auto message = error_of([&] { serve::write_bundle(dir, sample_info(), sample_weights(), true); });
  EXPECT_NE(message.find("not a bundle"), std::string::npos) << message;
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
}

TEST(Bundle, FailedWriteLeavesNothing) {
  const auto root = scratch_dir();
  // Two tensors of one name: serializing fails after the temporary folder exists.
  const std::vector<std::pair<std::string, at::Tensor>> bad = {{"a", at::ones({1})}, {"a", at::ones({1})}};
  error_of([&] { serve::write_bundle(root / "bundle", sample_info(), bad, false); });
  EXPECT_TRUE(entries(root).empty()) << "no bundle and no temporary folder";

  // The same failure with --force over an existing bundle keeps the old one whole.
  serve::write_bundle(root / "bundle", sample_info(), sample_weights(), false);
  error_of([&] { serve::write_bundle(root / "bundle", sample_info(), bad, true); });
  EXPECT_EQ(entries(root), std::vector<std::string>{"bundle"});
  EXPECT_NO_THROW(serve::read_bundle(root / "bundle"));
}

TEST(Bundle, TamperedWeightsAreRefused) {
  const auto dir = scratch_dir() / "bundle";
  serve::write_bundle(dir, sample_info(), sample_weights(), false);
  const auto weights = dir / "model.safetensors";
  {
    std::fstream f(weights, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  auto message = error_of([&] { serve::read_bundle(dir); });
  EXPECT_NE(message.find("SHA-256"), std::string::npos) << message;
  EXPECT_NO_THROW(serve::read_bundle(dir, /*verify_weights=*/false));

  fs::resize_file(weights, fs::file_size(weights) - 8);
  message = error_of([&] { serve::read_bundle(dir); });
  EXPECT_NE(message.find("cut short"), std::string::npos) << message;
}

TEST(Bundle, MetadataMistakesNameTheKey) {
  const auto good = serve::bundle_json(sample_info());
  auto expect_error = [&](nlohmann::json j, const std::string& needle) {
    const auto message = error_of([&] { serve::parse_bundle_json(j, "b/tessera.json"); });
    EXPECT_NE(message.find(needle), std::string::npos) << "expected '" << needle << "' in: " << message;
    EXPECT_NE(message.find("b/tessera.json"), std::string::npos) << message;
  };
  auto j = good;
  j.erase("preprocessing");
  expect_error(j, "'preprocessing.channels' is missing");
  j = good;
  j["format_version"] = 7;
  expect_error(j, "format_version");
  j = good;
  j["preprocessing"]["interpolation"] = "lanczos";
  expect_error(j, "'preprocessing.interpolation' is 'lanczos'");
  j = good;
  j["preprocessing"]["mean"] = {0.5, 0.5};
  expect_error(j, "one value or one per channel");
  j = good;
  j["classes"] = "cat";
  expect_error(j, "'classes' has the wrong type");
  j = good;
  j["weights"]["sha256"] = "abc";
  expect_error(j, "weights.sha256");
  j = good;
  j["model"]["depht"] = 2;  // the recipe loader's own check, with its suggestion
  expect_error(j, "did you mean 'depth'");
  j = good;
  j["family"] = "resnet";
  expect_error(j, "'family' is 'resnet'");
}

TEST(Bundle, RandomTransformIsNotAPreprocessing) {
  data::TransformSpec spec;
  spec.hflip = 0.5;
  const auto message = error_of([&] { serve::Preprocessing::from_spec(spec); });
  EXPECT_NE(message.find("random"), std::string::npos) << message;
}

TEST(BundleReference, DescribesTimmAndOpenClipModules) {
  config::ModelConfig vit;
  vit.name = "deit_tiny_distilled_patch16_224";
  vit.img_size = 32;
  vit.num_classes = 4;
  vit.depth = 1;
  auto ref = serve::reference_model(*models::create(vit));
  EXPECT_EQ(ref["class"], "VisionTransformerDistilled");
  EXPECT_EQ(ref["module"], "timm.models.deit");
  EXPECT_EQ(ref["kwargs"]["embed_dim"], 192);
  EXPECT_EQ(ref["kwargs"]["num_heads"], 3);
  EXPECT_EQ(ref["kwargs"]["img_size"], 32);
  EXPECT_EQ(ref["kwargs"]["num_classes"], 4);

  config::ModelConfig swin;
  swin.name = "swin";
  swin.img_size = 32;
  swin.patch_size = 2;
  swin.embed_dim = 16;
  swin.depths = std::vector<int64_t>{1, 1};
  swin.num_heads = std::vector<int64_t>{1, 2};
  swin.window_size = 4;
  swin.num_classes = 3;
  ref = serve::reference_model(*models::create(swin));
  EXPECT_EQ(ref["class"], "SwinTransformer");
  EXPECT_EQ(ref["kwargs"]["depths"], (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(ref["kwargs"]["window_size"], 4);

  const auto clip = models::create_clip(reduced_clip_config());
  ref = serve::reference_model(clip->options);
  EXPECT_EQ(ref["library"], "open_clip");
  EXPECT_EQ(ref["kwargs"]["vision_cfg"]["head_width"], 32);  // width 64 / 2 heads
  EXPECT_EQ(ref["kwargs"]["text_cfg"]["heads"], 4);
  EXPECT_EQ(ref["kwargs"]["quick_gelu"], false);
}

}  // namespace
}  // namespace tessera::testing
