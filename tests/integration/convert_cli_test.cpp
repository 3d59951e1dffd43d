// End to end through the real `tessera` executable: Python timm writes a state dict,
// `tessera convert` checks it against a registered model and writes a Tessera checkpoint
// that loads and that `model.pretrained` in a recipe accepts; mistakes are reported.
#include <gtest/gtest.h>

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

// State dicts written once for the suite by timm itself: a DeiT-Ti (distilled, two
// blocks) at 224 with 1000 classes, and a two-block ViT-Ti for 28x28 grayscale images.
class ConvertCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / "tessera-tests" / "ConvertCli";
    fs::remove_all(dir_);
    const nlohmann::json runs = {
        {"deit_tiny_distilled_patch16_224", (dir_ / "deit").string(), R"({"depth": 2})", "1", "0"},
        {"vit_tiny_patch16_224", (dir_ / "vit28").string(),
         R"({"depth": 2, "img_size": 28, "patch_size": 7, "in_chans": 1})", "1", "0"}};
    const auto script = source_dir() / "tests" / "reference" / "timm_reference_batch.py";
    const auto run = run_command("'" + python_path() + "' '" + script.string() + "' '" + runs.dump() + "'");
    setup_output_ = run.exit_code == 0 ? "" : "timm_reference_batch.py failed:\n" + run.output;
  }
  void SetUp() override { ASSERT_TRUE(setup_output_.empty()) << setup_output_; }

  static fs::path timm_weights() { return dir_ / "deit" / "weights.safetensors"; }
  static fs::path timm_vit28_weights() { return dir_ / "vit28" / "weights.safetensors"; }

  static fs::path dir_;
  static std::string setup_output_;
};
fs::path ConvertCli::dir_;
std::string ConvertCli::setup_output_;

constexpr const char* kModel = "deit_tiny_distilled_patch16_224";

TEST_F(ConvertCli, TimmCheckpointConvertsAndLoads) {
  const auto out = scratch_dir() / "deit_tiny_96.safetensors";
  auto run = run_cli(std::string("convert --model ") + kModel + " --weights " + quote(timm_weights()) + " --out " +
                     quote(out) + " --set depth=2 --set num_classes=10 --set model.img_size=96");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(fs::exists(out)) << run.output;
  // The adaptations are logged.
  EXPECT_NE(run.output.find("head re-initialized for 10 outputs"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("head_dist re-initialized for 10 outputs"), std::string::npos) << run.output;
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
  const auto timm = read_tensors(timm_weights());
  const auto converted = read_tensors(out);
  for (const auto& [name, tensor] : timm) {
    if (name == "pos_embed" || name.rfind("head", 0) == 0) continue;
    EXPECT_TRUE(at::equal(converted.at(name), tensor)) << name;
  }
  EXPECT_EQ(converted.at("pos_embed").sizes(), (at::IntArrayRef{1, 2 + 36, 192}));
}

TEST_F(ConvertCli, RefusesToOverwrite) {
  const auto out = scratch_dir() / "existing.safetensors";
  std::ofstream(out) << "precious";
  auto run = run_cli(std::string("convert --model ") + kModel + " --weights " + quote(timm_weights()) + " --out " +
                     quote(out) + " --set depth=2");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("already exists"), std::string::npos) << run.output;
  EXPECT_EQ(read_bytes(out), "precious");
}

TEST_F(ConvertCli, MissingKeyIsListed) {
  const auto dir = scratch_dir();
  auto weights = core::load_safetensors(timm_weights());
  std::vector<std::pair<std::string, at::Tensor>> kept;
  for (auto& [name, t] : weights.tensors) {
    if (name != "blocks.1.attn.proj.bias") kept.emplace_back(name, t);
  }
  const auto broken = dir / "broken.safetensors";
  core::save_safetensors(broken, kept);
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

TEST_F(ConvertCli, WrongModelOrKeyIsExplained) {
  const auto out = scratch_dir() / "out.safetensors";
  auto run = run_cli("convert --model deit_tiny_distiled_patch16_224 --weights " + quote(timm_weights()) + " --out " +
                     quote(out));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("did you mean 'deit_tiny_distilled_patch16_224'"), std::string::npos) << run.output;
  run = run_cli(std::string("convert --model ") + kModel + " --weights " + quote(timm_weights()) + " --out " +
                quote(out) + " --set num_clases=10");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("num_classes"), std::string::npos) << run.output;
  // Without --set depth=2 the file lacks blocks 2..11.
  run = run_cli(std::string("convert --model ") + kModel + " --weights " + quote(timm_weights()) + " --out " +
                quote(out));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("missing blocks.10."), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(out));
}

// A recipe's model.pretrained starts training from a converted timm checkpoint: a ViT-Ti
// shaped for 28x28 grayscale images, timm's weights converted for 10 classes.
TEST_F(ConvertCli, PretrainedRecipeTrains) {
  const auto dir = scratch_dir();
  const auto converted = dir / "vit_tiny_28.safetensors";
  auto convert = run_cli("convert --model vit_tiny_patch16_224 --weights " + quote(timm_vit28_weights()) +
                         " --out " + quote(converted) +
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
