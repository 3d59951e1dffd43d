// Resumable training through the real `tessera` executable, on a tiny ViT with dropout,
// drop-path and a weight EMA (so the random streams and the EMA must be restored too):
//  - a run killed with SIGKILL mid-epoch and resumed with --resume logs bit-identical
//    per-step losses and ends with bit-identical weights to a run never interrupted;
//  - a run killed while writing a checkpoint resumes from the previous complete one and
//    the half-written files are removed, never loaded;
//  - SIGTERM makes the run finish its step, checkpoint and exit 143, and it resumes;
//    SIGINT (Ctrl-C) the same with exit code 130;
//  - train.resume: auto, and a recipe that does not match the run is refused;
//  - train.accum_steps 2 with batch B trains like batch 2B.
#include <ATen/ATen.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "fixtures/idx_files.h"
#include "tessera/core/safetensors.h"
#include "test_env.h"

extern char** environ;

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int64_t kTotalSteps = 30;  // 640 images / batch 64 = 10 steps per epoch, 3 epochs

std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The tiny recipe; the data is written once per folder.
fs::path write_recipe(const fs::path& dir) {
  write_bar_dataset(dir / "data", 640, 200);
  const auto recipe = dir / "resume.yaml";
  std::ofstream(recipe) << "name: straight\n"
                           "model: {name: vit, img_size: 28, patch_size: 7, embed_dim: 32, depth: 2, num_heads: 2,\n"
                           "        drop_rate: 0.1, drop_path_rate: 0.2}\n"
                           "data:\n"
                           "  dataset: fashion_mnist\n"
                           "  root: " << (dir / "data").string() << "\n"
                           "  batch_size: 64\n"
                           "  num_workers: 2\n"
                           "  augment: {random_crop_padding: 1, hflip: 0.5}\n"
                           "optim: {learning_rate: 3.0e-3, weight_decay: 0.01}\n"
                           "schedule: {warmup_epochs: 0.5}\n"
                           "train: {epochs: 3, label_smoothing: 0.1, threads: 1, ema: {decay: 0.9}}\n"
                           "logging: {output_dir: " << (dir / "runs").string() << ", log_every: 1}\n"
                           "checkpoint: {every_steps: 3, keep_last: 2, best: true}\n";
  return recipe;
}

// The uninterrupted reference run, trained once per test process. The folder is per
// process because ctest runs these tests in parallel processes, each training its own.
const fs::path& straight_dir() {
  static const fs::path dir = [] {
    const auto base =
        fs::temp_directory_path() / "tessera-tests" / ("ResumeCli.straight." + std::to_string(getpid()));
    fs::remove_all(base);
    fs::create_directories(base);
    const auto recipe = write_recipe(base);
    const auto run = run_cli("train '" + recipe.string() + "'");
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return base / "runs" / "straight";
  }();
  return dir;
}

// Starts the CLI in the background with its output in `log` (and `extra_env`, "K=V").
pid_t spawn_cli(const std::vector<std::string>& args, const fs::path& log, const std::string& extra_env = "") {
  // Everything is prepared before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> arg_strings = {cli_path()};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string env_entry = extra_env;
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  if (!env_entry.empty()) envp.push_back(env_entry.data());
  envp.push_back(nullptr);
  const std::string log_path = log.string();
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    static const char message[] = "spawn_cli: execve of the tessera CLI failed\n";
    [[maybe_unused]] const auto n = ::write(2, message, sizeof message - 1);
    ::_exit(127);
  }
  return pid;
}

