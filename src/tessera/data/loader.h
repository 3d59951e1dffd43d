// The batch loader: worker threads assemble whole batches from a dataset and a
// transform into a bounded, in-order queue.
//
// Everything random is a pure function of (seed, epoch, position in the epoch):
// the sample order from (seed, epoch), each sample's crop and flip from (seed,
// epoch, position). Batches come out in index order through a reorder buffer,
// so the batches are bit-identical for any num_workers and thread timing, and a
// run resumed at epoch e sees the batches the original run saw.
#pragma once

#include <ATen/ATen.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tessera/data/dataset.h"
#include "tessera/data/transforms.h"

namespace tessera::data {

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = false;        // a fresh order each epoch, from (seed, epoch)
  bool drop_last = false;      // leave out the final partial batch
  int64_t num_workers = 0;     // threads building batches; 0 = build them in next() on the caller's thread
  int64_t prefetch_batches = 2;  // finished batches that may wait for the consumer (on top of one per worker)
  uint64_t seed = 0;
};

struct Batch {
  at::Tensor images;  // float32 (B, C, H, W), contiguous, CPU
  at::Tensor labels;  // int64 (B)
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, Transform transform, LoaderOptions options);
  // Stops and joins the workers, also in the middle of an epoch (each finishes
  // at most the batch in hand).
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t size() const { return num_batches_; }  // batches per epoch
  int64_t num_samples() const { return dataset_->size(); }
  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return options_; }

  // Begins epoch `epoch` (>= 0) at batch `first_batch` (0..size()): the batches
  // before it are skipped without being built, so a run resumed mid-epoch sees the
  // rest of the epoch exactly. Abandons whatever is left of the current epoch.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);

  // The next batch of the epoch, or nullopt when it is done. An exception thrown
  // while building a batch (a corrupt file, ...) is rethrown here, in batch
  // order, and ends the epoch. Call from one thread.
  std::optional<Batch> next();

 private:
  // One epoch's plan, shared with the workers; a new epoch gets a new plan, so a
  // worker still busy with the old one can tell that its batch is stale.
  struct Plan {
    int64_t epoch = 0;
    std::vector<int64_t> order;  // dataset index of each position in the epoch
  };
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

  Batch make_batch(const Plan& plan, int64_t index) const;
  void work();

  std::shared_ptr<const Dataset> dataset_;
  Transform transform_;
  LoaderOptions options_;
  int64_t num_batches_ = 0;
  int64_t window_ = 0;  // batches that may be claimed but not yet consumed

  std::mutex mutex_;
  std::condition_variable work_ready_;   // workers wait here for a batch to claim
  std::condition_variable batch_ready_;  // the consumer waits here for its next batch
  std::shared_ptr<const Plan> plan_;
  int64_t next_claim_ = 0;  // next batch index a worker will build
  int64_t next_yield_ = 0;  // next batch index next() returns
  bool failed_ = false;     // a batch of this epoch threw: claim no more
  bool stopping_ = false;
  std::map<int64_t, Slot> ready_;  // the reorder buffer: finished batches by index
  std::vector<std::thread> workers_;
};

}  // namespace tessera::data
