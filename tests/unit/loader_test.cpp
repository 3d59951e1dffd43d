// Tests for the batch loader: coverage, shuffling, determinism across worker counts,
// drop_last, errors from workers, skipped unreadable samples, repeated augmentation,
// images of varying size, captions, shutdown mid-epoch, data-parallel shards; plus a
// printed throughput figure.
#include "tessera/data/loader.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <thread>

#include "tessera/core/error.h"

namespace {

using namespace tessera::data;
using Clock = std::chrono::steady_clock;

// n images of (C, H, W); image i carries its index in its first two pixels
// (low byte, high byte), the rest is a pattern; label i % 10.
std::shared_ptr<InMemoryDataset> indexed_dataset(int64_t n, int64_t C = 1, int64_t H = 4, int64_t W = 4) {
  at::Tensor images = at::empty({n, C, H, W}, at::kByte);  // (N, C, H, W)
  uint8_t* px = images.data_ptr<uint8_t>();
  const int64_t per = C * H * W;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < per; ++k) px[i * per + k] = static_cast<uint8_t>((i * 31 + k * 7) & 0xFF);
    px[i * per + 0] = static_cast<uint8_t>(i & 0xFF);
    px[i * per + 1] = static_cast<uint8_t>(i >> 8);
  }
  at::Tensor labels = at::arange(n, at::kLong).remainder(10);
  std::vector<std::string> names;
  for (int c = 0; c < 10; ++c) names.push_back(std::to_string(c));
  return std::make_shared<InMemoryDataset>(images, labels, names);
}

// A spec whose output is the dataset's own size.
TransformSpec spec_for(const Dataset& d) {
  const auto [c, h, w] = *d.fixed_size();
  TransformSpec spec;
  spec.channels = c;
  spec.height = h;
  spec.width = w;
  return spec;
}

// mean 0, std 1/255: the output pixel is the input byte, so sample ids can be read back.
SampleTransform identity(const Dataset& d) {
  TransformSpec spec = spec_for(d);
  spec.mean = {0.0};
  spec.std = {1.0 / 255.0};
  return SampleTransform(spec);
}

SampleTransform augmenting(const Dataset& d) {
  TransformSpec spec = spec_for(d);
  spec.crop_padding = 2;
  spec.hflip = 0.5;
  spec.mean = {0.5};
  spec.std = {0.25};
  return SampleTransform(spec);
}

LoaderOptions options(int64_t batch, bool shuffle, bool drop_last, int64_t workers, uint64_t seed = 0) {
  LoaderOptions o;
  o.batch_size = batch;
  o.shuffle = shuffle;
  o.drop_last = drop_last;
  o.num_workers = workers;
  o.prefetch_batches = 2;
  o.seed = seed;
  return o;
}

std::vector<Batch> epoch_batches(Loader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

// The dataset index of every sample of an epoch, in the order they came (identity transform).
std::vector<int64_t> epoch_ids(Loader& loader, int64_t epoch) {
  std::vector<int64_t> ids;
  for (const Batch& b : epoch_batches(loader, epoch)) {
    at::Tensor flat = b.images.flatten(1);  // (B, C*H*W)
    for (int64_t k = 0; k < b.labels.size(0); ++k) {
      const int64_t id = std::lround(flat[k][0].item<float>()) + 256 * std::lround(flat[k][1].item<float>());
      EXPECT_EQ(b.labels[k].item<int64_t>(), id % 10) << "label does not travel with its image";
      ids.push_back(id);
    }
  }
  return ids;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), int64_t{0});
  return v;
}

TEST(Loader, BatchLayout) {
  auto d = indexed_dataset(20, 3, 5, 6);
  Loader loader(d, identity(*d), options(8, true, false, 1));
  loader.start_epoch(0);
  auto b = loader.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->images.scalar_type(), at::kFloat);
  EXPECT_EQ(b->images.sizes().vec(), (std::vector<int64_t>{8, 3, 5, 6}));
  EXPECT_TRUE(b->images.is_contiguous());
  EXPECT_EQ(b->labels.scalar_type(), at::kLong);
  EXPECT_EQ(b->labels.sizes().vec(), (std::vector<int64_t>{8}));
}

TEST(Loader, EverySampleOncePerEpoch) {
  auto d = indexed_dataset(103);
  for (int64_t workers : {0, 2}) {
    Loader loader(d, identity(*d), options(8, true, false, workers));
    EXPECT_EQ(loader.size(), 13);
    for (int64_t epoch : {0, 1, 2}) {
      std::vector<int64_t> ids = epoch_ids(loader, epoch);
      std::sort(ids.begin(), ids.end());
      EXPECT_EQ(ids, iota(103)) << "workers " << workers << " epoch " << epoch;
    }
  }
}

