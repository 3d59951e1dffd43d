// The batch loader: worker threads, a bounded window of batches, a reorder buffer.
#include "tessera/data/loader.h"

#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "tessera/core/error.h"

namespace tessera::data {

Loader::Loader(std::shared_ptr<const Dataset> dataset, SampleTransform transform, LoaderOptions options)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), options_(options) {
  TORCH_CHECK(dataset_, "Loader: no dataset");
  TORCH_CHECK(options_.batch_size > 0, "Loader: batch_size must be positive, got ", options_.batch_size);
  TORCH_CHECK(options_.num_workers >= 0, "Loader: num_workers must be >= 0, got ", options_.num_workers);
  TORCH_CHECK(options_.prefetch_batches >= 0, "Loader: prefetch_batches must be >= 0, got ",
              options_.prefetch_batches);

  TORCH_CHECK(options_.aug_repeats >= 0, "Loader: aug_repeats must be >= 0, got ", options_.aug_repeats);
  TORCH_CHECK(options_.aug_repeats <= 1 || options_.shuffle, "Loader: aug_repeats needs shuffle");
  TORCH_CHECK(options_.world_size >= 1, "Loader: world_size must be >= 1, got ", options_.world_size);
  TORCH_CHECK(options_.rank >= 0 && options_.rank < options_.world_size, "Loader: rank must be in [0, ",
              options_.world_size, "), got ", options_.rank);

  const int64_t size = dataset_->size();
  const bool repeated = options_.aug_repeats > 1;
  // The one-process epoch: every sample once, or with repeats timm's RepeatAugSampler,
  // which keeps floor(N / 256) * 256 of the N * repeats positions (all N when N < 256).
  const int64_t global = repeated && size >= 256 ? size / 256 * 256 : size;
  // This rank's share of it (DistributedSampler; RepeatAugSampler rounds down).
  const int64_t world = options_.world_size;
  if (options_.shard_remainder == ShardRemainder::Uneven) {
    epoch_length_ = global > options_.rank ? (global - options_.rank + world - 1) / world : 0;
  } else if (options_.shard_remainder == ShardRemainder::Drop || repeated) {
    epoch_length_ = global / world;
  } else {
    epoch_length_ = (global + world - 1) / world;
  }
  const int64_t n = epoch_length_;
  const int64_t b = options_.batch_size;
  num_batches_ = options_.drop_last ? n / b : (n + b - 1) / b;
  // Each worker holds one batch in the making; prefetch_batches more may wait finished.
  window_ = std::max<int64_t>(1, options_.prefetch_batches + options_.num_workers);

  workers_.reserve(options_.num_workers);
  for (int64_t i = 0; i < options_.num_workers; ++i) workers_.emplace_back([this] { work(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& t : workers_) t.join();
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  TORCH_CHECK(epoch >= 0, "Loader: epoch must be >= 0, got ", epoch);
  TORCH_CHECK(first_batch >= 0 && first_batch <= num_batches_, "Loader: first_batch must be in [0, ", num_batches_,
              "], got ", first_batch);
  auto plan = std::make_shared<Plan>();
  plan->epoch = epoch;
  std::vector<int64_t> permutation(dataset_->size());
  std::iota(permutation.begin(), permutation.end(), int64_t{0});
  if (options_.shuffle) {
    // Fisher-Yates with our own generator: the same permutation on every platform.
    SampleRng rng = SampleRng::derive(options_.seed, SampleRng::Stream::Shuffle, epoch, 0);
    for (int64_t i = static_cast<int64_t>(permutation.size()) - 1; i > 0; --i) {
      std::swap(permutation[i], permutation[rng.below(i + 1)]);
    }
  }
  // This rank's positions of the one-process order (each index repeated aug_repeats
  // times in a row); positions past its end wrap to the start (DistributedSampler's padding).
  const int64_t repeats = std::max<int64_t>(1, options_.aug_repeats);
  const int64_t available = static_cast<int64_t>(permutation.size()) * repeats;
  plan->order.resize(epoch_length_);
  for (int64_t i = 0; i < epoch_length_; ++i) {
    plan->order[i] = permutation[(global_position(i) % available) / repeats];
  }
  std::map<int64_t, Slot> abandoned;  // freed after the lock is released
  {
    std::lock_guard<std::mutex> lock(mutex_);
    plan_ = std::move(plan);
    next_claim_ = first_batch;
    next_yield_ = first_batch;
    failed_ = false;
    abandoned.swap(ready_);
  }
  work_ready_.notify_all();
}

std::optional<Batch> Loader::next() {
  if (!plan_) throw std::logic_error("Loader::next() called before start_epoch()");
  if (next_yield_ >= num_batches_) return std::nullopt;

  if (workers_.empty()) {
    try {
      return make_batch(*plan_, next_yield_++);
    } catch (...) {
      next_yield_ = num_batches_;
      throw;
    }
  }

  std::unique_lock<std::mutex> lock(mutex_);
  batch_ready_.wait(lock, [&] { return ready_.count(next_yield_) > 0; });
  Slot slot = std::move(ready_.extract(next_yield_).mapped());
  ++next_yield_;
  if (slot.error) {
    // End the epoch; late batches still in flight are dropped by the next start_epoch.
    next_yield_ = num_batches_;
    std::map<int64_t, Slot> abandoned;
    abandoned.swap(ready_);
    lock.unlock();
    std::rethrow_exception(slot.error);
  }
  lock.unlock();
  work_ready_.notify_one();  // the window moved by one: one more batch may be claimed
  return std::move(slot.batch);
}

void Loader::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [&] {
      return stopping_ || (plan_ && !failed_ && next_claim_ < num_batches_ && next_claim_ < next_yield_ + window_);
    });
    if (stopping_) return;
    std::shared_ptr<const Plan> plan = plan_;
    const int64_t index = next_claim_++;
    lock.unlock();

    Slot slot;
    try {
      slot.batch = make_batch(*plan, index);
    } catch (...) {
      slot.error = std::current_exception();
    }

    lock.lock();
    if (plan != plan_) {
      // start_epoch came in between: this batch belongs to an abandoned epoch.
      lock.unlock();
      slot = Slot{};
      lock.lock();
      continue;
    }
    if (slot.error) failed_ = true;
    ready_.emplace(index, std::move(slot));
    batch_ready_.notify_one();
  }
}

