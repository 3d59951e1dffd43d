// Dynamic batching: single inputs submitted from many threads (HTTP requests) are
// gathered into one batch for one model call. A batch runs when it holds max_batch
// inputs or when its oldest input has waited max_wait, whichever comes first, so a
// lone request waits at most max_wait and a burst fills whole batches.
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace tessera::serve {

struct BatcherOptions {
  int64_t max_batch = 32;                    // inputs per model call
  std::chrono::microseconds max_wait{5000};  // longest an input waits for others to join it
  int64_t queue_size = 256;                  // inputs waiting for a batch; a submit beyond is refused
};

// The model call: inputs (B, item shape...) → outputs whose row i answers input i.
using BatchFunction = std::function<at::Tensor(const at::Tensor& inputs)>;

// What one input gets back.
struct BatchResult {
  at::Tensor output;       // its row of the batch's output
  int64_t batch_size = 0;  // how many inputs shared the model call
  double queued_ms = 0;    // from submit to the start of the model call
  double run_ms = 0;       // the model call
};

// One submitted input: the result to wait for, and a way to give up on it (a timed-out
// request), after which the batcher leaves it out of the next batch if it has not run.
struct BatchTicket {
  std::future<BatchResult> result;
  std::shared_ptr<std::atomic<bool>> cancelled;
  void cancel() { cancelled->store(true); }
};

struct BatcherStats {
  int64_t submitted = 0;
  int64_t rejected = 0;   // refused because the queue was full or the batcher stopped
  int64_t cancelled = 0;  // given up before they ran
  int64_t batches = 0;
  std::map<int64_t, int64_t> batch_sizes;  // batch size → how many batches had it
};

class Batcher {
 public:
  // Checks the options (TORCH_CHECK) and starts the worker thread. `run` is only ever
  // called from that thread, one batch at a time.
  Batcher(BatcherOptions options, BatchFunction run);
  ~Batcher();  // stop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues one input (every input must have the same shape). nullopt when the queue is
  // full or the batcher is stopping: the caller answers "busy". An exception thrown by
  // `run` reaches every input of that batch through its future.
  std::optional<BatchTicket> submit(at::Tensor input);

  // Refuses new inputs, runs everything already queued, and joins the worker. Idempotent.
  void stop();

  BatcherStats stats() const;

 private:
  struct Pending {
    at::Tensor input;
    std::promise<BatchResult> promise;
    std::shared_ptr<std::atomic<bool>> cancelled;
    std::chrono::steady_clock::time_point submitted;
  };

  void work();
  // Waits for the next batch (empty once stopped with nothing queued).
  std::vector<Pending> next_batch();

  BatcherOptions options_;
  BatchFunction run_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  BatcherStats stats_;
  std::thread worker_;
};

}  // namespace tessera::serve
