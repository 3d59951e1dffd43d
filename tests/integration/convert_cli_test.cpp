// End to end through the real `tessera` executable: Python timm writes a state dict,
// `tessera convert` checks it against a registered model and writes a Tessera checkpoint
// that loads and that `model.pretrained` in a recipe accepts; mistakes are reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fixtures/idx_files.h"
#include "reference_runner.h"
#include "tessera/core/safetensors.h"
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

}  // namespace
}  // namespace tessera::testing
