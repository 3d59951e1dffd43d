// Tests for the dynamic batching queue: batches form up to max_batch, every input gets
// its own row back, a full queue refuses, cancelled inputs are skipped, failures reach
// every input of their batch, and stop() runs what is queued.
#include "tessera/serve/batcher.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace tessera::serve {
namespace {

using namespace std::chrono_literals;

// A batch function that blocks until released: the worker sits inside a model call.
class Gate {
 public:
  at::Tensor run(const at::Tensor& inputs) {
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    return inputs * 2;
  }
  void wait_entered(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return entered_ >= n; });
  }
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

TEST(Batcher, LoneInputRunsAfterMaxWait) {
  Batcher batcher({/*max_batch=*/8, /*max_wait=*/2000us, /*queue_size=*/16}, [](const at::Tensor& x) { return x + 1; });
  auto ticket = batcher.submit(at::full({3}, 4.0));
  ASSERT_TRUE(ticket);
  const auto result = ticket->result.get();
  EXPECT_EQ(result.batch_size, 1);
  EXPECT_TRUE(at::equal(result.output, at::full({3}, 5.0)));
}

TEST(Batcher, FullBatchRunsWithoutWaiting) {
  // max_wait is far longer than the test: only a full batch can start the call.
  Batcher batcher({4, std::chrono::microseconds(std::chrono::minutes(10)), 16},
                  [](const at::Tensor& x) { return x * 10; });
  std::vector<BatchTicket> tickets;
  for (int i = 0; i < 4; ++i) tickets.push_back(*batcher.submit(at::full({2}, static_cast<double>(i))));
  for (int i = 0; i < 4; ++i) {
    const auto r = tickets[i].result.get();
    EXPECT_EQ(r.batch_size, 4);
    EXPECT_TRUE(at::equal(r.output, at::full({2}, 10.0 * i))) << "input " << i << " got another's row";
  }
  EXPECT_EQ(batcher.stats().batch_sizes, (std::map<int64_t, int64_t>{{4, 1}}));
}

TEST(Batcher, ConcurrentSubmittersShareBatches) {
  std::atomic<int> max_seen{0};
  Batcher batcher({8, 20ms, 256}, [&](const at::Tensor& x) {
    max_seen = std::max<int>(max_seen, static_cast<int>(x.size(0)));
    std::this_thread::sleep_for(5ms);  // a model call: others pile up meanwhile
    return x.sum(1);
  });
  constexpr int kThreads = 16, kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const double v = t * 1000 + i;
        auto ticket = batcher.submit(at::full({4}, v));
        if (!ticket || ticket->result.get().output.item<double>() != 4 * v) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
  const auto stats = batcher.stats();
  EXPECT_EQ(stats.submitted, kThreads * kEach);
  int64_t items = 0;
  for (const auto& [size, count] : stats.batch_sizes) {
    EXPECT_LE(size, 8);
    items += size * count;
  }
  EXPECT_EQ(items, kThreads * kEach);
  EXPECT_GT(max_seen.load(), 1) << "16 concurrent submitters never shared a model call";
}

TEST(Batcher, FullQueueRefusesAndCancelledInputsAreSkipped) {
  Gate gate;
  Batcher batcher({1, 0us, 2}, [&](const at::Tensor& x) { return gate.run(x); });
  auto a = batcher.submit(at::ones({1}));
  ASSERT_TRUE(a);
  gate.wait_entered(1);  // a is inside the model call; the queue is empty again
  auto b = batcher.submit(at::ones({1}) * 2);
  auto c = batcher.submit(at::ones({1}) * 3);
  ASSERT_TRUE(b && c);
  EXPECT_FALSE(batcher.submit(at::ones({1}))) << "a third waiting input exceeds queue_size 2";
  b->cancel();
  gate.open();
  EXPECT_EQ(a->result.get().output.item<double>(), 2.0);
  EXPECT_EQ(c->result.get().output.item<double>(), 6.0);
  batcher.stop();
  const auto stats = batcher.stats();
  EXPECT_EQ(stats.rejected, 1);
  EXPECT_EQ(stats.cancelled, 1);
  EXPECT_EQ(stats.batches, 2) << "b never ran";
}

TEST(Batcher, FailureReachesEveryInputOfTheBatch) {
  std::atomic<int> calls{0};
  Batcher batcher({2, std::chrono::microseconds(std::chrono::minutes(10)), 8}, [&](const at::Tensor& x) {
    if (calls++ == 0) throw std::runtime_error("model exploded");
    return x;
  });
  auto a = batcher.submit(at::ones({1}));
  auto b = batcher.submit(at::ones({1}));
  for (auto* t : {&*a, &*b}) {
    try {
      t->result.get();
      ADD_FAILURE() << "expected the batch's exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "model exploded");
    }
  }
  // The worker survives: the next batch runs.
  auto c = batcher.submit(at::ones({1}) * 5);
  auto d = batcher.submit(at::ones({1}));
  EXPECT_EQ(c->result.get().output.item<double>(), 5.0);
  d->result.get();
}

TEST(Batcher, StopRunsWhatIsQueuedThenRefuses) {
  Batcher batcher({64, std::chrono::microseconds(std::chrono::minutes(10)), 64}, [](const at::Tensor& x) { return x; });
  std::vector<BatchTicket> tickets;
  for (int i = 0; i < 3; ++i) tickets.push_back(*batcher.submit(at::ones({1})));
  batcher.stop();  // does not wait the ten minutes: stopping runs the partial batch now
  for (auto& t : tickets) {
    ASSERT_EQ(t.result.wait_for(0s), std::future_status::ready);
    EXPECT_EQ(t.result.get().batch_size, 3);
  }
  EXPECT_FALSE(batcher.submit(at::ones({1})));
}

TEST(Batcher, ChecksOptions) {
  auto identity = [](const at::Tensor& x) { return x; };
  EXPECT_THROW(Batcher({0, 1ms, 1}, identity), c10::Error);
  EXPECT_THROW(Batcher({1, 1ms, 0}, identity), c10::Error);
  EXPECT_THROW(Batcher({1, -1ms, 1}, identity), c10::Error);
}

}  // namespace
}  // namespace tessera::serve