// The steps of the complete checkpoints (state file present) in `dir`.
std::vector<int64_t> checkpoint_steps(const fs::path& dir) {
  std::vector<int64_t> steps;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string suffix = ".state.safetensors";
    if (name.rfind("step-", 0) == 0 && name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      steps.push_back(std::stoll(name.substr(5, name.size() - 5 - suffix.size())));
    }
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

// Polls `condition` until it holds, the child `pid` exits (then it is reaped into
// `status`) or `limit` passes. Returns whether the condition held.
bool wait_until(pid_t pid, int& status, bool& reaped, const std::function<bool()>& condition,
                std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
      return condition();
    }
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

// Sends `signal` to the child unless it already exited, and reaps it.
int signal_and_reap(pid_t pid, int signal, int status, bool reaped) {
  if (!reaped) {
    ::kill(pid, signal);
    ::waitpid(pid, &status, 0);
  }
  return status;
}

// Per-step training loss by step, and the eval rows, from metrics.jsonl.
struct Metrics {
  std::map<int64_t, double> loss;
  std::vector<nlohmann::json> evals;
  size_t rows = 0;
};
Metrics metrics_of(const fs::path& run_dir) {
  Metrics m;
  for (const auto& row : read_jsonl(run_dir / "metrics.jsonl")) {
    ++m.rows;
    if (row.contains("loss")) {
      const int64_t step = row["step"].get<int64_t>();
      EXPECT_FALSE(m.loss.count(step)) << "step " << step << " logged twice in " << run_dir;
      m.loss[step] = row["loss"].get<double>();
    }
    if (row.contains("eval_top1")) m.evals.push_back(row);
  }
  return m;
}

// The resumed run's losses and weights are the straight run's, bit for bit.
void expect_same_as_straight(const fs::path& run_dir) {
  const auto straight = metrics_of(straight_dir());
  const auto resumed = metrics_of(run_dir);
  ASSERT_EQ(straight.loss.size(), static_cast<size_t>(kTotalSteps));
  EXPECT_EQ(resumed.rows, straight.rows) << "rows after the checkpoint must be replaced, not duplicated";
  ASSERT_EQ(resumed.loss.size(), straight.loss.size());
  for (const auto& [step, loss] : straight.loss) {
    EXPECT_EQ(resumed.loss.at(step), loss) << "step " << step;  // exact: not EXPECT_NEAR
  }
  ASSERT_EQ(resumed.evals.size(), straight.evals.size());
  for (size_t i = 0; i < straight.evals.size(); ++i) {
    for (const char* key : {"train_loss", "eval_loss", "eval_top1", "ema_eval_loss"}) {
      EXPECT_EQ(resumed.evals[i][key].get<double>(), straight.evals[i][key].get<double>()) << key << " eval " << i;
    }
  }
  for (const char* file : {"last.safetensors", "last_ema.safetensors"}) {
    const auto a = core::load_safetensors(straight_dir() / "checkpoints" / file);
    const auto b = core::load_safetensors(run_dir / "checkpoints" / file);
    ASSERT_EQ(a.tensors.size(), b.tensors.size()) << file;
    for (size_t i = 0; i < a.tensors.size(); ++i) {
      EXPECT_EQ(a.tensors[i].first, b.tensors[i].first);
      EXPECT_TRUE(at::equal(a.tensors[i].second, b.tensors[i].second)) << file << ": " << a.tensors[i].first;
    }
  }
}

TEST(ResumeCli, StraightRunKeepsTheNewestCheckpointsAndBest) {
  const auto& dir = straight_dir();
  ASSERT_TRUE(fs::exists(dir / "checkpoints" / "last.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "checkpoints" / "best.safetensors"));
  // every_steps 3 and keep_last 2 over 30 steps: 27 and 30 remain.
  EXPECT_EQ(checkpoint_steps(dir / "checkpoints"), (std::vector<int64_t>{27, 30}));
  EXPECT_FALSE(fs::exists(dir / "checkpoints" / "step-00000024.safetensors"));
  const auto log = read_text(dir / "log.txt");
  EXPECT_NE(log.find("summary"), std::string::npos) << log;
  EXPECT_NE(log.find("img/s"), std::string::npos);
}

TEST(ResumeCli, SigkillMidEpochThenResumeIsBitIdentical) {
  ASSERT_FALSE(straight_dir().empty());
  const auto dir = scratch_dir();
  const auto recipe = write_recipe(dir);
  const auto run_dir = dir / "runs" / "killed";
  const pid_t pid = spawn_cli({"train", recipe.string(), "--set", "name=killed"}, dir / "killed.log");
  ASSERT_GT(pid, 0);
  // Past half the run and inside epoch 2 (steps 11..20): step 12's checkpoint.
  int status = 0;
  bool reaped = false;
  const bool reached = wait_until(
      pid, status, reaped,
      [&] {
        const auto steps = checkpoint_steps(run_dir / "checkpoints");
        return !steps.empty() && steps.back() >= 12;
      },
      120s);
  status = signal_and_reap(pid, SIGKILL, status, reaped);
  ASSERT_TRUE(reached) << "no checkpoint past step 12: " << read_text(dir / "killed.log");
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the run ended before the kill";
  ASSERT_FALSE(fs::exists(run_dir / "checkpoints" / "last.safetensors"));
  const int64_t resume_step = checkpoint_steps(run_dir / "checkpoints").back();
  EXPECT_LT(resume_step, kTotalSteps);
  EXPECT_NE(resume_step % 10, 0) << "the kill should land mid-epoch";

  const auto resumed = run_cli("train '" + recipe.string() + "' --set name=killed --resume '" + run_dir.string() + "'");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos) << resumed.output;
  EXPECT_FALSE(fs::exists(dir / "runs" / "killed-2")) << "a resume continues in the same folder";
  expect_same_as_straight(run_dir);
}

TEST(ResumeCli, CrashWhileSavingResumesFromThePreviousCheckpoint) {
  ASSERT_FALSE(straight_dir().empty());
  const auto dir = scratch_dir();
  const auto recipe = write_recipe(dir);
  const auto run_dir = dir / "runs" / "crashed";
  const auto ckpt = run_dir / "checkpoints";
  const pid_t pid = spawn_cli({"train", recipe.string(), "--set", "name=crashed"}, dir / "crashed.log",
                              "TESSERA_TEST_CRASH_DURING_SAVE=15");
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << read_text(dir / "crashed.log");
  // The weights of step 15 are complete, its state only half written under a temporary name.
  EXPECT_TRUE(fs::exists(ckpt / "step-00000015.safetensors"));
  EXPECT_FALSE(fs::exists(ckpt / "step-00000015.state.safetensors"));
  int temporaries = 0;
  for (const auto& entry : fs::directory_iterator(ckpt)) {
    temporaries += entry.path().filename().string().find(".tmp.") != std::string::npos;
  }
  EXPECT_EQ(temporaries, 1);
  EXPECT_EQ(checkpoint_steps(ckpt).back(), 12);

  const auto resumed = run_cli("train '" + recipe.string() + "' --set name=crashed --resume '" + run_dir.string() + "'");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("step-00000012.state.safetensors"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("left incomplete by an interrupted save"), std::string::npos) << resumed.output;
  for (const auto& entry : fs::directory_iterator(ckpt)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
  expect_same_as_straight(run_dir);
}

TEST(ResumeCli, SigtermCheckpointsExits143AndResumes) {
  ASSERT_FALSE(straight_dir().empty());
  const auto dir = scratch_dir();
  const auto recipe = write_recipe(dir);
  const auto run_dir = dir / "runs" / "stopped";
  const pid_t pid = spawn_cli({"train", recipe.string(), "--set", "name=stopped"}, dir / "stopped.log");
  int status = 0;
  bool reaped = false;
  const bool started =
      wait_until(pid, status, reaped, [&] { return read_jsonl(run_dir / "metrics.jsonl").size() >= 4; }, 120s);
  status = signal_and_reap(pid, SIGTERM, status, reaped);
  const auto log = read_text(dir / "stopped.log");
  ASSERT_TRUE(started) << log;
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 143) << log;
  EXPECT_NE(log.find("stopped by SIGTERM"), std::string::npos) << log;
  EXPECT_NE(log.find("--resume " + run_dir.string()), std::string::npos) << log;
  // The checkpoint is of the last step the run logged: the step in hand was finished.
  const auto metrics = metrics_of(run_dir);
  ASSERT_FALSE(metrics.loss.empty());
  EXPECT_EQ(checkpoint_steps(run_dir / "checkpoints").back(), metrics.loss.rbegin()->first);
  EXPECT_LT(metrics.loss.rbegin()->first, kTotalSteps);

  const auto resumed = run_cli("train '" + recipe.string() + "' --set name=stopped --resume '" + run_dir.string() + "'");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  expect_same_as_straight(run_dir);
}

TEST(ResumeCli, SigintCheckpointsAndExits130) {
  const auto dir = scratch_dir();
  const auto recipe = write_recipe(dir);
  const auto run_dir = dir / "runs" / "interrupted";
  const pid_t pid = spawn_cli({"train", recipe.string(), "--set", "name=interrupted"}, dir / "interrupted.log");
  int status = 0;
  bool reaped = false;
  const bool started =
      wait_until(pid, status, reaped, [&] { return read_jsonl(run_dir / "metrics.jsonl").size() >= 2; }, 120s);
  status = signal_and_reap(pid, SIGINT, status, reaped);
  const auto log = read_text(dir / "interrupted.log");
  ASSERT_TRUE(started) << log;
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 130) << log;
  EXPECT_NE(log.find("stopped by SIGINT"), std::string::npos) << log;
  EXPECT_FALSE(checkpoint_steps(run_dir / "checkpoints").empty());
  EXPECT_FALSE(fs::exists(run_dir / "checkpoints" / "last.safetensors")) << "an interrupted run is not finished";
}

TEST(ResumeCli, ResumeAutoContinuesAndMismatchIsRefused) {
  const auto dir = scratch_dir();
  const auto recipe = write_recipe(dir);
  const std::string base = "train '" + recipe.string() + "' --set name=auto --set train.resume=auto ";
  // Nothing to resume: a fresh run.
  auto first = run_cli(base + "--set train.epochs=1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(metrics_of(dir / "runs" / "auto").loss.size(), 10u);
  // Its final checkpoint continues into a second epoch, in the same folder.
  auto second = run_cli(base + "--set train.epochs=2");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("resuming from"), std::string::npos) << second.output;
  EXPECT_FALSE(fs::exists(dir / "runs" / "auto-2"));
  const auto metrics = metrics_of(dir / "runs" / "auto");
  EXPECT_EQ(metrics.loss.size(), 20u);
  EXPECT_EQ(metrics.evals.size(), 2u);

  // Another batch size is another run: refused, naming the key and both values.
  auto mismatch = run_cli(base + "--set train.epochs=3 --set data.batch_size=32");
  EXPECT_NE(mismatch.exit_code, 0);
  EXPECT_NE(mismatch.output.find("data.batch_size (run: 64, recipe: 32)"), std::string::npos) << mismatch.output;
  EXPECT_EQ(metrics_of(dir / "runs" / "auto").loss.size(), 20u) << "a refused resume changes nothing";

  auto missing = run_cli("train '" + recipe.string() + "' --resume '" + (dir / "runs" / "nowhere").string() + "'");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("nowhere"), std::string::npos) << missing.output;
}

