// The CIFAR-10 recipes of recipes/cifar10/ run end to end through the real `tessera`
// executable on synthetic CIFAR-10 binary files (class-coloured images the models can
// learn): a few steps each with test-sized batches, the loss finite and falling. The
// ViT-S/16 fine-tuning recipe starts from a timm checkpoint written by timm at test time.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fixtures/cifar_files.h"
#include "reference_runner.h"
#include "test_env.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;

std::vector<double> step_losses(const fs::path& metrics) {
  std::vector<double> losses;
  std::ifstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    if (row.contains("loss")) losses.push_back(row["loss"].get<double>());
  }
  return losses;
}

double mean_of(const std::vector<double>& v, size_t first, size_t count) {
  double sum = 0.0;
  for (size_t i = first; i < first + count; ++i) sum += v[i];
  return sum / static_cast<double>(count);
}

// Trains `recipe` (a file of recipes/cifar10/) for `steps` steps on synthetic data with
// the given extra overrides; checks the losses and returns them.
std::vector<double> train_recipe(const fs::path& dir, const std::string& recipe, int64_t batch, int64_t steps,
                                 const std::string& extra = "") {
  write_learnable_cifar10(dir / "cifar", 16, 20);  // 80 training and 20 test images
  const int64_t per_epoch = 80 / batch;
  const int64_t epochs = (steps + per_epoch - 1) / per_epoch;
  const std::string command =
      "train '" + (source_dir() / "recipes" / "cifar10" / recipe).string() + "' --set data.root='" +
      (dir / "cifar").string() + "' --set data.batch_size=" + std::to_string(batch) +
      " --set data.eval_batch_size=20 --set data.num_workers=1 --set train.epochs=" + std::to_string(epochs) +
      " --set train.threads=1 --set logging.log_every=1 --set logging.output_dir='" + (dir / "runs").string() +
      "' --set checkpoint.every_epochs=0 " + extra;
  const auto run = run_cli(command);
  EXPECT_EQ(run.exit_code, 0) << command << "\n" << run.output;
  const auto name = recipe.substr(0, recipe.find('.'));
  const auto losses = step_losses(dir / "runs" / ("cifar10_" + name) / "metrics.jsonl");
  EXPECT_EQ(static_cast<int64_t>(losses.size()), epochs * per_epoch) << run.output;
  for (double loss : losses) EXPECT_TRUE(std::isfinite(loss)) << run.output;
  if (losses.size() >= 6) {
    const double first = mean_of(losses, 0, 3), last = mean_of(losses, losses.size() - 3, 3);
    std::cout << recipe << ": mean loss of the first 3 steps " << first << ", of the last 3 " << last << "\n";
    EXPECT_LT(last, first) << run.output;
  }
  return losses;
}

TEST(CifarRecipes, VitScratch32TrainsOnCifarFiles) {
  // The recipe's own augmentation (RandAugment, erasing, mixup/cutmix); warmup shortened
  // to the test's few steps.
  train_recipe(scratch_dir(), "vit_scratch_32.yaml", 16, 25, "--set schedule.warmup_epochs=0.2");
}

TEST(CifarRecipes, Swin32TrainsOnCifarFiles) {
  train_recipe(scratch_dir(), "swin_32.yaml", 16, 25, "--set schedule.warmup_epochs=0.2");
}

TEST(CifarRecipes, VitSmallFinetuneFromTimmCheckpoint) {
  // timm's vit_small_patch16_224 (random weights: no model hub here) as the "pretrained"
  // checkpoint, with its 1000-class head, which the recipe replaces by a 10-class one.
  const auto dir = scratch_dir();
  run_reference_script("timm_pretrained_reference.py",
                       "load '[[\"vit_small_patch16_224\", \"" + (dir / "timm").string() + "\", {}, {}]]'");
  const auto weights = dir / "timm" / "source.safetensors";
  train_recipe(dir, "vit_small_finetune.yaml", 8, 10,
               "--set model.pretrained='" + weights.string() + "' --set schedule.warmup_steps=2");
}

}  // namespace
}  // namespace tessera::testing
