// Data-parallel training through the real executable: `tessera launch --nproc 2 -- train`
// with Gloo on loopback against `tessera train` in one process on the same global batch,
// for a tiny ViT and a tiny CLIP (features gathered across the ranks); a rank killed
// mid-run: the other fails with a clear error, and the run resumes on 2 processes and on 1;
// a rank that hangs: the other fails after the recipe's dist.timeout_s.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "fixtures/idx_files.h"
#include "fixtures/run_output.h"
#include "tessera/core/safetensors.h"
#include "test_env.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;

// Largest |a - b| over the tensors of two weight files (which must have the same names).
double max_weight_difference(const fs::path& a_path, const fs::path& b_path) {
  const auto a = core::load_safetensors(a_path);
  const auto b = core::load_safetensors(b_path);
  EXPECT_EQ(a.tensors.size(), b.tensors.size());
  double worst = 0.0;
  for (size_t i = 0; i < std::min(a.tensors.size(), b.tensors.size()); ++i) {
    EXPECT_EQ(a.tensors[i].first, b.tensors[i].first);
    const auto difference = (a.tensors[i].second.to(at::kDouble) - b.tensors[i].second.to(at::kDouble)).abs();
    if (difference.numel() > 0) worst = std::max(worst, difference.max().item<double>());
  }
  return worst;
}

// A run's per-step losses and its last evaluation row.
struct RunMetrics {
  std::vector<double> losses;
  nlohmann::json last_eval;
};
RunMetrics run_metrics(const fs::path& run_dir) {
  RunMetrics m;
  for (const auto& row : read_metrics_rows(run_dir / "metrics.jsonl")) {
    if (row.contains("loss")) m.losses.push_back(row["loss"].get<double>());
    if (row.contains("eval_loss")) m.last_eval = row;
  }
  return m;
}

// The data-parallel run equals the one-process run: weights, every step's loss, and the
// evaluation (each eval sample counted once over the ranks). `eval_keys` are compared
// exactly; the eval loss too when `same_eval_loss` (CLIP's is each eval batch's
// contrastive loss, which depends on how the set is cut into batches, and the ranks cut
// it into halves of the one-process batches).
void expect_same_training(const fs::path& single, const fs::path& parallel, const std::vector<std::string>& eval_keys,
                          bool same_eval_loss = true) {
  const double weights = max_weight_difference(single / "checkpoints" / "last.safetensors",
                                               parallel / "checkpoints" / "last.safetensors");
  std::cout << parallel.filename().string() << ": max |weight difference| vs one process " << weights << "\n";
  EXPECT_LE(weights, 1e-5);
  const auto a = run_metrics(single), b = run_metrics(parallel);
  ASSERT_EQ(a.losses.size(), b.losses.size());
  double worst_loss = 0.0;
  for (size_t i = 0; i < a.losses.size(); ++i) worst_loss = std::max(worst_loss, std::abs(a.losses[i] - b.losses[i]));
  std::cout << parallel.filename().string() << ": max |step loss difference| " << worst_loss << " over "
            << a.losses.size() << " steps\n";
  EXPECT_LE(worst_loss, 1e-5);
  if (same_eval_loss) {
    EXPECT_NEAR(a.last_eval["eval_loss"].get<double>(), b.last_eval["eval_loss"].get<double>(), 1e-5);
  }
  for (const auto& key : eval_keys) EXPECT_EQ(a.last_eval[key], b.last_eval[key]) << key;
}

