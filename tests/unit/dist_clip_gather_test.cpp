// Tests for CLIP's logits over the global batch (src/tessera/dist/clip_gather.h) and the
// all-gather with gradient under them (gather.h), on 2 processes over Gloo: with
// gather_with_grad, with or without local_loss, and with unequal rows per rank, the
// averaged gradients equal the single-process loss on the whole batch; without
// gradient through the gather the loss still does.
#include "tessera/dist/clip_gather.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <cstdio>

#include "fixtures/dist_workers.h"
#include "tessera/core/safetensors.h"
#include "tessera/dist/broadcast.h"
#include "tessera/dist/grad_reducer.h"
#include "tessera/train/clip_loss.h"
#include "test_env.h"

namespace tessera::dist {
namespace {

at::Tensor unit_rows(const at::Tensor& x) { return x / x.norm(2, {-1}, true); }

// Two towers and a learnable temperature: enough to see every gradient path.
struct TowersImpl : torch::nn::Module {
  TowersImpl() {
    image = register_module("image", torch::nn::Linear(6, 5));
    text = register_module("text", torch::nn::Linear(7, 5));
    logit_scale = register_parameter("logit_scale", at::full({}, std::log(1 / 0.07)));
  }
  torch::nn::Linear image{nullptr}, text{nullptr};
  at::Tensor logit_scale;
};
TORCH_MODULE(Towers);

Towers seeded_towers() {
  at::manual_seed(21);
  return Towers();
}

// The global batch: 8 image-text pairs.
std::pair<at::Tensor, at::Tensor> global_batch() {
  at::manual_seed(22);
  at::Tensor images = at::randn({8, 6});
  return {images, at::randn({8, 7})};
}

std::vector<std::pair<std::string, at::Tensor>> grads_of(Towers& towers, const std::string& prefix) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : towers->named_parameters()) out.emplace_back(prefix + p.key(), p.value().grad().clone());
  return out;
}

struct Case {
  std::string name;
  ClipGatherOptions options;
  int64_t rank0_rows;  // of the 8; rank 1 has the rest
};

std::vector<Case> cases() {
  return {{"global", ClipGatherOptions(), 4},
          {"local", ClipGatherOptions().local_loss(true), 4},
          {"uneven", ClipGatherOptions(), 3},
          {"no_grad_gather", ClipGatherOptions().gather_with_grad(false), 4}};
}

TEST(DistClipGatherWorker, DISABLED_Run) {
  auto worker = tessera::testing::join_job();
  const int64_t r = worker.rank();
  Towers towers = seeded_towers();
  broadcast_module(*worker.group, *towers);
  std::vector<std::pair<std::string, at::Tensor>> trainable;
  for (const auto& p : towers->named_parameters()) trainable.emplace_back(p.key(), p.value());
  GradReducer reducer(trainable, worker.group);
  const auto [images, texts] = global_batch();

  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& c : cases()) {
    const int64_t first = r == 0 ? 0 : c.rank0_rows, rows = r == 0 ? c.rank0_rows : 8 - c.rank0_rows;
    towers->zero_grad();
    reducer.prepare(true);
    const at::Tensor image_features = unit_rows(towers->image(images.narrow(0, first, rows)));
    const at::Tensor text_features = unit_rows(towers->text(texts.narrow(0, first, rows)));
    const ClipLogits logits =
        clip_logits_across_ranks(image_features, text_features, towers->logit_scale.exp(), worker.group, c.options);
    const at::Tensor loss = (at::cross_entropy_loss(logits.logits_per_image, logits.targets) +
                             at::cross_entropy_loss(logits.logits_per_text, logits.targets)) /
                            2;
    loss.backward();
    reducer.finish();
    for (auto& g : grads_of(towers, c.name + ".")) out.push_back(std::move(g));
    out.emplace_back(c.name + ".loss", loss.detach());
  }
  core::save_safetensors(worker.file("clip"), out);
}

TEST(DistClipGather, GradientsEqualTheFullBatchLoss) {
  const auto dir = tessera::testing::scratch_dir();
  const auto run = tessera::testing::run_workers("DistClipGatherWorker.DISABLED_Run", 2, dir);
  ASSERT_EQ(run.result.exit_code, 0) << run.result.summary() << "\n" << run.logs();

  // One process, the whole batch, open_clip's ClipLoss on one rank.
  Towers towers = seeded_towers();
  const auto [images, texts] = global_batch();
  const auto full = train::clip_loss(unit_rows(towers->image(images)), unit_rows(towers->text(texts)),
                                     towers->logit_scale.exp());
  full.loss.backward();
  const auto expected = grads_of(towers, "");
  const double expected_loss = full.loss.item<double>();

  for (int64_t r = 0; r < 2; ++r) {
    const auto got = tessera::testing::load_results(dir / ("clip-rank" + std::to_string(r)));
    for (const auto& c : cases()) {
      SCOPED_TRACE("rank " + std::to_string(r) + ", " + c.name);
      if (!c.options.local_loss()) EXPECT_NEAR(got.at(c.name + ".loss").item<double>(), expected_loss, 1e-6);
      if (!c.options.gather_with_grad()) continue;  // open_clip's default: only local features carry gradient
      double worst = 0.0;
      for (const auto& [name, g] : expected) {
        const double diff = (got.at(c.name + "." + name) - g).abs().max().item<double>();
        EXPECT_LE(diff, 1e-6) << name;
        worst = std::max(worst, diff);
      }
      std::printf("rank %ld, %s: CLIP gradients max |diff| vs the full-batch loss %.3g\n", static_cast<long>(r),
                  c.name.c_str(), worst);
    }
  }
}

}  // namespace
}  // namespace tessera::dist
