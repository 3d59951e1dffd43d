// Tests for resumable checkpoints: the train state file (train/train_state.h) continues
// optimizer, loss scale, EMA and random streams exactly, keyed by parameter name; the
// checkpoint store (train/checkpoint_store.h) tells complete pairs from debris; the stop
// flag (train/stop_signal.h); the resume config check (train/resume_config.h); and a
// loader that starts an epoch at batch k (data/loader.h).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <csignal>
#include <fstream>

#include "tessera/config/load.h"
#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"
#include "tessera/data/dataset.h"
#include "tessera/data/loader.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/checkpoint_store.h"
#include "tessera/train/resume_config.h"
#include "tessera/train/stop_signal.h"
#include "tessera/train/train_state.h"
#include "test_env.h"

namespace tessera::train {
namespace {

namespace fs = std::filesystem;

// Dropout between two layers: its masks come from the CPU generator, so a resume that
// did not restore the generator state would take other steps.
struct NetImpl : torch::nn::Module {
  NetImpl() {
    fc1 = register_module("fc1", torch::nn::Linear(6, 16));
    drop = register_module("drop", torch::nn::Dropout(0.5));
    fc2 = register_module("fc2", torch::nn::Linear(16, 3));
  }
  at::Tensor forward(const at::Tensor& x) { return fc2(drop(torch::nn::functional::gelu(fc1(x)))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(Net);

enum class Kind { AdamW, SGD };

// A model, its optimizer (parameters given in reverse order when `reversed`: the state
// must follow names, not positions), an fp16-style loss scaler and an EMA.
struct TinyRun {
  TinyRun(Kind kind, bool reversed, uint64_t seed) {
    at::manual_seed(seed);
    net = Net();
    auto params = net->parameters();
    if (reversed) std::reverse(params.begin(), params.end());
    if (kind == Kind::AdamW) {
      optimizer = std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
    } else {
      optimizer = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(1e-1).momentum(0.9));
    }
    ema.emplace(*net, EmaOptions().decay(0.9), c10::Device(c10::kCPU));
  }
  TrainStateRefs refs() { return {*net, *optimizer, scaler, &*ema}; }

  // One step on fixed data; returns the loss.
  double step(int64_t index) {
    const auto gen = at::make_generator<at::CPUGeneratorImpl>(1000 + index);  // the data, not the model's stream
    const auto x = at::randn({8, 6}, gen);
    const auto y = at::randint(0, 3, {8}, gen);
    optimizer->zero_grad();
    const auto loss = at::cross_entropy_loss(net->forward(x), y);
    scaler.scale(loss).backward();
    scaler.step(*optimizer);
    scaler.update();
    ema->update(*net, index + 1);
    return loss.item<double>();
  }

  Net net{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  // growth_interval 2: the scale changes during the test, so restoring it matters.
  GradScaler scaler{GradScalerOptions().init_scale(256).growth_interval(2), c10::Device(c10::kCPU)};
  std::optional<ModelEma> ema;
};

void expect_same_tensors(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters();
  auto pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) EXPECT_TRUE(at::equal(item.value(), pb[item.key()])) << item.key();
}

class TrainStateResume : public ::testing::TestWithParam<Kind> {};

TEST_P(TrainStateResume, ContinuesBitIdentically) {
  const auto dir = testing::scratch_dir();
  TinyRun straight(GetParam(), /*reversed=*/false, 7);
  for (int64_t i = 0; i < 3; ++i) straight.step(i);
  TrainProgress progress;
  progress.step = 3;
  progress.epoch = 1;
  progress.batches_in_epoch = 5;
  progress.epoch_loss_sum = 0.1 + 0.2;  // not exactly representable: must still come back bit-exact
  progress.best_top1 = 0.625;
  progress.metrics_rows = 4;
  save_weights(*straight.net, dir / "w.safetensors");
  const auto bytes = serialize_train_state(progress, straight.refs(), {{"weights_file", "w.safetensors"}});

  const double scale_at_save = straight.scaler.current_scale();
  EXPECT_NE(scale_at_save, 256.0) << "the scale should have grown by now";
  std::vector<double> expected;
  for (int64_t i = 3; i < 7; ++i) expected.push_back(straight.step(i));

  // Another seed, another parameter order: everything must come from the files.
  TinyRun resumed(GetParam(), /*reversed=*/true, 12345);
  load_weights(*resumed.net, dir / "w.safetensors");
  const auto file = core::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "state");
  EXPECT_EQ(file.metadata.at("weights_file"), "w.safetensors");
  const auto restored = restore_train_state(file, resumed.refs(), "state");
  EXPECT_EQ(restored.step, 3);
  EXPECT_EQ(restored.epoch, 1);
  EXPECT_EQ(restored.batches_in_epoch, 5);
  EXPECT_EQ(restored.epoch_loss_sum, 0.1 + 0.2);
  EXPECT_EQ(restored.best_top1, 0.625);
  EXPECT_EQ(restored.metrics_rows, 4);
  EXPECT_EQ(resumed.scaler.current_scale(), scale_at_save);

  for (int64_t i = 3; i < 7; ++i) EXPECT_EQ(resumed.step(i), expected[i - 3]) << "step " << i;
  expect_same_tensors(*resumed.net, *straight.net);
  EXPECT_EQ(resumed.scaler.current_scale(), straight.scaler.current_scale());
  for (size_t k = 0; k < straight.ema->state().size(); ++k) {
    EXPECT_TRUE(at::equal(resumed.ema->state()[k].second, straight.ema->state()[k].second))
        << straight.ema->state()[k].first;
  }
}

TEST_P(TrainStateResume, WithoutTheGeneratorStateTheStepsDiffer) {
  // The control for the test above: the same restore, but with the generator moved on
  // afterwards, gives other dropout masks and so other losses.
  TinyRun straight(GetParam(), false, 7);
  for (int64_t i = 0; i < 3; ++i) straight.step(i);
  const auto bytes = serialize_train_state(TrainProgress{}, straight.refs(), {});
  std::vector<double> expected;
  for (int64_t i = 3; i < 5; ++i) expected.push_back(straight.step(i));

  TinyRun resumed(GetParam(), true, 7);
  for (int64_t i = 0; i < 3; ++i) resumed.step(i);  // same weights by construction
  const auto file = core::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "state");
  restore_train_state(file, resumed.refs(), "state");
  at::rand({1});  // one draw too many
  EXPECT_NE(resumed.step(3), expected[0]);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, TrainStateResume, ::testing::Values(Kind::AdamW, Kind::SGD),
                         [](const auto& info) { return info.param == Kind::AdamW ? "AdamW" : "SGD"; });

TEST(TrainState, OtherOptimizerIsRefused) {
  TinyRun adamw(Kind::AdamW, false, 1);
  adamw.step(0);
  const auto bytes = serialize_train_state(TrainProgress{}, adamw.refs(), {});
  const auto file = core::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "s.state");
  TinyRun sgd(Kind::SGD, false, 1);
  try {
    restore_train_state(file, sgd.refs(), "s.state");
    FAIL() << "restored AdamW state into SGD";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("adamw"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("s.state"), std::string::npos) << e.what();
  }
}

TEST(TrainState, StateOfAnUnknownParameterIsRefused) {
  TinyRun run(Kind::AdamW, false, 1);
  run.step(0);
  const auto bytes = serialize_train_state(TrainProgress{}, run.refs(), {});
  auto file = core::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "s");
  for (auto& [name, tensor] : file.tensors) {
    if (name == "optim/fc2.bias/exp_avg") name = "optim/head.bias/exp_avg";
  }
  try {
    restore_train_state(file, run.refs(), "s");
    FAIL() << "restored state with a renamed parameter";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fc2.bias"), std::string::npos) << e.what();
  }
}

