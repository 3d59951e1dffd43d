// Data-parallel training end to end below the trainer: 2 processes over Gloo on loopback
// train a tiny ViT with sharded, augmented batches (data/loader.h with rank / world_size),
// rank 0's weights broadcast, gradients averaged by the bucketed reducer and gradient
// accumulation; the final weights equal a single-process run on the combined batch: to
// 1e-5 in float64, where only the order of additions differs; in float32 that rounding
// shows more (AdamW divides by the root of small second moments in its first steps).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <cstdio>

#include "fixtures/dist_workers.h"
#include "tessera/core/safetensors.h"
#include "tessera/data/dataset.h"
#include "tessera/data/loader.h"
#include "tessera/dist/broadcast.h"
#include "tessera/dist/grad_reducer.h"
#include "tessera/models/vit.h"
#include "test_env.h"

namespace tessera::dist {
namespace {

constexpr int64_t kSteps = 6;          // optimizer steps: one epoch (4) and into the next
constexpr int64_t kAccum = 2;          // micro-batches per step
constexpr int64_t kMicroBatch = 4;     // global micro-batch: 2 per rank on 2 ranks
constexpr int64_t kDatasetSize = 32;

std::shared_ptr<data::InMemoryDataset> dataset() {
  at::manual_seed(3);
  at::Tensor images = at::randint(0, 256, {kDatasetSize, 1, 8, 8}).to(at::kByte);  // (N, C, H, W)
  at::Tensor labels = at::randint(0, 4, {kDatasetSize}, at::kLong);
  return std::make_shared<data::InMemoryDataset>(images, labels, std::vector<std::string>{"a", "b", "c", "d"});
}

data::SampleTransform augmenting() {
  data::TransformSpec spec;
  spec.channels = 1;
  spec.height = 8;
  spec.width = 8;
  spec.crop_padding = 2;
  spec.hflip = 0.5;
  spec.mean = {0.5};
  spec.std = {0.25};
  return data::SampleTransform(spec);
}

models::VisionTransformer tiny_vit(uint64_t seed, at::ScalarType dtype) {
  at::manual_seed(seed);
  models::VisionTransformer model(models::VisionTransformerOptions()
                                      .img_size(8)
                                      .patch_size(4)
                                      .in_chans(1)
                                      .num_classes(4)
                                      .embed_dim(16)
                                      .depth(2)
                                      .num_heads(2));
  model->to(dtype);
  return model;
}

const std::vector<std::pair<std::string, at::ScalarType>> kDtypes = {{"float64", at::kDouble}, {"float32", at::kFloat}};

// Trains kSteps steps on this process's share of the data (rank / world) and returns
// the final weights. The reducer is null for the single-process run.
std::vector<std::pair<std::string, at::Tensor>> train(models::VisionTransformer& model, int64_t rank, int64_t world,
                                                      GradReducer* reducer) {
  data::LoaderOptions options;
  options.batch_size = kMicroBatch / world;
  options.shuffle = true;
  options.seed = 11;
  options.num_workers = 1;
  options.rank = rank;
  options.world_size = world;
  data::Loader loader(dataset(), augmenting(), options);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.05));

  int64_t epoch = 0;
  loader.start_epoch(epoch);
  for (int64_t step = 0; step < kSteps; ++step) {
    optimizer.zero_grad();
    for (int64_t micro = 0; micro < kAccum; ++micro) {
      auto batch = loader.next();
      if (!batch) {
        loader.start_epoch(++epoch);
        batch = loader.next();
      }
      if (reducer) reducer->prepare(micro == kAccum - 1);
      const at::Tensor images = batch->images.to(model->pos_embed.scalar_type());
      const at::Tensor loss = at::cross_entropy_loss(model->forward(images), batch->labels) / kAccum;
      loss.backward();
      if (reducer) reducer->finish();
    }
    optimizer.step();
  }
  std::vector<std::pair<std::string, at::Tensor>> weights;
  for (const auto& p : model->named_parameters()) weights.emplace_back(p.key(), p.value().detach().clone());
  return weights;
}

TEST(DistTrainWorker, DISABLED_TinyVit) {
  auto worker = tessera::testing::join_job();
  at::set_num_threads(1);
  for (const auto& [dtype_name, dtype] : kDtypes) {
    auto model = tiny_vit(1 + worker.rank(), dtype);  // replicas differ until rank 0's are broadcast
    broadcast_module(*worker.group, *model);
    std::vector<std::pair<std::string, at::Tensor>> trainable;
    for (const auto& p : model->named_parameters()) trainable.emplace_back(p.key(), p.value());
    GradReducer reducer(trainable, worker.group, GradReducerOptions().bucket_bytes(4096));
    core::save_safetensors(worker.file("weights-" + dtype_name),
                           train(model, worker.rank(), worker.group->size(), &reducer));
  }
}

TEST(DistTrain, TwoRanksEqualOneProcessOnTheCombinedBatch) {
  const auto dir = tessera::testing::scratch_dir();
  const auto run = tessera::testing::run_workers("DistTrainWorker.DISABLED_TinyVit", 2, dir);
  ASSERT_EQ(run.result.exit_code, 0) << run.result.summary() << "\n" << run.logs();

  for (const auto& [dtype_name, dtype] : kDtypes) {
    auto model = tiny_vit(1, dtype);
    const auto expected = train(model, 0, 1, nullptr);
    const auto rank0 = tessera::testing::load_results(dir / ("weights-" + dtype_name + "-rank0"));
    const auto rank1 = tessera::testing::load_results(dir / ("weights-" + dtype_name + "-rank1"));
    const auto initial = tiny_vit(1, dtype);
    double worst = 0.0, between_ranks = 0.0, moved = 0.0;
    for (const auto& [name, w] : expected) {
      worst = std::max(worst, (rank0.at(name) - w).abs().max().item<double>());
      between_ranks = std::max(between_ranks, (rank0.at(name) - rank1.at(name)).abs().max().item<double>());
      moved = std::max(moved, (w - initial->named_parameters()[name]).abs().max().item<double>());
    }
    std::printf("tiny ViT (%s), %ld AdamW steps x %ld micro-batches on 2 ranks: max |diff| vs one process %.3g, "
                "between ranks %.3g (weights moved up to %.3g)\n",
                dtype_name.c_str(), static_cast<long>(kSteps), static_cast<long>(kAccum), worst, between_ranks, moved);
    EXPECT_LE(worst, dtype == at::kDouble ? 1e-5 : 1e-4) << dtype_name;
    EXPECT_EQ(between_ranks, 0.0) << dtype_name;
    EXPECT_GT(moved, 1e-3) << dtype_name;  // the comparison means something: training changed the weights
  }
}

}  // namespace
}  // namespace tessera::dist
