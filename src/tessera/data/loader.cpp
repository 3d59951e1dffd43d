// The batch loader: worker threads, a bounded window of batches, a reorder buffer.
#include "tessera/data/loader.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace tessera::data {

Loader::Loader(std::shared_ptr<const Dataset> dataset, Transform transform, LoaderOptions options)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), options_(options) {
  TORCH_CHECK(dataset_, "Loader: no dataset");
  TORCH_CHECK(options_.batch_size > 0, "Loader: batch_size must be positive, got ", options_.batch_size);
  TORCH_CHECK(options_.num_workers >= 0, "Loader: num_workers must be >= 0, got ", options_.num_workers);
  TORCH_CHECK(options_.prefetch_batches >= 0, "Loader: prefetch_batches must be >= 0, got ",
              options_.prefetch_batches);
  TORCH_CHECK(transform_.channels() == dataset_->channels() && transform_.height() == dataset_->height() &&
                  transform_.width() == dataset_->width(),
              "Loader: transform is for ", transform_.channels(), "x", transform_.height(), "x", transform_.width(),
              " images, the dataset has ", dataset_->channels(), "x", dataset_->height(), "x", dataset_->width());

  const int64_t n = dataset_->size();
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
  plan->order.resize(dataset_->size());
  std::iota(plan->order.begin(), plan->order.end(), int64_t{0});
  if (options_.shuffle) {
    // Fisher-Yates with our own generator: the same permutation on every platform.
    SampleRng rng = SampleRng::derive(options_.seed, SampleRng::Stream::Shuffle, epoch, 0);
    for (int64_t i = static_cast<int64_t>(plan->order.size()) - 1; i > 0; --i) {
      std::swap(plan->order[i], plan->order[rng.below(i + 1)]);
    }
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

Batch Loader::make_batch(const Plan& plan, int64_t index) const {
  const int64_t first = index * options_.batch_size;
  const int64_t rows = std::min(options_.batch_size, static_cast<int64_t>(plan.order.size()) - first);
  const int64_t C = dataset_->channels(), H = dataset_->height(), W = dataset_->width();
  const int64_t image_floats = C * H * W;

  Batch batch{at::empty({rows, C, H, W}, at::kFloat), at::empty({rows}, at::kLong)};  // (B, C, H, W), (B)
  float* images = batch.images.data_ptr<float>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  std::vector<uint8_t> pixels(dataset_->image_bytes());
  for (int64_t k = 0; k < rows; ++k) {
    const int64_t position = first + k;
    labels[k] = dataset_->read(plan.order[position], pixels.data());
    // The sample's own stream: its augmentation is the same whichever thread builds it.
    SampleRng rng = SampleRng::derive(options_.seed, SampleRng::Stream::Augment, plan.epoch, position);
    transform_(pixels.data(), rng, images + k * image_floats);  // writes straight into the batch
  }
  return batch;
}

}  // namespace tessera::data