// ---- the checkpoint store ---------------------------------------------------------

void write(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// A complete pair at `step` in `dir`, as the trainer writes it (weights, then the state
// that records their size).
void write_pair(const fs::path& dir, int64_t step, const std::string& weights = "weights") {
  const auto files = checkpoint_files(dir, step);
  write(files.weights, weights);
  core::save_safetensors(files.state, {}, {{"weights_bytes", std::to_string(weights.size())}});
}

TEST(CheckpointStore, NamesSortAndFindTheNewestCompletePair) {
  const auto dir = testing::scratch_dir();
  EXPECT_EQ(checkpoint_files(dir, 120).weights.filename(), "step-00000120.safetensors");
  EXPECT_EQ(checkpoint_files(dir, 120).state.filename(), "step-00000120.state.safetensors");
  EXPECT_FALSE(newest_complete_checkpoint(dir));

  write_pair(dir, 4);
  write_pair(dir, 12);
  write_pair(dir, 8);
  write(dir / "last.safetensors", "x");
  ASSERT_EQ(listed_checkpoints(dir).size(), 3u);
  EXPECT_EQ(listed_checkpoints(dir).front().step, 12);
  EXPECT_EQ(newest_complete_checkpoint(dir)->files.step, 12);

  // A crash in a save at step 16: weights complete, the state only a temporary.
  write(checkpoint_files(dir, 16).weights, "weights");
  write(dir / "step-00000016.state.safetensors.tmp.4242", "half");
  EXPECT_EQ(newest_complete_checkpoint(dir)->files.step, 12);
  // A pair whose weights were cut short is skipped, not loaded; so is a damaged state.
  write(checkpoint_files(dir, 12).weights, "weig");
  EXPECT_EQ(newest_complete_checkpoint(dir)->files.step, 8);
  write_pair(dir, 10);
  write(checkpoint_files(dir, 10).state, "not a safetensors file");
  EXPECT_EQ(newest_complete_checkpoint(dir)->files.step, 8);
  fs::remove(checkpoint_files(dir, 10).state);
  fs::remove(checkpoint_files(dir, 10).weights);

  const auto removed = remove_incomplete_checkpoints(dir);
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_FALSE(fs::exists(checkpoint_files(dir, 16).weights));
  EXPECT_FALSE(fs::exists(dir / "step-00000016.state.safetensors.tmp.4242"));
  EXPECT_TRUE(fs::exists(checkpoint_files(dir, 8).weights));
  EXPECT_TRUE(fs::exists(dir / "last.safetensors"));
}

TEST(CheckpointStore, PruneKeepsTheNewest) {
  const auto dir = testing::scratch_dir();
  for (int64_t step : {2, 4, 6, 8, 10}) write_pair(dir, step);
  EXPECT_TRUE(prune_checkpoints(dir, 0).empty());
  EXPECT_EQ(prune_checkpoints(dir, 2).size(), 6u);
  const auto left = listed_checkpoints(dir);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].step, 10);
  EXPECT_EQ(left[1].step, 8);
  EXPECT_FALSE(fs::exists(checkpoint_files(dir, 6).weights));
}