TEST(Loader, ShuffleDiffersByEpochAndRepeatsOnResume) {
  auto d = indexed_dataset(200);
  Loader loader(d, identity(*d), options(10, true, true, 2, 5));
  const auto e0 = epoch_ids(loader, 0);
  const auto e1 = epoch_ids(loader, 1);
  EXPECT_NE(e0, e1);
  EXPECT_NE(e0, iota(200));

  // A resumed run: a fresh loader with the same seed starting at epoch 1.
  Loader resumed(d, identity(*d), options(10, true, true, 0, 5));
  EXPECT_EQ(epoch_ids(resumed, 1), e1);

  Loader other_seed(d, identity(*d), options(10, true, true, 0, 6));
  EXPECT_NE(epoch_ids(other_seed, 1), e1);
}

TEST(Loader, IdenticalBatchesForAnyWorkerCount) {
  auto d = indexed_dataset(203, 1, 12, 12);
  std::vector<std::vector<Batch>> runs;
  for (int64_t workers : {0, 1, 3}) {
    for (int64_t prefetch : {1, 4}) {
      LoaderOptions o = options(16, true, true, workers, 11);
      o.prefetch_batches = prefetch;
      Loader loader(d, augmenting(*d), o);
      std::vector<Batch> all = epoch_batches(loader, 0);
      for (Batch& b : epoch_batches(loader, 1)) all.push_back(std::move(b));
      runs.push_back(std::move(all));
    }
  }
  ASSERT_EQ(runs[0].size(), 2u * (203 / 16));
  for (size_t r = 1; r < runs.size(); ++r) {
    ASSERT_EQ(runs[r].size(), runs[0].size());
    for (size_t i = 0; i < runs[0].size(); ++i) {
      EXPECT_TRUE(at::equal(runs[r][i].images, runs[0][i].images)) << "run " << r << " batch " << i;
      EXPECT_TRUE(at::equal(runs[r][i].labels, runs[0][i].labels)) << "run " << r << " batch " << i;
    }
  }
}

TEST(Loader, AugmentationChangesAcrossEpochs) {
  auto d = indexed_dataset(64, 1, 12, 12);
  Loader loader(d, augmenting(*d), options(64, false, false, 0));
  const auto e0 = epoch_batches(loader, 0);
  const auto e1 = epoch_batches(loader, 1);
  // Same samples in the same order (no shuffle), different crops and flips.
  EXPECT_TRUE(at::equal(e0[0].labels, e1[0].labels));
  EXPECT_FALSE(at::equal(e0[0].images, e1[0].images));
}

TEST(Loader, DropLastLeavesOutThePartialBatch) {
  auto d = indexed_dataset(103);
  Loader loader(d, identity(*d), options(10, true, true, 2));
  EXPECT_EQ(loader.size(), 10);
  const auto batches = epoch_batches(loader, 0);
  ASSERT_EQ(batches.size(), 10u);
  for (const Batch& b : batches) EXPECT_EQ(b.labels.size(0), 10);
  auto ids = epoch_ids(loader, 0);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
  EXPECT_EQ(ids.size(), 100u);
}

TEST(Loader, EvalKeepsOrderAndThePartialBatch) {
  auto d = indexed_dataset(103);
  for (int64_t workers : {0, 3}) {
    Loader loader(d, identity(*d), options(10, false, false, workers));
    EXPECT_EQ(loader.size(), 11);
    const auto batches = epoch_batches(loader, 0);
    ASSERT_EQ(batches.size(), 11u);
    EXPECT_EQ(batches.back().labels.size(0), 3);
    EXPECT_EQ(epoch_ids(loader, 4), iota(103));  // any epoch: same order
  }
}

// Throws for one index, like a corrupt record in a file.
class FailingDataset : public InMemoryDataset {
 public:
  FailingDataset(const InMemoryDataset& base, int64_t bad)
      : InMemoryDataset(base.images(), base.labels(), base.class_names()), bad_(bad) {}
  int64_t read(int64_t index, Image& image) const override {
    if (index == bad_) throw tessera::Error("broken.bin (offset 1234)", "record " + std::to_string(index) + " is bad");
    return InMemoryDataset::read(index, image);
  }

 private:
  int64_t bad_;
};