BadSampleReport Loader::take_bad_samples() {
  std::lock_guard<std::mutex> lock(bad_mutex_);
  BadSampleReport out = std::move(bad_samples_);
  bad_samples_ = BadSampleReport{};
  return out;
}

void log_bad_samples(Loader& loader, const std::string& when) {
  const BadSampleReport report = loader.take_bad_samples();
  if (report.count == 0) return;
  std::string examples;
  for (const auto& e : report.examples) examples += (examples.empty() ? "" : "; ") + e;
  spdlog::warn("{}: skipped {} unreadable image{} (data.on_bad_sample: skip), e.g. {}", when, report.count,
               report.count == 1 ? "" : "s", examples);
}

void Loader::note_bad_sample(const std::string& message) {
  constexpr size_t kExamples = 5;
  std::lock_guard<std::mutex> lock(bad_mutex_);
  ++bad_samples_.count;
  if (bad_samples_.examples.size() < kExamples) bad_samples_.examples.push_back(message);
}

Batch Loader::make_batch(const Plan& plan, int64_t index) {
  const int64_t first = index * options_.batch_size;
  const int64_t rows = std::min(options_.batch_size, static_cast<int64_t>(plan.order.size()) - first);
  const int64_t C = transform_.channels(), H = transform_.height(), W = transform_.width();
  const int64_t image_floats = transform_.output_floats();

  const auto pinned = at::TensorOptions().pinned_memory(options_.pin_memory);
  Batch batch{at::empty({rows, C, H, W}, pinned.dtype(at::kFloat)), at::empty({rows}, pinned.dtype(at::kLong)), {}};
  float* images = batch.images.data_ptr<float>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  const bool captions = dataset_->has_captions();
  thread_local Image image;  // one decode buffer per thread, reused
  int64_t kept = 0;
  for (int64_t k = 0; k < rows; ++k) {
    const int64_t position = first + k;
    const int64_t sample = plan.order[position];
    try {
      labels[kept] = dataset_->read(sample, image);
    } catch (const BadSample& bad) {
      if (!options_.skip_bad_samples) throw;
      note_bad_sample(bad.what());
      continue;
    }
    // The sample's own stream, from its one-process position: its augmentation is the
    // same whichever thread, rank or world size builds it.
    SampleRng rng =
        SampleRng::derive(options_.seed, SampleRng::Stream::Augment, plan.epoch, global_position(position));
    transform_(image, rng, images + kept * image_floats);  // writes straight into the batch
    if (captions) batch.captions.push_back(dataset_->caption(sample));
    ++kept;
  }
  if (kept == 0) {
    throw Error("batch " + std::to_string(index) + " of epoch " + std::to_string(plan.epoch),
                "none of its " + std::to_string(rows) + " images could be read (see the skipped-image report)");
  }
  if (kept < rows) {
    // Rows [0, kept) are filled; a leading slice of a contiguous tensor stays contiguous.
    batch.images = batch.images.narrow(0, 0, kept);
    batch.labels = batch.labels.narrow(0, 0, kept);
  }
  return batch;
}

}  // namespace tessera::data