// ---- stop signal ------------------------------------------------------------------

TEST(StopSignal, SigtermSetsTheFlagOnly) {
  clear_stop_request();
  install_stop_handlers();
  EXPECT_EQ(stop_requested(), 0);
  std::raise(SIGTERM);  // would end the test binary if the handler did not catch it
  EXPECT_EQ(stop_requested(), SIGTERM);
  clear_stop_request();
  // The handlers are one-shot: give SIGTERM its default back for the rest of the suite.
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
}

// ---- resume config ----------------------------------------------------------------

TEST(ResumeConfig, ModelOrDataChangesAreRefusedLoggingChangesAllowed) {
  const auto saved = config::load_string("name: a\ndata: {batch_size: 64}\ntrain: {epochs: 3}\n", "run.yaml");
  auto same = saved;
  same.train.epochs = 5;
  same.logging.log_every = 1;
  same.checkpoint.every_steps = 10;
  same.train.resume = "auto";
  same.dist.timeout_s = 60;  // how a data-parallel job waits may change; its size is not in the recipe
  same.dist.backend = config::DistBackend::Gloo;
  EXPECT_NO_THROW(check_resume_config(saved, same, "runs/a/config.yaml"));

  auto other = saved;
  other.data.batch_size = 32;
  other.model.drop_path_rate = 0.1;
  try {
    check_resume_config(saved, other, "runs/a/config.yaml");
    FAIL() << "resumed with another batch size";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("runs/a/config.yaml"), std::string::npos) << m;
    EXPECT_NE(m.find("data.batch_size (run: 64, recipe: 32)"), std::string::npos) << m;
    EXPECT_NE(m.find("model.drop_path_rate"), std::string::npos) << m;
  }
}

// ---- loader: an epoch from batch k ------------------------------------------------

TEST(LoaderResume, StartingAtBatchKGivesTheRestOfTheEpoch) {
  const int64_t n = 97;
  auto images = at::arange(n * 16, at::kLong).remainder(251).to(at::kByte).reshape({n, 1, 4, 4});  // (N, C, H, W)
  auto labels = at::arange(n, at::kLong).remainder(10);
  std::vector<std::string> names;
  for (int c = 0; c < 10; ++c) names.push_back(std::to_string(c));
  auto dataset = std::make_shared<data::InMemoryDataset>(images, labels, names);
  data::TransformSpec t;
  t.channels = 1;
  t.height = t.width = 4;
  t.crop_padding = 1;
  t.hflip = 0.5;
  t.mean = {0.5};
  t.std = {0.25};
  for (int64_t workers : {0, 2}) {
    data::LoaderOptions o;
    o.batch_size = 8;
    o.shuffle = true;
    o.drop_last = true;
    o.num_workers = workers;
    o.seed = 3;
    data::Loader loader(dataset, data::SampleTransform(t), o);
    loader.start_epoch(2);
    std::vector<data::Batch> full;
    while (auto b = loader.next()) full.push_back(std::move(*b));
    ASSERT_EQ(static_cast<int64_t>(full.size()), loader.size());
    for (int64_t k : {int64_t{0}, int64_t{5}, loader.size()}) {
      loader.start_epoch(2, k);
      int64_t i = k;
      while (auto b = loader.next()) {
        ASSERT_LT(i, loader.size());
        EXPECT_TRUE(at::equal(b->images, full[i].images)) << "workers " << workers << " from " << k << " batch " << i;
        EXPECT_TRUE(at::equal(b->labels, full[i].labels));
        ++i;
      }
      EXPECT_EQ(i, loader.size());
    }
    EXPECT_THROW(loader.start_epoch(0, loader.size() + 1), c10::Error);
  }
}

}  // namespace
}  // namespace tessera::train