fs::path write_vit_recipe(const fs::path& dir) {
  write_bar_dataset(dir / "fm", 256, 60);
  const auto recipe = dir / "vit.yaml";
  // SGD: AdamW divides by sqrt(v), which turns float32 rounding differences in the
  // averaged gradients into visible weight differences after a few steps.
  std::ofstream(recipe) << "name: single\n"
                           "model: {name: vit, img_size: 28, patch_size: 7, embed_dim: 32, depth: 2, num_heads: 2}\n"
                           "data:\n"
                           "  dataset: fashion_mnist\n"
                           "  root: " << (dir / "fm").string() << "\n"
                           "  batch_size: 32\n"
                           "  eval_batch_size: 50\n"
                           "  num_workers: 1\n"
                           "  augment: {random_crop_padding: 2, hflip: 0.5}\n"
                           "optim: {name: sgd, learning_rate: 0.05, momentum: 0.9, weight_decay: 1.0e-4}\n"
                           "schedule: {warmup_steps: 2}\n"
                           "train: {epochs: 2, threads: 1, label_smoothing: 0.1}\n"
                           "logging: {output_dir: " << (dir / "runs").string() << ", log_every: 1}\n";
  return recipe;
}

TEST(DistCli, TwoRanksTrainAViTAsOneProcessOnTheGlobalBatch) {
  const auto dir = scratch_dir();
  const auto recipe = quote(write_vit_recipe(dir));
  const auto single = run_cli("train " + recipe);
  ASSERT_EQ(single.exit_code, 0) << single.output;
  const auto parallel = run_cli("launch --nproc 2 -- train " + recipe + " --set name=parallel");
  ASSERT_EQ(parallel.exit_code, 0) << parallel.output;
  EXPECT_NE(parallel.output.find("data parallel: 2 processes (gloo)"), std::string::npos) << parallel.output;
  EXPECT_NE(parallel.output.find("global batch 32 (16 per process)"), std::string::npos) << parallel.output;
  // Only rank 0 speaks and writes: one summary, one run folder.
  EXPECT_EQ(parallel.output.find("rank 1:"), std::string::npos) << parallel.output;
  size_t summaries = 0;
  for (size_t at = parallel.output.find("summary ---"); at != std::string::npos;
       at = parallel.output.find("summary ---", at + 1)) {
    ++summaries;
  }
  EXPECT_EQ(summaries, 1u) << parallel.output;
  expect_same_training(dir / "runs" / "single", dir / "runs" / "parallel", {"eval_top1", "eval_top5"});

  // Accumulation: 2 micro-batches of 8 per rank make the same global batch of 32; the
  // gradients are all-reduced once per optimizer step.
  const auto accumulated = run_cli("launch --nproc 2 -- train " + recipe +
                                   " --set name=accumulated --set data.batch_size=16 --set train.accum_steps=2");
  ASSERT_EQ(accumulated.exit_code, 0) << accumulated.output;
  expect_same_training(dir / "runs" / "single", dir / "runs" / "accumulated", {"eval_top1", "eval_top5"});

  const auto uneven = run_cli("launch --nproc 2 -- train " + recipe + " --set name=uneven --set data.batch_size=33");
  EXPECT_NE(uneven.exit_code, 0);
  EXPECT_NE(uneven.output.find("data.batch_size: 33 (the global batch) does not split evenly among 2 processes"),
            std::string::npos)
      << uneven.output;
}

