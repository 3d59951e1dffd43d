// End to end through the real `tessera` executable: Python timm (or open_clip) writes a
// state dict, `tessera convert` checks it against a registered model and writes a Tessera
// checkpoint that loads and that `model.pretrained` in a recipe accepts; mistakes are
// reported. The converted open_clip CLIP must give open_clip's outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fixtures/idx_files.h"
#include "fixtures/reduced_clip.h"
#include "reference_runner.h"
#include "tessera/core/safetensors.h"
#include "tessera/models/clip.h"
#include "tessera/models/clip_pretrained.h"
#include "tessera/models/pretrained.h"
#include "tessera/models/registry.h"
#include "tessera/train/checkpoint.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

constexpr const char* kModel = "deit_tiny_distilled_patch16_224";

// DeiT-Ti (distilled) with two blocks, at 224 with 1000 classes.
config::ModelConfig two_block_deit() {
  config::ModelConfig c;
  c.name = kModel;
  c.depth = 2;
  return c;
}

// Weights under timm's names written by Tessera itself: enough where the test is about
// convert's checks, not about timm's file.
fs::path tessera_weights(const fs::path& file, const std::vector<std::string>& drop = {}) {
  auto model = models::create(two_block_deit());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& p : model->named_parameters()) {
    if (std::find(drop.begin(), drop.end(), p.key()) == drop.end()) tensors.emplace_back(p.key(), p.value());
  }
  core::save_safetensors(file, tensors);
  return file;
}

TEST(ConvertCli, TimmCheckpointConvertsAndLoads) {
  const auto dir = scratch_dir();
  run_reference_script("timm_reference.py", std::string(kModel) + " " + quote(dir / "timm") + R"( '{"depth": 2}' 1 0)");
  ASSERT_FALSE(HasFailure());
  const auto timm_weights = dir / "timm" / "weights.safetensors";
  const auto out = dir / "deit_tiny_96.safetensors";
  auto run = run_cli(std::string("convert --model ") + kModel + " --weights " + quote(timm_weights) + " --out " +
                     quote(out) + " --set depth=2 --set num_classes=10 --set model.img_size=96");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(fs::exists(out)) << run.output;
  // The adaptations are logged.
  EXPECT_NE(run.output.find("head re-initialised for 10 outputs"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("head_dist re-initialised for 10 outputs"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("pos_embed resampled from a 14x14 to a 6x6 patch grid"), std::string::npos) << run.output;

  // The checkpoint describes itself and loads strictly into the model it names.
  config::ModelConfig c;
  c.name = kModel;
  c.depth = 2;
  c.num_classes = 10;
  c.img_size = 96;
  auto model = models::create(c);
  const auto metadata = train::load_weights(*model, out);
  EXPECT_EQ(metadata.at("format"), "tessera");
  EXPECT_EQ(metadata.at("model"), kModel);
  const auto arch = nlohmann::json::parse(metadata.at("architecture"));
  EXPECT_EQ(arch["img_size"], 96);
  EXPECT_EQ(arch["num_classes"], 10);
  EXPECT_EQ(arch["depth"], 2);
  EXPECT_EQ(arch["embed_dim"], 192);
  EXPECT_EQ(arch["distilled"], true);

  // model.pretrained's loader takes it as it is, and the blocks are timm's.
  auto again = models::create(c);
  const auto loaded = models::load_pretrained(*again, out);
  EXPECT_TRUE(loaded.new_heads.empty());
  EXPECT_FALSE(loaded.pos_embed_from.has_value());
  const auto timm = read_tensors(timm_weights);
  const auto converted = read_tensors(out);
  for (const auto& [name, tensor] : timm) {
    if (name == "pos_embed" || name.rfind("head", 0) == 0) continue;
    EXPECT_TRUE(at::equal(converted.at(name), tensor)) << name;
  }
  EXPECT_EQ(converted.at("pos_embed").sizes(), (at::IntArrayRef{1, 2 + 36, 192}));
}

TEST(ConvertCli, RefusesToOverwrite) {
  const auto dir = scratch_dir();
  const auto out = dir / "existing.safetensors";
  std::ofstream(out) << "precious";
  auto run = run_cli(std::string("convert --model ") + kModel + " --weights " +
                     quote(tessera_weights(dir / "in.safetensors")) + " --out " +
                     quote(out) + " --set depth=2");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("already exists"), std::string::npos) << run.output;
  EXPECT_EQ(read_bytes(out), "precious");
}

TEST(ConvertCli, MissingKeyIsListed) {
  const auto dir = scratch_dir();
  const auto broken = tessera_weights(dir / "broken.safetensors", {"blocks.1.attn.proj.bias"});
  const auto out = dir / "out.safetensors";
  auto run = run_cli(std::string("convert --model ") + kModel + " --weights " + quote(broken) + " --out " + quote(out) +
                     " --set depth=2");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("missing blocks.1.attn.proj.bias"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("broken.safetensors"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("Exception raised"), std::string::npos) << "no stack traces: " << run.output;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename().string().find(".converting."), std::string::npos) << "no temporary left";
  }
}

