// The dynamic batching queue (see batcher.h).
#include "tessera/serve/batcher.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace tessera::serve {

namespace {
double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

Batcher::Batcher(BatcherOptions options, BatchFunction run) : options_(options), run_(std::move(run)) {
  TORCH_CHECK(options_.max_batch >= 1, "max_batch must be at least 1, got ", options_.max_batch);
  TORCH_CHECK(options_.max_wait.count() >= 0, "max_wait must not be negative, got ", options_.max_wait.count(), "us");
  TORCH_CHECK(options_.queue_size >= 1, "queue_size must be at least 1, got ", options_.queue_size);
  TORCH_CHECK(run_, "the batch function is empty");
  worker_ = std::thread([this] { work(); });
}

Batcher::~Batcher() { stop(); }

std::optional<BatchTicket> Batcher::submit(at::Tensor input) {
  Pending pending{std::move(input), {}, std::make_shared<std::atomic<bool>>(false), std::chrono::steady_clock::now()};
  BatchTicket ticket{pending.promise.get_future(), pending.cancelled};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || static_cast<int64_t>(queue_.size()) >= options_.queue_size) {
      ++stats_.rejected;
      return std::nullopt;
    }
    ++stats_.submitted;
    queue_.push_back(std::move(pending));
  }
  ready_.notify_all();
  return ticket;
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  if (worker_.joinable()) worker_.join();
}

BatcherStats Batcher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

std::vector<Batcher::Pending> Batcher::next_batch() {
  std::unique_lock<std::mutex> lock(mutex_);
  std::vector<Pending> batch;
  while (batch.empty()) {
    ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return batch;  // stopping, nothing left
    // The oldest input sets the deadline: nobody waits longer than max_wait for company.
    // When stopping, what is queued runs at once.
    const auto deadline = queue_.front().submitted + options_.max_wait;
    ready_.wait_until(lock, deadline,
                      [&] { return stopping_ || static_cast<int64_t>(queue_.size()) >= options_.max_batch; });
    while (!queue_.empty() && static_cast<int64_t>(batch.size()) < options_.max_batch) {
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      if (p.cancelled->load()) {
        ++stats_.cancelled;
        continue;
      }
      batch.push_back(std::move(p));
    }
  }
  ++stats_.batches;
  ++stats_.batch_sizes[static_cast<int64_t>(batch.size())];
  return batch;
}

void Batcher::work() {
  while (true) {
    auto batch = next_batch();
    if (batch.empty()) return;
    const auto started = std::chrono::steady_clock::now();
    try {
      std::vector<at::Tensor> inputs;
      inputs.reserve(batch.size());
      for (const auto& p : batch) inputs.push_back(p.input);
      const at::Tensor outputs = run_(at::stack(inputs));
      const auto finished = std::chrono::steady_clock::now();
      TORCH_CHECK(outputs.dim() >= 1 && outputs.size(0) == static_cast<int64_t>(batch.size()),
                  "the batch function returned ", outputs.sizes(), " for ", batch.size(), " inputs");
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i].promise.set_value(BatchResult{outputs[static_cast<int64_t>(i)], static_cast<int64_t>(batch.size()),
                                               ms_between(batch[i].submitted, started), ms_between(started, finished)});
      }
    } catch (...) {
      // Every input of the failed batch learns why; the worker goes on with the next.
      const auto error = std::current_exception();
      for (auto& p : batch) {
        try {
          p.promise.set_exception(error);
        } catch (const std::future_error&) {
          // already satisfied before the failure: nothing to tell it
        }
      }
    }
  }
}

}  // namespace tessera::serve
