// The batch loader: worker threads read (decode) samples and run the per-sample
// transform, assembling whole batches into a bounded, in-order queue.
//
// Everything random is a pure function of (seed, epoch, position in the epoch):
// the sample order from (seed, epoch), each sample's augmentation from (seed,
// epoch, position). Batches come out in index order through a reorder buffer,
// so the batches are bit-identical for any num_workers and thread timing, and a
// run resumed at epoch e sees the batches the original run saw.
//
// In data-parallel training each rank reads its shard of the epoch's order, as
// torch's DistributedSampler: positions rank, rank + world_size, ... The positions
// (and so the augmentations) are those of the one-process epoch, so batch i of the
// ranks together is batch i of a one-process loader with world_size times the batch.
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
#include "tessera/data/sample_transform.h"

namespace tessera::data {

// What a rank does with the last world_size - 1 or fewer positions of an epoch that do
// not divide among the ranks.
enum class ShardRemainder {
  Pad,     // repeat positions from the start of the order until they do (DistributedSampler's default)
  Drop,    // leave them out (DistributedSampler's drop_last)
  Uneven,  // the first ranks read one more position each: evaluation, where every sample counts once
};

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = false;        // a fresh order each epoch, from (seed, epoch)
  bool drop_last = false;      // leave out the final partial batch
  int64_t num_workers = 0;     // threads building batches; 0 = build them in next() on the caller's thread
  int64_t prefetch_batches = 2;  // finished batches that may wait for the consumer (on top of one per worker)
  uint64_t seed = 0;
  // Repeated augmentation (timm's RepeatAugSampler, one process): each epoch takes a
  // shuffled permutation, repeats every index this many times in a row (each copy gets
  // its own augmentation) and keeps the first floor(N / 256) * 256 positions (all N when
  // N < 256), so an epoch still has about N samples. 0 or 1 = off.
  int64_t aug_repeats = 0;
  bool pin_memory = false;       // batches in page-locked memory, for asynchronous copies to a GPU
  bool skip_bad_samples = true;  // a BadSample is left out of its batch and counted; false: it ends the epoch
  // Data parallelism: this process is rank `rank` of `world_size` and reads positions
  // rank, rank + world_size, ... of every epoch's order. Every rank uses the same seed.
  // With aug_repeats > 1 this is timm's RepeatAugSampler with num_replicas = world_size:
  // each rank keeps floor(kept / world_size) positions of the repeated order.
  int64_t rank = 0;
  int64_t world_size = 1;
  ShardRemainder shard_remainder = ShardRemainder::Pad;
};

// The samples of one epoch that could not be read and were left out.
struct BadSampleReport {
  int64_t count = 0;
  std::vector<std::string> examples;  // the first few messages, "<file>: <reason>"
};

struct Batch {
  at::Tensor images;  // float32 (B, C, H, W), contiguous, CPU (pinned with pin_memory)
  at::Tensor labels;  // int64 (B); -1 for an unlabelled dataset
  std::vector<std::string> captions;  // one per image for an image-text dataset, else empty
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, SampleTransform transform, LoaderOptions options);
  // Stops and joins the workers, also in the middle of an epoch (each finishes
  // at most the batch in hand).
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t size() const { return num_batches_; }  // batches per epoch (of this rank)
  int64_t num_samples() const { return epoch_length_; }  // samples per epoch of this rank (with repeats and padding)
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

  // The samples skipped since the last call (normally: the epoch just finished).
  BadSampleReport take_bad_samples();

 private:
  // One epoch's plan, shared with the workers; a new epoch gets a new plan, so a
  // worker still busy with the old one can tell that its batch is stale.
  struct Plan {
    int64_t epoch = 0;
    std::vector<int64_t> order;  // dataset index of each of this rank's positions in the epoch
  };
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

  // The position in the one-process epoch of this rank's position `local`.
  int64_t global_position(int64_t local) const { return options_.rank + options_.world_size * local; }
  Batch make_batch(const Plan& plan, int64_t index);
  void work();
  void note_bad_sample(const std::string& message);

  std::shared_ptr<const Dataset> dataset_;
  SampleTransform transform_;
  LoaderOptions options_;
  int64_t epoch_length_ = 0;
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

  std::mutex bad_mutex_;
  BadSampleReport bad_samples_;
};

// Takes the loader's skipped-sample report and, when it is not empty, logs one warning:
// "<when>: skipped N unreadable images, e.g. <file>: <reason>; ...".
void log_bad_samples(Loader& loader, const std::string& when);

}  // namespace tessera::data