TEST(ConvertCli, WrongModelOrKeyIsExplained) {
  const auto dir = scratch_dir();
  const auto weights = tessera_weights(dir / "in.safetensors");
  const auto out = dir / "out.safetensors";
  auto run = run_cli("convert --model deit_tiny_distiled_patch16_224 --weights " + quote(weights) + " --out " +
                     quote(out));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("did you mean 'deit_tiny_distilled_patch16_224'"), std::string::npos) << run.output;
  run = run_cli(std::string("convert --model ") + kModel + " --weights " + quote(weights) + " --out " + quote(out) +
                " --set num_clases=10");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("num_classes"), std::string::npos) << run.output;
  // Without --set depth=2 the file lacks blocks 2..11.
  run = run_cli(std::string("convert --model ") + kModel + " --weights " + quote(weights) + " --out " + quote(out));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("missing blocks.10."), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(out));
}

// A recipe's model.pretrained starts training from a converted timm checkpoint: a ViT-Ti
// shaped for 28x28 grayscale images, timm's weights converted for 10 classes.
TEST(ConvertCli, PretrainedRecipeTrains) {
  const auto dir = scratch_dir();
  run_reference_script("timm_reference.py",
                       "vit_tiny_patch16_224 " + quote(dir / "timm") +
                           R"( '{"depth": 2, "img_size": 28, "patch_size": 7, "in_chans": 1}' 1 0)");
  ASSERT_FALSE(HasFailure());
  const auto converted = dir / "vit_tiny_28.safetensors";
  auto convert = run_cli("convert --model vit_tiny_patch16_224 --weights " +
                         quote(dir / "timm" / "weights.safetensors") + " --out " + quote(converted) +
                         " --set depth=2 --set img_size=28 --set patch_size=7 --set in_chans=1 --set num_classes=10");
  ASSERT_EQ(convert.exit_code, 0) << convert.output;

  write_bar_dataset(dir / "data", 256, 64);
  const auto recipe = dir / "pretrained.yaml";
  std::ofstream(recipe) << "name: pretrained\n"
                           "model: {name: vit_tiny_patch16_224, img_size: 28, patch_size: 7, depth: 2, pretrained: "
                        << converted.string() << "}\n"
                        << "data: {dataset: fashion_mnist, root: " << (dir / "data").string()
                        << ", batch_size: 64, num_workers: 1}\n"
                           "train: {epochs: 1, threads: 1}\n"
                           "logging: {output_dir: "
                        << (dir / "runs").string() << "}\n";
  auto run = run_cli("train " + quote(recipe));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("tensors loaded from " + converted.string()), std::string::npos) << run.output;

  // A pretrained file that does not fit the recipe's model stops the run before it starts.
  auto bad = run_cli("train " + quote(recipe) + " --set model.depth=3");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("missing blocks.2."), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "runs" / "pretrained-2")) << "a failed start leaves no run folder";
}

// ---- open_clip -----------------------------------------------------------------

// A reduced open_clip CLIP with every part of ViT-B-32's structure (GELU, argmax pooling,
// the full BPE vocabulary), as open_clip builds it and as `--set` tells Tessera's "clip".
const char* kClipOverrides =
    R"({"embed_dim": 32, "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 64, "layers": 2,)"
    R"( "head_width": 32, "mlp_ratio": 2.0}, "text_cfg": {"context_length": 77, "vocab_size": 49408,)"
    R"( "width": 48, "heads": 4, "layers": 2}})";

