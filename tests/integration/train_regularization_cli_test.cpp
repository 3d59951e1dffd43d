// Mixup/cutmix, the attention backend switch and TensorBoard output, wired into a real
// `tessera train` run on a tiny generated dataset.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "fixtures/idx_files.h"
#include "reference_runner.h"
#include "test_env.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;

fs::path write_recipe(const fs::path& dir, const std::string& train_extra) {
  write_bar_dataset(dir / "data", 256, 64);
  const auto recipe = dir / "mix.yaml";
  std::ofstream(recipe) << "name: mix\n"
                           "model: {name: vit, img_size: 28, patch_size: 7, embed_dim: 32, depth: 2, num_heads: 2}\n"
                           "data: {dataset: fashion_mnist, root: " << (dir / "data").string()
                        << ", batch_size: 32, num_workers: 1}\n"
                           "optim: {learning_rate: 3.0e-3}\n"
                           "train: {epochs: 2, threads: 1, label_smoothing: 0.1, " << train_extra << "}\n"
                           "logging: {output_dir: " << (dir / "runs").string() << ", log_every: 2, progress: lines}\n";
  return recipe;
}

TEST(TrainRegularizationCli, MixupAttentionAndTensorBoardInOneRun) {
  const auto dir = scratch_dir();
  const auto recipe = write_recipe(
      dir, "attention: math, mixup: {mixup_alpha: 0.8, cutmix_alpha: 1.0, mode: elem, switch_prob: 0.5}");
  auto run = run_cli("train '" + recipe.string() + "'");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("attention: math"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("mixup"), std::string::npos) << run.output;

  // The soft-target loss is finite and logged at every second step: 16 steps, 8 rows.
  const auto run_dir = dir / "runs" / "mix";
  std::ifstream in(run_dir / "metrics.jsonl");
  std::string line;
  int step_rows = 0;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    if (row.contains("loss")) {
      ++step_rows;
      EXPECT_TRUE(std::isfinite(row["loss"].get<double>())) << line;
    }
  }
  EXPECT_EQ(step_rows, 8);

  // The same losses, read back from the TensorBoard files by the real tensorboard package.
  auto read = run_reference_script("read_tensorboard.py", "'" + (run_dir / "tensorboard").string() + "'");
  ASSERT_EQ(read.exit_code, 0) << read.output;
  const auto events = nlohmann::json::parse(read.output.substr(read.output.find('{')));
  ASSERT_TRUE(events["scalars"].contains("train/loss")) << read.output;
  EXPECT_EQ(events["scalars"]["train/loss"].size(), 8u);
  EXPECT_TRUE(events["scalars"].contains("eval/top1")) << read.output;
}

TEST(TrainRegularizationCli, UnavailableAttentionBackendIsAClearError) {
  const auto dir = scratch_dir();
  auto run = run_cli("train '" + write_recipe(dir, "attention: efficient").string() + "'");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("train.attention: efficient is not available on cpu"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("Exception raised from"), std::string::npos) << run.output;  // no C++ backtrace
}

}  // namespace
}  // namespace tessera::testing