TEST(DistCli, TwoRanksTrainAClipWithTheGlobalBatchAsNegatives) {
  const auto dir = scratch_dir();
  write_bar_dataset(dir / "fm", 256, 60);
  const auto made = run_command("'" + python_path() + "' " +
                                quote(source_dir() / "data" / "make_fashion_mnist_captions.py") + " --root " +
                                quote(dir / "fm") + " --out " + quote(dir / "captions"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const auto recipe = dir / "clip.yaml";
  std::ofstream(recipe) << "name: single\n"
                           "model:\n"
                           "  name: clip\n"
                           "  embed_dim: 32\n"
                           "  vision: {image_size: 28, patch_size: 7, width: 32, layers: 1, heads: 2}\n"
                           "  text: {context_length: 20, width: 32, layers: 1, heads: 2}\n"
                           "data:\n"
                           "  dataset: image_text\n"
                           "  root: " << (dir / "captions").string() << "\n"
                           "  channels: 3\n"
                           "  batch_size: 32\n"
                           "  eval_batch_size: 30\n"
                           "  num_workers: 1\n"
                           "  mean: [0.5]\n"
                           "  std: [0.5]\n"
                           "  augment: {hflip: 0.5}\n"
                           "optim: {name: sgd, learning_rate: 0.05, momentum: 0.9, weight_decay: 0.0}\n"
                           "schedule: {warmup_steps: 2}\n"
                           "train: {epochs: 1, threads: 1}\n"
                           "logging: {output_dir: " << (dir / "runs").string() << ", log_every: 1}\n";
  const auto single = run_cli("train " + quote(recipe));
  ASSERT_EQ(single.exit_code, 0) << single.output;
  const std::vector<std::string> retrieval = {"eval_i2t_r1", "eval_i2t_r5", "eval_t2i_r1", "eval_t2i_r5"};
  // open_clip's gather_with_grad, with the full B_global x B_global logits on every rank
  // and with local_loss (each rank its own rows): both equal the one-process gradients.
  for (const std::string local_loss : {"false", "true"}) {
    const std::string name = "parallel_local_" + local_loss;
    const auto parallel = run_cli("launch --nproc 2 -- train " + quote(recipe) + " --set name=" + name +
                                  " --set dist.clip_local_loss=" + local_loss);
    ASSERT_EQ(parallel.exit_code, 0) << parallel.output;
    expect_same_training(dir / "runs" / "single", dir / "runs" / name, retrieval, /*same_eval_loss=*/false);
  }
}

// The pid of the process whose command line mentions `marker` and whose environment
// has RANK=`rank`, or 0.
pid_t find_rank(const std::string& marker, int rank) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto read_all = [&](const char* file) {
      std::ifstream in(entry.path() / file, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const std::string cmdline = read_all("cmdline");
    if (cmdline.find(marker) == std::string::npos || cmdline.find("launch") != std::string::npos) continue;
    std::istringstream environ(read_all("environ"));
    std::string variable;
    while (std::getline(environ, variable, '\0')) {
      if (variable == "RANK=" + std::to_string(rank)) return static_cast<pid_t>(std::stol(name));
    }
  }
  return 0;
}

int64_t last_logged_step(const fs::path& metrics) {
  int64_t step = 0;
  std::ifstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find("\"step\":");
    if (at != std::string::npos && line.find("\"loss\"") != std::string::npos) {
      step = std::max<int64_t>(step, std::atoll(line.c_str() + at + 7));
    }
  }
  return step;
}

// `tessera launch --nproc 2 -- train ...` in the background, its output in `dir`/launch.log.
class BackgroundLaunch {
 public:
  BackgroundLaunch(const fs::path& dir, const std::string& args) : log_(dir / "launch.log"), rc_(dir / "launch.rc") {
    const std::string command = "('" + cli_path() + "' launch --nproc 2 " + args + " > " + quote(log_) +
                                " 2>&1; echo $? > " + quote(rc_) + ") &";
    EXPECT_EQ(std::system(command.c_str()), 0);
  }
  // Waits until `metrics` has a step row at or past `step`.
  void wait_for_step(const fs::path& metrics, int64_t step) const {
    while (last_logged_step(metrics) < step && std::chrono::steady_clock::now() < deadline_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // Waits for the launcher to exit; false when it did not within the deadline.
  bool wait_for_exit() const {
    while (!fs::exists(rc_) && std::chrono::steady_clock::now() < deadline_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return fs::exists(rc_);
  }
  std::string output() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  fs::path log_, rc_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(120);
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(DistCli, AKilledRankStopsTheOtherAndTheRunResumesOnTwoOrOneProcesses) {
  const auto dir = scratch_dir();
  const auto recipe = quote(write_vit_recipe(dir));
  const std::string sets = " --set name=killed --set train.epochs=40 --set checkpoint.every_steps=4"
                           " --set dist.timeout_s=20";
  const BackgroundLaunch launch(dir, "--grace 30 -- train " + recipe + sets);
  const auto metrics = dir / "runs" / "killed" / "metrics.jsonl";
  launch.wait_for_step(metrics, 10);
  const pid_t rank1 = find_rank(dir.string(), 1);
  ASSERT_NE(rank1, 0) << "rank 1 not found; launch output:\n" << launch.output();
  ASSERT_EQ(::kill(rank1, SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(launch.wait_for_exit()) << launch.output();
  const double seconds = seconds_since(killed_at);
  const std::string output = launch.output();
  std::cout << "the launch ended " << seconds << " s after rank 1 was killed (dist.timeout_s 20, grace 30)\n";
  // Rank 0 noticed on its own, before the launcher's grace ran out: a clear error, then exit.
  EXPECT_LT(seconds, 20.0) << output;
  EXPECT_NE(output.find("rank 1 was killed by signal 9"), std::string::npos) << output;
  EXPECT_NE(output.find("error: rank 0"), std::string::npos) << output;
  EXPECT_NE(output.find("rank 0 exited with status 1"), std::string::npos) << output;
  const int64_t reached = last_logged_step(metrics);
  EXPECT_LT(reached, 320) << "the run was meant to be cut short";

  // Resumed on 2 processes to the end, then (train.epochs raised) on 1.
  const auto resumed = run_cli("launch --nproc 2 -- train " + recipe + sets + " --resume " + quote(dir / "runs" / "killed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming the run"), std::string::npos) << resumed.output;
  EXPECT_EQ(last_logged_step(metrics), 40 * 8);
  const auto more = run_cli("train " + recipe + sets + " --set train.epochs=42 --resume " + quote(dir / "runs" / "killed"));
  ASSERT_EQ(more.exit_code, 0) << more.output;
  EXPECT_EQ(last_logged_step(metrics), 42 * 8);
  const auto rows = step_rows(metrics);
  ASSERT_EQ(rows.size(), 42u * 8u) << "every step logged once";
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i]["step"].get<int64_t>(), static_cast<int64_t>(i + 1));
}

TEST(DistCli, AHungRankFailsTheOtherAfterTheRecipesTimeout) {
  const auto dir = scratch_dir();
  const auto recipe = quote(write_vit_recipe(dir));
  const BackgroundLaunch launch(dir, "--grace 2 -- train " + recipe +
                                         " --set name=hung --set train.epochs=40 --set dist.timeout_s=3");
  const auto metrics = dir / "runs" / "hung" / "metrics.jsonl";
  launch.wait_for_step(metrics, 10);
  const pid_t rank1 = find_rank(dir.string(), 1);
  ASSERT_NE(rank1, 0) << "rank 1 not found; launch output:\n" << launch.output();
  ASSERT_EQ(::kill(rank1, SIGSTOP), 0);  // alive, its sockets open, but silent
  const auto stopped_at = std::chrono::steady_clock::now();
  const bool ended = launch.wait_for_exit();
  const double seconds = seconds_since(stopped_at);
  ::kill(rank1, SIGKILL);  // in case the launcher did not get to it
  const std::string output = launch.output();
  ASSERT_TRUE(ended) << output;
  std::cout << "the launch ended " << seconds << " s after rank 1 hung (dist.timeout_s 3, grace 2)\n";
  // Rank 0 gives up after dist.timeout_s; the launcher then stops rank 1 (SIGTERM, and
  // SIGKILL a grace later, as a stopped process does not act on SIGTERM).
  EXPECT_GE(seconds, 2.5) << output;
  EXPECT_LT(seconds, 15.0) << output;
  EXPECT_NE(output.find("error: rank 0"), std::string::npos) << output;
  EXPECT_NE(output.find("failed after 3."), std::string::npos) << output;  // after dist.timeout_s, not before
  EXPECT_NE(output.find("dist.timeout_s"), std::string::npos) << output;
  EXPECT_NE(output.find("rank 0 exited with status 1"), std::string::npos) << output;
}

}  // namespace
}  // namespace tessera::testing