std::string clip_sets(int64_t image_size = 32, int64_t context_length = 77) {
  return " --set embed_dim=32 --set vision.image_size=" + std::to_string(image_size) +
         " --set vision.patch_size=8 --set vision.width=64 --set vision.layers=2 --set vision.heads=2"
         " --set vision.mlp_ratio=2.0 --set text.context_length=" +
         std::to_string(context_length) + " --set text.width=48 --set text.heads=4 --set text.layers=2";
}

// open_clip_export.py into `dir`, with its extra arguments.
void export_open_clip(const fs::path& dir, const std::string& extra = "") {
  run_reference_script("open_clip_export.py", quote(dir) + " '" + kClipOverrides + "' " + extra);
}

// Loads the converted file into a fresh CLIP with the model loader (it must fit as it
// is: nothing left to resize) and compares its outputs with open_clip's in `io`.
void expect_open_clip_outputs(const std::string& label, const fs::path& converted, const config::ModelConfig& c,
                              const std::map<std::string, at::Tensor>& io) {
  auto model = models::create_clip(c);
  const auto loaded = models::load_clip_pretrained(*model, converted);
  EXPECT_FALSE(loaded.stripped_module_prefix);
  EXPECT_FALSE(loaded.image_grid_from.has_value()) << "the converted file is already at the model's size";
  EXPECT_FALSE(loaded.context_from.has_value());
  model->eval();
  at::NoGradGuard no_grad;
  const auto out = model->forward(io.at("images"), io.at("tokens"));
  auto compare = [&](const std::string& what, const at::Tensor& got, const at::Tensor& expected) {
    ASSERT_EQ(got.sizes(), expected.sizes()) << what;
    const double err = max_abs_diff(got, expected);
    std::cout << "[parity] " << label << " " << what << ": max abs err " << err << "\n";
    EXPECT_LE(err, 1e-4) << label << " " << what;
  };
  compare("image features", model->encode_image(io.at("images")), io.at("image_features"));
  compare("text features", model->encode_text(io.at("tokens")), io.at("text_features"));
  compare("logit scale", out.logit_scale.reshape({1}), io.at("logit_scale"));
  compare("logits", out.logits_per_image(), io.at("logits"));
}

TEST(ConvertCli, OpenClipCheckpointConvertsAndMatchesOpenClip) {
  const auto dir = scratch_dir();
  export_open_clip(dir / "open_clip");
  ASSERT_FALSE(HasFailure());
  const auto io = read_tensors(dir / "open_clip" / "io.safetensors");
  const auto original = read_tensors(dir / "open_clip" / "weights.safetensors");

  // As open_clip saves it, and as a DDP run saves it ("module." before every name).
  for (const std::string file : {"weights", "module_weights"}) {
    const auto out = dir / (file + "_tessera.safetensors");
    auto run = run_cli("convert --model clip --weights " + quote(dir / "open_clip" / (file + ".safetensors")) +
                       " --out " + quote(out) + clip_sets());
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const bool ddp = file == "module_weights";
    EXPECT_EQ(run.output.find("dropped the \"module.\" prefix") != std::string::npos, ddp) << run.output;

    // The same tensors under the same names, and metadata that describes the model.
    const auto converted = read_tensors(out);
    EXPECT_EQ(converted.size(), original.size());
    for (const auto& [name, tensor] : original) {
      ASSERT_TRUE(converted.count(name)) << name;
      EXPECT_TRUE(at::equal(converted.at(name), tensor)) << name;
    }
    const auto metadata = core::load_safetensors(out).metadata;
    EXPECT_EQ(metadata.at("format"), "tessera");
    EXPECT_EQ(metadata.at("model"), "clip");
    const auto arch = nlohmann::json::parse(metadata.at("architecture"));
    EXPECT_EQ(arch["family"], "clip");
    EXPECT_EQ(arch["vision"]["image_size"], 32);
    EXPECT_EQ(arch["text"]["context_length"], 77);

    expect_open_clip_outputs(ddp ? "open_clip (DDP) -> convert" : "open_clip -> convert", out,
                             reduced_clip_config(), io);
  }
}

