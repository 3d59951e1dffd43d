// End to end through the real `tessera` executable: a tiny recipe trains on IDX files
// the test writes (learnable bars), the loss falls, eval reproduces the final accuracy,
// and user mistakes give one clear line and a non-zero exit.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fixtures/idx_files.h"
#include "test_env.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;

std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// A tiny ViT on the bar dataset; `dir` holds the data and receives the runs.
fs::path write_tiny_recipe(const fs::path& dir) {
  write_bar_dataset(dir / "data", 640, 200);
  const auto recipe = dir / "tiny.yaml";
  std::ofstream(recipe) << "name: tiny\n"
                           "model: {name: vit, img_size: 28, patch_size: 7, embed_dim: 32, depth: 2, num_heads: 2}\n"
                           "data:\n"
                           "  dataset: fashion_mnist\n"
                           "  root: " << (dir / "data").string() << "\n"
                           "  batch_size: 64\n"
                           "  num_workers: 2\n"
                           "  augment: {random_crop_padding: 1, hflip: 0.5}\n"
                           "optim: {learning_rate: 3.0e-3, weight_decay: 0.01}\n"
                           "schedule: {warmup_epochs: 0.5}\n"
                           "train: {epochs: 4, label_smoothing: 0.1, threads: 1}\n"
                           "logging: {output_dir: " << (dir / "runs").string() << ", log_every: 5}\n";
  return recipe;
}

TEST(TrainCli, TinyRecipeLearnsAndEvalAgrees) {
  const auto dir = scratch_dir();
  const auto recipe = write_tiny_recipe(dir);
  auto run = run_cli("train '" + recipe.string() + "'");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("final test accuracy (top-1)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("wall time"), std::string::npos) << run.output;

  const auto run_dir = dir / "runs" / "tiny";
  ASSERT_TRUE(fs::exists(run_dir / "config.yaml"));
  ASSERT_TRUE(fs::exists(run_dir / "log.txt"));
  ASSERT_TRUE(fs::exists(run_dir / "checkpoints" / "last.safetensors"));

  // The loss falls from the first logged steps to the last epoch, and the model
  // learns the bars far beyond chance (0.1).
  std::vector<double> step_losses;
  std::vector<nlohmann::json> evals;
  for (const auto& row : read_jsonl(run_dir / "metrics.jsonl")) {
    if (row.contains("loss")) step_losses.push_back(row["loss"].get<double>());
    if (row.contains("eval_top1")) evals.push_back(row);
  }
  ASSERT_GE(step_losses.size(), 4u);
  ASSERT_EQ(evals.size(), 4u);
  EXPECT_LT(evals.back()["train_loss"].get<double>(), step_losses.front());
  EXPECT_LT(evals.back()["train_loss"].get<double>(), evals.front()["train_loss"].get<double>());
  const double final_top1 = evals.back()["eval_top1"].get<double>();
  EXPECT_GT(final_top1, 0.5);
  for (const auto& row : evals) {
    // A share of the epoch's time (how much the loader held the model up).
    EXPECT_GE(row["data_wait_fraction"].get<double>(), 0.0) << row;
    EXPECT_LE(row["data_wait_fraction"].get<double>(), 1.0) << row;
  }

  // `tessera eval` on the run folder reproduces the final evaluation.
  auto eval = run_cli("eval --json '" + run_dir.string() + "'");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const auto result = nlohmann::json::parse(eval.output.substr(eval.output.find('{')));
  EXPECT_EQ(result["samples"].get<int64_t>(), 200);
  EXPECT_DOUBLE_EQ(result["top1"].get<double>(), final_top1);

  // A second run of the same recipe gets its own folder; nothing is overwritten. It
  // also exercises layer decay, lr groups and the weight EMA.
  auto again = run_cli("train '" + recipe.string() +
                       "' --set train.epochs=1 --set optim.layer_decay=0.75 --set train.ema.decay=0.9 "
                       "--set 'optim.lr_groups=[{match: \"head*\", lr_scale: 2}]'");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("layer3.decay.head*"), std::string::npos) << again.output;
  const auto run2 = dir / "runs" / "tiny-2";
  EXPECT_TRUE(fs::exists(run2 / "checkpoints" / "last.safetensors"));
  EXPECT_TRUE(fs::exists(run2 / "checkpoints" / "last_ema.safetensors"));
  EXPECT_TRUE(read_jsonl(run2 / "metrics.jsonl").back().contains("ema_eval_top1"));
}

TEST(TrainCli, TypoInOverrideNamesKeyAndSuggestion) {
  const auto dir = scratch_dir();
  const auto recipe = write_tiny_recipe(dir);
  auto run = run_cli("train '" + recipe.string() + "' --set optim.leraning_rate=1");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("leraning_rate"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("did you mean 'learning_rate'"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("Exception raised"), std::string::npos) << "no stack traces: " << run.output;
  EXPECT_FALSE(fs::exists(dir / "runs")) << "a failed start leaves no run folder";
}

TEST(TrainCli, TypoInRecipeFileNamesFileAndLine) {
  const auto dir = scratch_dir();
  const auto recipe = dir / "typo.yaml";
  std::ofstream(recipe) << "name: typo\noptim:\n  leraning_rate: 0.1\n";
  auto run = run_cli("train '" + recipe.string() + "'");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("typo.yaml:3:"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("learning_rate"), std::string::npos) << run.output;
}

TEST(TrainCli, MissingDataSaysWhatIsMissing) {
  const auto dir = scratch_dir();
  const auto recipe = write_tiny_recipe(dir);
  auto run = run_cli("train '" + recipe.string() + "' --set data.root=" + (dir / "nowhere").string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("nowhere"), std::string::npos) << run.output;
  EXPECT_LT(std::count(run.output.begin(), run.output.end(), '\n'), 3) << "one line: " << run.output;
}

TEST(TrainCli, ImageSizeMismatchIsExplained) {
  const auto dir = scratch_dir();
  const auto recipe = write_tiny_recipe(dir);
  // Without data.image_size the data would follow the model (resized to 32); with it, the two disagree.
  auto run = run_cli("train '" + recipe.string() +
                     "' --set data.image_size=28 --set model.img_size=32 --set model.patch_size=8");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("model.img_size"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("28x28"), std::string::npos) << run.output;
}

TEST(TrainCli, ModelsListsRegisteredNames) {
  auto run = run_cli("models");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("vit_small_patch16_224"), std::string::npos);
  EXPECT_NE(run.output.find("22050664"), std::string::npos);
}

TEST(TrainCli, HelpOnEachCommand) {
  for (const char* command : {"--help", "train --help", "eval --help", "models --help", "convert --help"}) {
    auto run = run_cli(command);
    EXPECT_EQ(run.exit_code, 0) << command << ": " << run.output;
    EXPECT_NE(run.output.find("Usage"), std::string::npos) << command;
  }
}

}  // namespace
}  // namespace tessera::testing