TEST(Loader, WorkerExceptionReachesTheConsumer) {
  auto base = indexed_dataset(100);
  auto d = std::make_shared<FailingDataset>(*base, 57);
  for (int64_t workers : {0, 1, 3}) {
    Loader loader(d, identity(*d), options(10, false, false, workers));
    for (int64_t epoch : {0, 1}) {  // the loader is usable again after a failed epoch
      loader.start_epoch(epoch);
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(loader.next()) << "batch " << i;
      try {
        loader.next();
        ADD_FAILURE() << "batch 5 holds the bad record and should throw (workers " << workers << ")";
      } catch (const tessera::Error& e) {
        EXPECT_NE(std::string(e.what()).find("record 57 is bad"), std::string::npos) << e.what();
      }
      EXPECT_FALSE(loader.next()) << "the epoch ends at the error";
    }
  }
}

// Slow reads, so workers are busy when the loader is destroyed.
class SlowDataset : public InMemoryDataset {
 public:
  explicit SlowDataset(const InMemoryDataset& base)
      : InMemoryDataset(base.images(), base.labels(), base.class_names()) {}
  int64_t read(int64_t index, Image& image) const override {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    return InMemoryDataset::read(index, image);
  }
};

TEST(Loader, DestroyMidEpochDoesNotHang) {
  auto d = std::make_shared<SlowDataset>(*indexed_dataset(2000));
  const auto start = Clock::now();
  {
    Loader loader(d, identity(*d), options(16, true, true, 3));
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next());
  }
  { Loader never_started(d, identity(*d), options(16, true, true, 3)); }
  {
    Loader not_consumed(d, identity(*d), options(16, true, true, 3));
    not_consumed.start_epoch(0);
  }
  // Each worker finishes at most the batch in hand (16 reads x 0.5 ms).
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 2.0);
}

TEST(Loader, RestartMidEpoch) {
  auto d = indexed_dataset(150);
  Loader loader(d, augmenting(*d), options(10, true, true, 2, 3));
  loader.start_epoch(0);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(loader.next());
  const auto restarted = epoch_batches(loader, 1);

  Loader fresh(d, augmenting(*d), options(10, true, true, 0, 3));
  const auto want = epoch_batches(fresh, 1);
  ASSERT_EQ(restarted.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(at::equal(restarted[i].images, want[i].images)) << i;
}

// Index `bad` does not decode, like a corrupt JPEG in a folder.
class OneBadImageDataset : public InMemoryDataset {
 public:
  OneBadImageDataset(const InMemoryDataset& base, int64_t bad)
      : InMemoryDataset(base.images(), base.labels(), base.class_names()), bad_(bad) {}
  int64_t read(int64_t index, Image& image) const override {
    if (index == bad_) throw BadSample("photos/cat/" + std::to_string(index) + ".jpg", "not a JPEG file");
    return InMemoryDataset::read(index, image);
  }

 private:
  int64_t bad_;
};

TEST(Loader, UnreadableImageIsSkippedAndCounted) {
  auto d = std::make_shared<OneBadImageDataset>(*indexed_dataset(100), 57);
  for (int64_t workers : {0, 2}) {
    Loader loader(d, identity(*d), options(10, false, false, workers));
    for (int64_t epoch : {0, 1}) {
      auto ids = epoch_ids(loader, epoch);
      auto want = iota(100);
      want.erase(want.begin() + 57);
      EXPECT_EQ(ids, want);  // every other sample, in order; batch 5 has 9 rows
      const auto report = loader.take_bad_samples();
      EXPECT_EQ(report.count, 1);
      ASSERT_EQ(report.examples.size(), 1u);
      EXPECT_NE(report.examples[0].find("photos/cat/57.jpg: not a JPEG file"), std::string::npos)
          << report.examples[0];
      EXPECT_EQ(loader.take_bad_samples().count, 0) << "the report is taken once";
    }
  }
}

TEST(Loader, UnreadableImageFailsWhenTheRecipeSaysSo) {
  auto d = std::make_shared<OneBadImageDataset>(*indexed_dataset(100), 57);
  LoaderOptions o = options(10, false, false, 2);
  o.skip_bad_samples = false;
  Loader loader(d, identity(*d), o);
  loader.start_epoch(0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(loader.next());
  try {
    loader.next();
    ADD_FAILURE() << "batch 5 holds the unreadable image and should throw";
  } catch (const BadSample& e) {
    EXPECT_NE(std::string(e.what()).find("photos/cat/57.jpg"), std::string::npos) << e.what();
  }
}

TEST(Loader, RepeatedAugmentationLikeTimm) {
  // timm's RepeatAugSampler on one process: a permutation with every index repeated
  // `repeats` times in a row, cut to floor(N / 256) * 256 positions.
  auto d = indexed_dataset(600, 1, 12, 12);
  LoaderOptions o = options(32, true, true, 2, 4);
  o.aug_repeats = 3;
  Loader loader(d, identity(*d), o);
  EXPECT_EQ(loader.num_samples(), 512);
  EXPECT_EQ(loader.size(), 16);
  const auto ids = epoch_ids(loader, 0);
  ASSERT_EQ(ids.size(), 512u);
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    if (i % 3 != 2) EXPECT_EQ(ids[i], ids[i + 1]) << i;  // copies side by side
    else EXPECT_NE(ids[i], ids[i + 1]) << i;
  }
  std::vector<int64_t> distinct = ids;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  EXPECT_EQ(distinct.size(), 171u);  // ceil(512 / 3)

  // Each copy gets its own augmentation.
  Loader augmented(d, augmenting(*d), o);
  augmented.start_epoch(0);
  const auto batch = *augmented.next();
  int differing = 0;
  for (int k = 0; k < 30; k += 3) differing += !at::equal(batch.images[k], batch.images[k + 1]);
  EXPECT_GE(differing, 5);
}

LoaderOptions shard_options(int64_t batch, int64_t rank, int64_t world, ShardRemainder remainder) {
  LoaderOptions o = options(batch, true, false, 1, 9);
  o.rank = rank;
  o.world_size = world;
  o.shard_remainder = remainder;
  return o;
}

TEST(Loader, ShardsSplitTheEpochLikeDistributedSampler) {
  auto d = indexed_dataset(10);
  Loader whole(d, identity(*d), options(10, true, false, 1, 9));
  const auto order = epoch_ids(whole, 2);
  struct Expect {
    ShardRemainder remainder;
    std::vector<int64_t> per_rank;  // samples of ranks 0, 1, 2
  };
  for (const auto& e : {Expect{ShardRemainder::Pad, {4, 4, 4}}, Expect{ShardRemainder::Drop, {3, 3, 3}},
                        Expect{ShardRemainder::Uneven, {4, 3, 3}}}) {
    for (int64_t r = 0; r < 3; ++r) {
      Loader shard(d, identity(*d), shard_options(3, r, 3, e.remainder));
      EXPECT_EQ(shard.num_samples(), e.per_rank[r]);
      const auto ids = epoch_ids(shard, 2);
      ASSERT_EQ(static_cast<int64_t>(ids.size()), e.per_rank[r]);
      // Rank r reads positions r, r + 3, ...; past the end, the order starts again.
      for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], order[(r + 3 * i) % 10]) << "rank " << r << " " << i;
    }
  }
}

