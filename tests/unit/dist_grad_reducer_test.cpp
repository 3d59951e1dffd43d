// Tests for the bucketed gradient all-reduce (src/tessera/dist/grad_reducer.h) on 2
// processes over Gloo: the averaged gradients equal the single-process gradients of the
// global batch, buckets go out while backward runs, accumulation micro-steps send
// nothing, and a parameter the loss does not reach gets zeros on every rank.
#include "tessera/dist/grad_reducer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdio>

#include "fixtures/dist_workers.h"
#include "tessera/core/safetensors.h"
#include "tessera/dist/broadcast.h"
#include "test_env.h"

namespace tessera::dist {
namespace {

// Three layers used by the loss, one that is not (first: its bucket, which backward never
// completes, is the last one, so it holds none of the others back).
struct NetImpl : torch::nn::Module {
  NetImpl() {
    unused = register_module("unused", torch::nn::Linear(4, 4));
    fc1 = register_module("fc1", torch::nn::Linear(16, 32));
    fc2 = register_module("fc2", torch::nn::Linear(32, 32));
    head = register_module("head", torch::nn::Linear(32, 8));
  }
  at::Tensor forward(const at::Tensor& x) { return head(at::gelu(fc2(at::gelu(fc1(x))))); }
  torch::nn::Linear unused{nullptr}, fc1{nullptr}, fc2{nullptr}, head{nullptr};
};
TORCH_MODULE(Net);

Net seeded_net(uint64_t seed) {
  at::manual_seed(seed);
  return Net();
}

// The global batch: 8 rows.
std::pair<at::Tensor, at::Tensor> global_batch() {
  at::manual_seed(7);
  at::Tensor x = at::randn({8, 16});
  return {x, at::randn({8, 8})};
}

// Rows of the global batch rank r of 2 reads: r, r + 2, ... within [first, first + n).
at::Tensor shard(const at::Tensor& t, int64_t first, int64_t n, int64_t rank) {
  return t.narrow(0, first, n).slice(0, rank, n, 2);
}

at::Tensor loss_of(Net& net, const at::Tensor& x, const at::Tensor& y) { return at::mse_loss(net->forward(x), y); }

std::vector<std::pair<std::string, at::Tensor>> grads_of(Net& net, const std::string& prefix) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : net->named_parameters()) {
    out.emplace_back(prefix + p.key(), p.value().grad().defined() ? p.value().grad().clone() : at::zeros_like(p.value()));
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> trainable(Net& net) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : net->named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

TEST(DistGradReducerWorker, DISABLED_Run) {
  auto worker = tessera::testing::join_job();
  const int64_t r = worker.rank();
  Net net = seeded_net(10 + r);
  broadcast_module(*worker.group, *net);
  // 512 bytes: fc2.weight (4 KB) alone, the others in small buckets.
  GradReducer reducer(trainable(net), worker.group, GradReducerOptions().bucket_bytes(512));
  const auto [x, y] = global_batch();

  // One sync step over the whole global batch.
  net->zero_grad();
  reducer.prepare(true);
  loss_of(net, shard(x, 0, 8, r), shard(y, 0, 8, r)).backward();
  const int64_t during_backward = reducer.issued_during_backward();
  reducer.finish();
  auto out = grads_of(net, "step.");

  // Accumulation: two micro-batches of 4 rows; only the second reduces.
  net->zero_grad();
  reducer.prepare(false);
  (loss_of(net, shard(x, 0, 4, r), shard(y, 0, 4, r)) / 2).backward();
  reducer.finish();
  const int64_t during_no_sync = reducer.issued_during_backward();
  reducer.prepare(true);
  (loss_of(net, shard(x, 4, 4, r), shard(y, 4, 4, r)) / 2).backward();
  reducer.finish();
  for (auto& g : grads_of(net, "accum.")) out.push_back(g);

  out.emplace_back("buckets", at::tensor({reducer.num_buckets()}));
  out.emplace_back("issued_during_backward", at::tensor({during_backward}));
  out.emplace_back("issued_without_sync", at::tensor({during_no_sync}));
  core::save_safetensors(worker.file("grads"), out);
}

TEST(DistGradReducer, AveragedGradientsEqualTheGlobalBatch) {
  const auto dir = tessera::testing::scratch_dir();
  const auto run = tessera::testing::run_workers("DistGradReducerWorker.DISABLED_Run", 2, dir);
  ASSERT_EQ(run.result.exit_code, 0) << run.result.summary() << "\n" << run.logs();

  // Single process, rank 0's initial weights, the global batch.
  Net net = seeded_net(10);
  const auto [x, y] = global_batch();
  loss_of(net, x, y).backward();
  const auto step = grads_of(net, "step.");
  net->zero_grad();
  (loss_of(net, x.narrow(0, 0, 4), y.narrow(0, 0, 4)) / 2).backward();
  (loss_of(net, x.narrow(0, 4, 4), y.narrow(0, 4, 4)) / 2).backward();
  const auto accum = grads_of(net, "accum.");

  for (int64_t r = 0; r < 2; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r));
    const auto got = tessera::testing::load_results(dir / ("grads-rank" + std::to_string(r)));
    double worst = 0.0;
    for (const auto* expected : {&step, &accum}) {
      for (const auto& [name, g] : *expected) {
        const double diff = (got.at(name) - g).abs().max().item<double>();
        EXPECT_LE(diff, 1e-6) << name;
        worst = std::max(worst, diff);
      }
    }
    std::printf("rank %ld: %ld buckets, %ld issued during backward; gradients max |diff| vs single process %.3g\n",
                static_cast<long>(r), static_cast<long>(got.at("buckets").item<int64_t>()),
                static_cast<long>(got.at("issued_during_backward").item<int64_t>()), worst);
    EXPECT_GE(got.at("buckets").item<int64_t>(), 3);
    // The head's buckets are complete long before backward reaches fc1.
    EXPECT_GE(got.at("issued_during_backward").item<int64_t>(), 1);
    EXPECT_EQ(got.at("issued_without_sync").item<int64_t>(), 0);
    EXPECT_TRUE(got.at("step.unused.weight").eq(0).all().item<bool>());
  }
}

}  // namespace
}  // namespace tessera::dist
