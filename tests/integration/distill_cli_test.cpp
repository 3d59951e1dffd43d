// DeiT distillation end to end through the real `tessera` executable: the teacher recipe
// trains for a few steps on data the test writes, then the distillation recipe trains its
// student from that run folder (Fashion-MNIST IDX files at CPU scale, CIFAR-10 binary
// files for the GPU-scale recipe). The log and metrics.jsonl carry the teacher's time and
// each head's accuracy, and `tessera eval` reports the heads again.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fixtures/cifar_files.h"
#include "fixtures/idx_files.h"
#include "fixtures/run_output.h"
#include "test_env.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;

// Trains `recipe` (a file of recipes/) with test-sized settings; returns the run's output.
CommandResult train(const std::string& recipe, const fs::path& dir, const std::string& sets) {
  const auto run = run_cli("train " + quote(source_dir() / "recipes" / recipe) + " --set data.num_workers=1" +
                           " --set train.threads=1 --set train.epochs=1 --set logging.log_every=1" +
                           " --set logging.output_dir=" + quote(dir / "runs") + " " + sets);
  EXPECT_EQ(run.exit_code, 0) << recipe << "\n" << run.output;
  return run;
}

// The student's run: the teacher's time logged apart, every loss finite, both heads
// evaluated, and `tessera eval` reporting the same heads.
void expect_distilled_run(const CommandResult& run, const fs::path& run_dir) {
  EXPECT_NE(run.output.find("task: distillation (DeiT), hard with alpha 0.5"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("distillation teacher: "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("teacher_ms_per_step"), std::string::npos) << run.output;
  const auto rows = read_metrics_rows(run_dir / "metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  int64_t steps = 0;
  for (const auto& row : rows) {
    if (!row.contains("loss")) continue;
    ++steps;
    EXPECT_TRUE(std::isfinite(row["loss"].get<double>())) << row;
  }
  EXPECT_GE(steps, 3);
  const auto& last = rows.back();
  ASSERT_TRUE(last.contains("eval_top1_cls")) << last;
  ASSERT_TRUE(last.contains("eval_top1_dist")) << last;
  EXPECT_GT(last["teacher_ms_per_step"].get<double>(), 0.0) << last;
  EXPECT_GT(last["teacher_images_per_second"].get<double>(), 0.0) << last;

  const auto eval = run_cli("eval --json " + quote(run_dir));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const auto result = json_of(eval);
  for (const char* key : {"top1", "top1_cls", "top1_dist"}) {
    EXPECT_DOUBLE_EQ(result[key].get<double>(), last[std::string("eval_") + key].get<double>()) << key;
  }
}

TEST(DistillCli, FashionMnistRecipeLearnsFromTheSwinTeacher) {
  const auto dir = scratch_dir();
  write_bar_dataset(dir / "data", 192, 60);
  const std::string data = " --set data.root=" + quote(dir / "data") +
                           " --set data.batch_size=32 --set data.eval_batch_size=30 --set schedule.warmup_epochs=0.2";
  train("swin/swin_fashion_mnist.yaml", dir, data);
  const auto teacher = dir / "runs" / "swin_fashion_mnist";
  ASSERT_TRUE(fs::exists(teacher / "checkpoints" / "last.safetensors"));

  const auto run = train("deit/deit_tiny_distilled_fashion_mnist.yaml", dir,
                         data + " --set distill.teacher_weights=" + quote(teacher));
  expect_distilled_run(run, dir / "runs" / "deit_tiny_distilled_fashion_mnist");
  EXPECT_NE(run.output.find("swin_fashion_mnist/checkpoints/last.safetensors"), std::string::npos) << run.output;

  // Killed while saving the checkpoint of step 4 and resumed from step 2: the losses are
  // the uninterrupted run's, bit for bit (the teacher is deterministic, mixup is keyed by step).
  const std::string student = "train " + quote(source_dir() / "recipes/deit/deit_tiny_distilled_fashion_mnist.yaml") +
                              data + " --set distill.teacher_weights=" + quote(teacher) +
                              " --set data.num_workers=1 --set train.threads=1 --set train.epochs=1" +
                              " --set logging.log_every=1 --set logging.output_dir=" + quote(dir / "runs") +
                              " --set name=crashed --set checkpoint.every_steps=2";
  const auto crashed = run_command("TESSERA_TEST_CRASH_DURING_SAVE=4 '" + cli_path() + "' " + student);
  EXPECT_NE(crashed.exit_code, 0) << crashed.output;
  const auto resumed = run_cli(student + " --resume " + quote(dir / "runs" / "crashed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("step-00000002.state.safetensors"), std::string::npos) << resumed.output;
  const auto straight_rows = step_rows(dir / "runs" / "deit_tiny_distilled_fashion_mnist" / "metrics.jsonl");
  const auto resumed_rows = step_rows(dir / "runs" / "crashed" / "metrics.jsonl");
  ASSERT_EQ(resumed_rows.size(), straight_rows.size());
  for (size_t i = 0; i < straight_rows.size(); ++i) {
    EXPECT_EQ(resumed_rows[i]["loss"].get<double>(), straight_rows[i]["loss"].get<double>()) << "step " << i + 1;
  }

  // The same student without a teacher: plain classification, both heads on the labels.
  const auto plain = train("deit/deit_tiny_distilled_fashion_mnist.yaml", dir,
                           data + " --set distill.type=none --set name=student_alone");
  EXPECT_NE(plain.output.find("task: classification"), std::string::npos) << plain.output;
  EXPECT_EQ(plain.output.find("teacher"), std::string::npos) << plain.output;

  // A weights file is fine with the teacher's model section; without one, the error says so.
  const auto weights = teacher / "checkpoints" / "last.safetensors";
  const auto bare = run_cli("train " + quote(source_dir() / "recipes/deit/deit_tiny_distilled_fashion_mnist.yaml") +
                            data + " --set distill.teacher_weights=" + quote(weights) +
                            " --set logging.output_dir=" + quote(dir / "runs"));
  EXPECT_NE(bare.exit_code, 0);
  EXPECT_NE(bare.output.find("distill.teacher: is needed with a weights file"), std::string::npos) << bare.output;
  const auto missing = run_cli("train " + quote(source_dir() / "recipes/deit/deit_tiny_distilled_fashion_mnist.yaml") +
                               data + " --set distill.teacher_weights=" + quote(dir / "nowhere") +
                               " --set logging.output_dir=" + quote(dir / "runs"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("distill.teacher_weights: no such file or folder"), std::string::npos)
      << missing.output;
  EXPECT_LT(std::count(missing.output.begin(), missing.output.end(), '\n'), 3) << "one line: " << missing.output;
}

TEST(DistillCli, CifarRecipeDistillsOnCifarFiles) {
  const auto dir = scratch_dir();
  write_learnable_cifar10(dir / "cifar", 8, 16);  // 40 training and 16 test images
  const std::string data = " --set data.root=" + quote(dir / "cifar") +
                           " --set data.batch_size=8 --set data.eval_batch_size=16 --set schedule.warmup_epochs=0.2"
                           " --set checkpoint.every_epochs=0";
  train("cifar10/swin_32.yaml", dir, data);
  const auto run = train("cifar10/deit_tiny_distilled_32.yaml", dir,
                         data + " --set distill.teacher_weights=" + quote(dir / "runs" / "cifar10_swin_32"));
  expect_distilled_run(run, dir / "runs" / "cifar10_deit_tiny_distilled_32");
}

}  // namespace
}  // namespace tessera::testing