TEST(Loader, RanksTogetherReadTheOneProcessBatches) {
  // Batch i of 3 ranks with 2 samples each is batch i of one process with 6, the same
  // samples with the same augmentation: row 3k + r of the global batch is rank r's row k.
  auto d = indexed_dataset(48, 1, 8, 8);
  LoaderOptions global_options = options(6, true, false, 2, 9);
  Loader global(d, augmenting(*d), global_options);
  std::vector<std::unique_ptr<Loader>> ranks;
  for (int64_t r = 0; r < 3; ++r) {
    ranks.push_back(std::make_unique<Loader>(d, augmenting(*d), shard_options(2, r, 3, ShardRemainder::Pad)));
  }
  for (int64_t epoch : {0, 3}) {
    const auto expected = epoch_batches(global, epoch);
    std::vector<std::vector<Batch>> got;
    for (auto& l : ranks) got.push_back(epoch_batches(*l, epoch));
    ASSERT_EQ(expected.size(), 8u);
    for (size_t i = 0; i < expected.size(); ++i) {
      for (int64_t row = 0; row < 6; ++row) {
        const Batch& b = got[row % 3][i];
        EXPECT_TRUE(at::equal(b.images[row / 3], expected[i].images[row])) << "epoch " << epoch << " batch " << i;
        EXPECT_EQ(b.labels[row / 3].item<int64_t>(), expected[i].labels[row].item<int64_t>());
      }
    }
  }
  // Resumed mid-epoch, a rank goes on with the batches it would have read.
  const auto full = epoch_batches(*ranks[1], 5);
  ranks[1]->start_epoch(5, 6);
  for (size_t i = 6; i < full.size(); ++i) EXPECT_TRUE(at::equal(ranks[1]->next()->images, full[i].images));
  EXPECT_FALSE(ranks[1]->next());
}