TEST(ConvertCli, OpenClipAtAnotherImageSizeMatchesOpenClipsResize) {
  // 32x32 weights (a 4x4 patch grid) used at 48x48 (6x6): Tessera's resize against
  // open_clip's load_checkpoint into a 48x48 model, through the whole forward.
  const auto dir = scratch_dir();
  export_open_clip(dir / "open_clip", "--image-size 48");
  ASSERT_FALSE(HasFailure());
  const auto io = read_tensors(dir / "open_clip" / "io_image_48.safetensors");
  const auto out = dir / "clip_48.safetensors";
  auto run = run_cli("convert --model clip --weights " + quote(dir / "open_clip" / "weights.safetensors") +
                     " --out " + quote(out) + clip_sets(/*image_size=*/48));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("visual.positional_embedding resized from a 4x4 to a 6x6 patch grid"), std::string::npos)
      << run.output;
  const double pos_err =
      max_abs_diff(read_tensors(out).at("visual.positional_embedding"), io.at("visual_positional_embedding"));
  std::cout << "[parity] open_clip 32 -> 48 visual.positional_embedding: max abs err " << pos_err << "\n";
  EXPECT_LE(pos_err, 1e-5);
  expect_open_clip_outputs("open_clip 32 -> 48", out, reduced_clip_config("clip", /*image_size=*/48), io);
}

TEST(ConvertCli, OpenClipAtAnotherContextLengthMatchesOpenClipsResize) {
  const auto dir = scratch_dir();
  export_open_clip(dir / "open_clip", "--context-length 24");
  ASSERT_FALSE(HasFailure());
  const auto io = read_tensors(dir / "open_clip" / "io_context_24.safetensors");
  const auto out = dir / "clip_24.safetensors";
  auto run = run_cli("convert --model clip --weights " + quote(dir / "open_clip" / "weights.safetensors") +
                     " --out " + quote(out) + clip_sets(32, /*context_length=*/24));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("positional_embedding resized from a text context of 77 to 24 tokens"),
            std::string::npos)
      << run.output;
  const double pos_err = max_abs_diff(read_tensors(out).at("positional_embedding"), io.at("positional_embedding"));
  std::cout << "[parity] open_clip context 77 -> 24 positional_embedding: max abs err " << pos_err << "\n";
  EXPECT_LE(pos_err, 1e-5);
  expect_open_clip_outputs("open_clip context 77 -> 24", out,
                           reduced_clip_config("clip", 32, /*context_length=*/24), io);
}

TEST(ConvertCli, OpenClipMistakesAreExplained) {
  const auto dir = scratch_dir();
  // CLIP weights under open_clip's names (the parity tests check Tessera's are open_clip's).
  auto clip = models::create_clip(reduced_clip_config());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& p : clip->named_parameters()) {
    if (p.key() != "transformer.resblocks.1.mlp.c_proj.bias") tensors.emplace_back(p.key(), p.value());
  }
  const auto missing = dir / "missing.safetensors";
  core::save_safetensors(missing, tensors);
  const auto out = dir / "out.safetensors";

  auto run = run_cli("convert --model clip --weights " + quote(missing) + " --out " + quote(out) + clip_sets());
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("missing.safetensors: the weights do not fit the model: missing "
                            "transformer.resblocks.1.mlp.c_proj.bias"),
            std::string::npos)
      << run.output;

  // A timm classifier's weights given to CLIP, and CLIP's given to a timm ViT.
  run = run_cli("convert --model ViT-B-32 --weights " + quote(tessera_weights(dir / "deit.safetensors")) + " --out " +
                quote(out));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("the file holds timm ViT/DeiT weights, the model is open_clip CLIP"), std::string::npos)
      << run.output;
  run = run_cli("convert --model vit_tiny_patch16_224 --weights " + quote(missing) + " --out " + quote(out));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("the file holds open_clip CLIP weights, the model is timm ViT/DeiT"), std::string::npos)
      << run.output;

  // The preset's numbers (ViT-B-32 at full size) do not fit the reduced file: shapes named.
  run = run_cli("convert --model clip --weights " + quote(missing) + " --out " + quote(out));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("shape mismatch"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ln_final.weight (file [48], model [512])"), std::string::npos)
      << run.output;
  // A generic key CLIP does not have points at CLIP's own.
  run = run_cli("convert --model clip --weights " + quote(missing) + " --out " + quote(out) + " --set img_size=48");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("model.vision.image_size"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace tessera::testing