TEST(ResumeCli, AccumulatingTwoBatchesMatchesTheDoubleBatch) {
  // Without dropout, two micro-batches of 32 are the 64 samples of one batch of 64 (the
  // loader's order and augmentation depend only on the sample's position in the epoch),
  // so the steps agree up to float rounding. SGD with momentum: AdamW divides each
  // coordinate by its own gradient scale, which blows the rounding differences of
  // near-zero gradients up to ~1e-5 in the weights after 10 steps (measured), while
  // the accumulation itself is the same for any optimizer.
  const auto dir = scratch_dir();
  const auto recipe = write_recipe(dir);
  const std::string common = "train '" + recipe.string() +
                             "' --set train.epochs=1 --set model.drop_rate=0 --set model.drop_path_rate=0 "
                             "--set train.ema.decay=0 --set optim.name=sgd --set optim.learning_rate=0.05 "
                             "--set optim.momentum=0.9 ";
  auto big = run_cli(common + "--set name=big");
  ASSERT_EQ(big.exit_code, 0) << big.output;
  auto accum = run_cli(common + "--set name=accum --set data.batch_size=32 --set train.accum_steps=2");
  ASSERT_EQ(accum.exit_code, 0) << accum.output;

  const auto a = metrics_of(dir / "runs" / "big");
  const auto b = metrics_of(dir / "runs" / "accum");
  ASSERT_EQ(a.loss.size(), 10u);
  ASSERT_EQ(b.loss.size(), 10u) << "accum_steps counts optimizer steps";
  for (const auto& [step, loss] : a.loss) EXPECT_NEAR(b.loss.at(step), loss, 1e-6) << "step " << step;
  const auto wa = core::load_safetensors(dir / "runs" / "big" / "checkpoints" / "last.safetensors");
  const auto wb = core::load_safetensors(dir / "runs" / "accum" / "checkpoints" / "last.safetensors");
  ASSERT_EQ(wa.tensors.size(), wb.tensors.size());
  double worst = 0.0;
  for (size_t i = 0; i < wa.tensors.size(); ++i) {
    worst = std::max(worst, (wa.tensors[i].second - wb.tensors[i].second).abs().max().item<double>());
  }
  EXPECT_LT(worst, 1e-6);
  std::printf("[ accum ] max |w(accum 2 x 32) - w(batch 64)| after 10 steps: %.3g\n", worst);
}

}  // namespace
}  // namespace tessera::testing