TEST(Loader, RepeatedAugmentationShardsLikeTimm) {
  // timm's RepeatAugSampler with num_replicas = 2: rank r takes positions r, r + 2, ...
  // of the repeated order and keeps floor(256 / 2) of them.
  auto d = indexed_dataset(300);
  LoaderOptions one = options(16, true, false, 1, 4);
  one.aug_repeats = 3;
  Loader whole(d, identity(*d), one);
  const auto order = epoch_ids(whole, 1);
  ASSERT_EQ(order.size(), 256u);
  for (int64_t r = 0; r < 2; ++r) {
    LoaderOptions o = one;
    o.rank = r;
    o.world_size = 2;
    Loader shard(d, identity(*d), o);
    EXPECT_EQ(shard.num_samples(), 128);
    const auto ids = epoch_ids(shard, 1);
    ASSERT_EQ(ids.size(), 128u);
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], order[r + 2 * i]) << "rank " << r << " " << i;
  }
}

TEST(Loader, ShardOptionsAreChecked) {
  auto d = indexed_dataset(10);
  EXPECT_THROW(Loader(d, identity(*d), shard_options(2, 2, 2, ShardRemainder::Pad)), c10::Error);
  EXPECT_THROW(Loader(d, identity(*d), shard_options(2, 0, 0, ShardRemainder::Pad)), c10::Error);
}

// Images of three sizes and captions, like photos listed in a CSV.
class PhotoDataset : public Dataset {
 public:
  int64_t size() const override { return 10; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int64_t read(int64_t index, Image& image) const override {
    image.resize(3, 20 + 7 * (index % 3), 30 - 4 * (index % 3));
    std::fill(image.pixels.begin(), image.pixels.end(), static_cast<uint8_t>(10 * index));
    return -1;
  }
  bool has_captions() const override { return true; }
  std::string caption(int64_t index) const override { return "photo number " + std::to_string(index); }

 private:
  std::vector<std::string> names_;
};

TEST(Loader, ImagesOfAnySizeWithCaptions) {
  auto d = std::make_shared<PhotoDataset>();
  TransformSpec spec;
  spec.height = spec.width = 16;  // resize the shorter side, center-crop
  spec.mean = {0.0};
  spec.std = {1.0 / 255.0};
  Loader loader(d, SampleTransform(spec), options(4, false, false, 2));
  const auto batches = epoch_batches(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  int64_t index = 0;
  for (const Batch& b : batches) {
    EXPECT_EQ(b.images.size(1), 3);
    EXPECT_EQ(b.images.size(2), 16);
    EXPECT_EQ(b.images.size(3), 16);
    ASSERT_EQ(b.captions.size(), static_cast<size_t>(b.labels.size(0)));
    for (int64_t k = 0; k < b.labels.size(0); ++k, ++index) {
      EXPECT_EQ(b.labels[k].item<int64_t>(), -1);
      EXPECT_EQ(b.captions[k], "photo number " + std::to_string(index));
      EXPECT_NEAR(b.images[k].mean().item<float>(), 10.0f * index, 1e-3);  // a flat image stays flat
    }
  }
}

TEST(Loader, NextBeforeStartEpochIsAnError) {
  auto d = indexed_dataset(10);
  Loader loader(d, identity(*d), options(4, false, false, 0));
  EXPECT_THROW(loader.next(), std::logic_error);
}

// Not a check: prints how fast Fashion-MNIST-shaped batches are made (recipe-like
// augmentation: padding 2, flip 0.5), for the notes on loader speed.
TEST(Loader, Throughput) {
  const int64_t n = 60000;
  at::Tensor images = at::randint(0, 256, {n, 1, 28, 28}, at::kByte);  // (N, 1, 28, 28)
  at::Tensor labels = at::randint(0, 10, {n}, at::kLong);
  std::vector<std::string> names(10, "c");
  auto d = std::make_shared<InMemoryDataset>(images, labels, names);
  for (int64_t workers : {0, 1, 2}) {
    LoaderOptions o = options(128, true, true, workers, 1);
    o.prefetch_batches = 4;
    Loader loader(d, augmenting(*d), o);
    epoch_batches(loader, 0);  // warm-up: page in the dataset, start the threads
    const auto start = Clock::now();
    int64_t seen = 0;
    loader.start_epoch(1);
    while (auto b = loader.next()) seen += b->labels.size(0);
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("[ loader   ] %lld workers: %lld 28x28 images (crop+flip+normalize) in %.3f s = %.0f images/s\n",
                static_cast<long long>(workers), static_cast<long long>(seen), s, seen / s);
  }
}

}  // namespace
