// CLIP training end to end through the real `tessera` executable: the captioned
// Fashion-MNIST that data/make_fashion_mnist_captions.py makes (here from IDX files the
// test writes), the CPU-scale pretraining recipe for a few steps, retrieval and zero-shot
// evaluation with `tessera eval`, the locked image tower, and the fine-tuning recipe
// starting from an open_clip checkpoint converted with `tessera convert`.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fixtures/idx_files.h"
#include "fixtures/reduced_clip.h"
#include "reference_runner.h"
#include "fixtures/run_output.h"
#include "test_env.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;

// Bar-pattern IDX files in `dir`/fm and the caption dataset the script makes of them in `dir`/captions.
void write_captioned_data(const fs::path& dir) {
  write_bar_dataset(dir / "fm", 256, 60);
  const auto made = run_command("'" + python_path() + "' " + quote(source_dir() / "data" / "make_fashion_mnist_captions.py") +
                                " --root " + quote(dir / "fm") + " --out " + quote(dir / "captions"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  ASSERT_TRUE(fs::exists(dir / "captions" / "train.csv"));
  ASSERT_TRUE(fs::exists(dir / "captions" / "images" / "val" / "000059.png"));
}

CommandResult train_clip(const std::string& recipe, const fs::path& dir, const std::string& sets) {
  const auto run = run_cli("train " + quote(source_dir() / "recipes" / "clip" / recipe) + " --set data.root=" +
                           quote(dir / "captions") + " --set data.num_workers=1 --set train.threads=1" +
                           " --set data.eval_batch_size=30 --set logging.log_every=1 --set logging.output_dir=" +
                           quote(dir / "runs") + " " + sets);
  EXPECT_EQ(run.exit_code, 0) << recipe << "\n" << run.output;
  return run;
}

TEST(ClipCli, FashionMnistCaptionsRecipeTrainsAndEvaluatesZeroShot) {
  const auto dir = scratch_dir();
  write_captioned_data(dir);
  const auto run = train_clip("clip_fashion_mnist.yaml", dir,
                              "--set data.batch_size=32 --set train.epochs=3 --set schedule.warmup_epochs=0.3");
  EXPECT_NE(run.output.find("task: contrastive image-text"), std::string::npos) << run.output;
  for (const char* group : {"image.decay", "image.no_decay", "text.decay", "text.no_decay", "logit_scale"}) {
    EXPECT_NE(run.output.find("param group " + std::string(group)), std::string::npos) << group;
  }
  const auto run_dir = dir / "runs" / "clip_fashion_mnist";
  std::vector<double> losses;
  nlohmann::json last_eval;
  for (const auto& row : read_metrics_rows(run_dir / "metrics.jsonl")) {
    if (row.contains("loss")) {
      losses.push_back(row["loss"].get<double>());
      for (const char* key : {"i2t_acc", "t2i_acc"}) {
        EXPECT_GE(row[key].get<double>(), 0.0);
        EXPECT_LE(row[key].get<double>(), 1.0);
      }
      EXPECT_LE(row["logit_scale"].get<double>(), 100.0 + 1e-3) << "clamped after every step";
    }
    if (row.contains("eval_retrieval_r1")) last_eval = row;
  }
  ASSERT_EQ(losses.size(), 24u);  // 3 epochs of 256 / 32 steps
  for (double loss : losses) EXPECT_TRUE(std::isfinite(loss));
  const double first = (losses[0] + losses[1] + losses[2]) / 3, end = (losses[21] + losses[22] + losses[23]) / 3;
  std::cout << "contrastive loss: first 3 steps " << first << ", last 3 " << end << "\n";
  EXPECT_LT(end, first);
  ASSERT_TRUE(last_eval.contains("eval_i2t_r10")) << last_eval;

  // Retrieval on the caption validation set: what the run's last evaluation reported.
  const auto retrieval = json_of(run_cli("eval --json " + quote(run_dir)));
  EXPECT_EQ(retrieval["samples"].get<int64_t>(), 60);
  for (const char* key : {"retrieval_r1", "i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10"}) {
    EXPECT_DOUBLE_EQ(retrieval[key].get<double>(), last_eval[std::string("eval_") + key].get<double>()) << key;
  }

  // Zero-shot on the labelled IDX test set, with the default prompt and with a templates file.
  const std::string labelled = " --set data.dataset=fashion_mnist --set data.root=" + quote(dir / "fm");
  auto zero_shot = run_cli("eval --json --zero-shot " + quote(run_dir) + labelled);
  ASSERT_EQ(zero_shot.exit_code, 0) << zero_shot.output;
  auto result = json_of(zero_shot);
  EXPECT_EQ(result["samples"].get<int64_t>(), 60);
  EXPECT_EQ(result["templates"].get<int64_t>(), 1);
  EXPECT_EQ(result["classes"][0].get<std::string>(), "T-shirt/top");
  EXPECT_GE(result["top1"].get<double>(), 0.0);
  EXPECT_GE(result["top5"].get<double>(), result["top1"].get<double>());
  std::cout << "zero-shot top-1 after 24 steps: " << result["top1"].get<double>() << "\n";

  const auto templates = source_dir() / "recipes" / "clip" / "fashion_mnist_templates.yaml";
  zero_shot = run_cli("eval --json --zero-shot " + quote(run_dir) + labelled + " --templates " + quote(templates));
  ASSERT_EQ(zero_shot.exit_code, 0) << zero_shot.output;
  EXPECT_EQ(json_of(zero_shot)["templates"].get<int64_t>(), 4);

  const auto bad = dir / "bad_templates.yaml";
  std::ofstream(bad) << "templates:\n  - \"a photo of a {}.\"\n  - [nested]\n";
  zero_shot = run_cli("eval --zero-shot " + quote(run_dir) + labelled + " --templates " + quote(bad));
  EXPECT_NE(zero_shot.exit_code, 0);
  EXPECT_NE(zero_shot.output.find("bad_templates.yaml:3:"), std::string::npos) << zero_shot.output;
  EXPECT_NE(zero_shot.output.find("non-empty string"), std::string::npos) << zero_shot.output;

  // An image classifier has no zero-shot evaluation; a caption set has no labels.
  zero_shot = run_cli("eval --zero-shot " + quote(run_dir));
  EXPECT_NE(zero_shot.exit_code, 0);
  EXPECT_NE(zero_shot.output.find("labelled dataset"), std::string::npos) << zero_shot.output;
}

TEST(ClipCli, ResumedRunRepeatsTheUninterruptedOne) {
  const auto dir = scratch_dir();
  write_captioned_data(dir);
  const std::string sets = "--set data.batch_size=64 --set train.epochs=2";
  train_clip("clip_fashion_mnist.yaml", dir, sets);
  // Killed while saving step 6's checkpoint; resumed from step 3, in the second epoch's middle.
  const std::string command = "train " + quote(source_dir() / "recipes" / "clip" / "clip_fashion_mnist.yaml") +
                              " --set data.root=" + quote(dir / "captions") +
                              " --set data.num_workers=1 --set train.threads=1 --set data.eval_batch_size=30" +
                              " --set logging.log_every=1 --set logging.output_dir=" + quote(dir / "runs") + " " +
                              sets + " --set name=crashed --set checkpoint.every_steps=3";
  const auto crashed = run_command("TESSERA_TEST_CRASH_DURING_SAVE=6 '" + cli_path() + "' " + command);
  EXPECT_NE(crashed.exit_code, 0) << crashed.output;
  const auto resumed = run_cli(command + " --resume " + quote(dir / "runs" / "crashed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto straight = step_rows(dir / "runs" / "clip_fashion_mnist" / "metrics.jsonl");
  const auto again = step_rows(dir / "runs" / "crashed" / "metrics.jsonl");
  ASSERT_EQ(straight.size(), 8u);
  ASSERT_EQ(again.size(), straight.size());
  for (size_t i = 0; i < straight.size(); ++i) {
    for (const char* key : {"loss", "i2t_acc", "t2i_acc", "logit_scale"}) {
      EXPECT_EQ(again[i][key].get<double>(), straight[i][key].get<double>()) << key << " at step " << i + 1;
    }
  }
}

TEST(ClipCli, LockedImageTowerStaysAsInitialized) {
  const auto dir = scratch_dir();
  write_captioned_data(dir);
  const auto run = train_clip("clip_fashion_mnist.yaml", dir,
                              "--set data.batch_size=64 --set train.epochs=1 --set clip.lock_image=true"
                              " --set checkpoint.every_steps=1");
  EXPECT_NE(run.output.find("the image tower is frozen"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("param group image."), std::string::npos) << run.output;
  const auto checkpoints = dir / "runs" / "clip_fashion_mnist" / "checkpoints";
  const auto first = read_tensors(checkpoints / "step-00000001.safetensors");
  const auto last = read_tensors(checkpoints / "last.safetensors");
  int64_t image_tensors = 0;
  for (const auto& [name, tensor] : first) {
    if (name.rfind("visual.", 0) == 0) {
      ++image_tensors;
      EXPECT_TRUE(at::equal(tensor, last.at(name))) << name;
    }
  }
  EXPECT_GT(image_tensors, 0);
  EXPECT_FALSE(at::equal(first.at("text_projection"), last.at("text_projection"))) << "the text tower trains";
}

TEST(ClipCli, FinetuneRecipeStartsFromAConvertedOpenClipCheckpoint) {
  const auto dir = scratch_dir();
  write_captioned_data(dir);
  // A reduced open_clip ViT-B-32 (random weights: no downloads), converted as the recipe says.
  const std::string overrides = reduced_clip_open_clip_overrides();
  run_reference_script("open_clip_export.py", quote(dir / "open_clip") + " '" + overrides + "'");
  const std::string arch =
      " --set embed_dim=32 --set vision.image_size=32 --set vision.patch_size=8 --set vision.width=64"
      " --set vision.layers=2 --set vision.heads=2 --set vision.mlp_ratio=2.0 --set text.width=48"
      " --set text.heads=4 --set text.layers=2";
  const auto converted = dir / "ViT-B-32.safetensors";
  const auto convert = run_cli("convert --model ViT-B-32 --weights " + quote(dir / "open_clip" / "weights.safetensors") +
                               " --out " + quote(converted) + arch);
  ASSERT_EQ(convert.exit_code, 0) << convert.output;

  std::string model_sets;
  for (size_t at = arch.find("--set "); at != std::string::npos; at = arch.find("--set ", at + 1)) {
    model_sets += " --set model." + arch.substr(at + 6, arch.find(' ', at + 6) - at - 6);
  }
  const auto run = train_clip("clip_vit_b32_finetune_captions.yaml", dir,
                              "--set model.pretrained=" + quote(converted) + model_sets +
                                  " --set data.image_size=32 --set data.batch_size=32 --set train.epochs=1"
                                  " --set schedule.warmup_steps=2");
  EXPECT_NE(run.output.find("pretrained: "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("tensors loaded from"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("lr x0.1"), std::string::npos) << "the image tower at a tenth: " << run.output;
  const auto rows = read_metrics_rows(dir / "runs" / "clip_vit_b32_finetune_captions" / "metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  EXPECT_TRUE(rows.back().contains("eval_retrieval_r1")) << rows.back();
}

}  // namespace
}  // namespace tessera::testing
