// Tests for the IDX reader, build_dataset and data::build, on small IDX files written here.
#include "tessera/data/idx.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "tessera/core/error.h"
#include "tessera/data/dataset.h"
#include "tessera/data/pipeline.h"
#include "fixtures/error_of.h"
#include "fixtures/idx_files.h"
#include "test_env.h"

namespace {

namespace fs = std::filesystem;
using tessera::Error;
using namespace tessera::data;

using tessera::testing::idx_bytes;
using tessera::testing::write_gz;
using tessera::testing::write_raw;

std::vector<uint8_t> ramp(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

using tessera::testing::error_of;

void expect_ramp_tensor(const at::Tensor& t, std::vector<int64_t> shape) {
  ASSERT_EQ(t.scalar_type(), at::kByte);
  ASSERT_EQ(t.sizes().vec(), shape);
  const std::vector<uint8_t> want = ramp(t.numel());
  const uint8_t* got = t.data_ptr<uint8_t>();
  for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(got[i], want[i]) << "at " << i;
}

TEST(Idx, ReadsRaw) {
  const fs::path p = tessera::testing::scratch_dir() / "images-idx3-ubyte";
  write_raw(p, idx_bytes({3, 2, 4}, ramp(24)));
  expect_ramp_tensor(read_idx(p.string()), {3, 2, 4});
}

TEST(Idx, ReadsGzip) {
  const fs::path dir = tessera::testing::scratch_dir();
  write_gz(dir / "images.gz", idx_bytes({3, 28, 28}, ramp(3 * 28 * 28)));
  write_gz(dir / "labels.gz", idx_bytes({5}, ramp(5)));
  expect_ramp_tensor(read_idx((dir / "images.gz").string()), {3, 28, 28});
  expect_ramp_tensor(read_idx((dir / "labels.gz").string()), {5});
}

TEST(Idx, MissingFileNamesPath) {
  const std::string p = (tessera::testing::scratch_dir() / "nope-idx1-ubyte").string();
  const std::string msg = error_of([&] { read_idx(p); });
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
}

TEST(Idx, BadMagic) {
  const fs::path p = tessera::testing::scratch_dir() / "bad";
  auto bytes = idx_bytes({4}, ramp(4));
  bytes[0] = 0x50;  // 'P', as in a PNG or PGM someone renamed
  write_raw(p, bytes);
  const std::string msg = error_of([&] { read_idx(p.string()); });
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad magic"), std::string::npos) << msg;
}

TEST(Idx, RejectsNonByteType) {
  const fs::path p = tessera::testing::scratch_dir() / "floats";
  write_raw(p, idx_bytes({2}, ramp(8), 0x0D));
  const std::string msg = error_of([&] { read_idx(p.string()); });
  EXPECT_NE(msg.find("0x0D"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unsigned byte"), std::string::npos) << msg;
}

TEST(Idx, TruncatedDataNamesFileAndOffset) {
  const fs::path dir = tessera::testing::scratch_dir();
  // 3 images of 4x4 = 48 data bytes promised after a 16-byte header; only 20 there.
  const auto bytes = idx_bytes({3, 4, 4}, ramp(20));
  write_raw(dir / "short", bytes);
  write_gz(dir / "short.gz", bytes);
  for (const char* name : {"short", "short.gz"}) {
    const std::string p = (dir / name).string();
    const std::string msg = error_of([&] { read_idx(p); });
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
    EXPECT_NE(msg.find("offset 36"), std::string::npos) << msg;
    EXPECT_NE(msg.find("48 bytes"), std::string::npos) << msg;
  }
}

TEST(Idx, TruncatedHeader) {
  const fs::path p = tessera::testing::scratch_dir() / "header";
  write_raw(p, {0, 0, 8, 3, 0, 0});
  const std::string msg = error_of([&] { read_idx(p.string()); });
  EXPECT_NE(msg.find("truncated IDX header"), std::string::npos) << msg;
}

TEST(Idx, TrailingGarbage) {
  const fs::path p = tessera::testing::scratch_dir() / "long";
  auto bytes = idx_bytes({2, 2}, ramp(4));
  bytes.push_back(0xAB);
  write_raw(p, bytes);
  const std::string msg = error_of([&] { read_idx(p.string()); });
  EXPECT_NE(msg.find("after the IDX data"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 16"), std::string::npos) << msg;
}

TEST(Idx, CorruptGzip) {
  const fs::path p = tessera::testing::scratch_dir() / "corrupt.gz";
  write_gz(p, idx_bytes({64, 8}, ramp(512)));
  std::vector<uint8_t> bytes(fs::file_size(p));
  std::ifstream(p, std::ios::binary).read(reinterpret_cast<char*>(bytes.data()), bytes.size());
  bytes[bytes.size() - 8] ^= 0xFF;  // the CRC-32 in the gzip trailer
  write_raw(p, bytes);
  const std::string msg = error_of([&] { read_idx(p.string()); });
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("gzip"), std::string::npos) << msg;
}

TEST(Idx, CutOffGzip) {
  const fs::path p = tessera::testing::scratch_dir() / "cut.gz";
  write_gz(p, idx_bytes({64, 8}, ramp(512)));
  fs::resize_file(p, fs::file_size(p) / 2);
  const std::string msg = error_of([&] { read_idx(p.string()); });
  EXPECT_NE(msg.find("gzip"), std::string::npos) << msg;
}

TEST(Idx, GzNameOnRawFile) {
  const fs::path p = tessera::testing::scratch_dir() / "plain.gz";
  write_raw(p, idx_bytes({4}, ramp(4)));
  const std::string msg = error_of([&] { read_idx(p.string()); });
  EXPECT_NE(msg.find("not gzip-compressed"), std::string::npos) << msg;
}

TEST(IdxPair, CountMismatch) {
  const fs::path dir = tessera::testing::scratch_dir();
  write_raw(dir / "images", idx_bytes({3, 2, 2}, ramp(12)));
  write_raw(dir / "labels", idx_bytes({4}, {0, 1, 2, 3}));
  const std::string msg = error_of([&] { read_idx_pair((dir / "images").string(), (dir / "labels").string(), 10); });
  EXPECT_NE(msg.find((dir / "labels").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 labels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 images"), std::string::npos) << msg;
}

TEST(IdxPair, LabelOutOfRange) {
  const fs::path dir = tessera::testing::scratch_dir();
  write_raw(dir / "images", idx_bytes({4, 2, 2}, ramp(16)));
  write_raw(dir / "labels", idx_bytes({4}, {1, 9, 10, 3}));
  const std::string msg = error_of([&] { read_idx_pair((dir / "images").string(), (dir / "labels").string(), 10); });
  EXPECT_NE(msg.find((dir / "labels").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 10 at record 2"), std::string::npos) << msg;
}

TEST(IdxPair, ReadsImagesAndInt64Labels) {
  const fs::path dir = tessera::testing::scratch_dir();
  write_raw(dir / "images", idx_bytes({4, 2, 2}, ramp(16)));
  write_gz(dir / "labels.gz", idx_bytes({4}, {1, 9, 0, 3}));
  IdxPair pair = read_idx_pair((dir / "images").string(), (dir / "labels.gz").string(), 10);
  EXPECT_EQ(pair.images.sizes().vec(), (std::vector<int64_t>{4, 2, 2}));
  ASSERT_EQ(pair.labels.scalar_type(), at::kLong);
  EXPECT_EQ(pair.labels[1].item<int64_t>(), 9);
}

// A dataset folder like /usr/share/datasets/fashion-mnist: train files raw, t10k gzip,
// image i filled with pixel value i, label i % 10.
void write_dataset(const fs::path& root, int64_t n_train, int64_t n_eval, uint32_t rows = 28, uint32_t cols = 28) {
  const auto images = [&](int64_t n) {
    std::vector<uint8_t> data;
    for (int64_t i = 0; i < n; ++i) data.insert(data.end(), rows * cols, static_cast<uint8_t>(i));
    return idx_bytes({static_cast<uint32_t>(n), rows, cols}, data);
  };
  const auto labels = [&](int64_t n) {
    std::vector<uint8_t> data;
    for (int64_t i = 0; i < n; ++i) data.push_back(static_cast<uint8_t>(i % 10));
    return idx_bytes({static_cast<uint32_t>(n)}, data);
  };
  write_raw(root / "train-images-idx3-ubyte", images(n_train));
  write_raw(root / "train-labels-idx1-ubyte", labels(n_train));
  write_gz(root / "t10k-images-idx3-ubyte.gz", images(n_eval));
  write_gz(root / "t10k-labels-idx1-ubyte.gz", labels(n_eval));
}

TEST(BuildDataset, MnistFromRawAndGzip) {
  const fs::path root = tessera::testing::scratch_dir();
  write_dataset(root, 12, 7);
  tessera::config::DataConfig cfg;
  cfg.dataset = tessera::config::DatasetKind::MNIST;
  cfg.root = root.string();

  auto train = build_dataset(cfg, Split::Train);
  auto eval = build_dataset(cfg, Split::Eval);
  EXPECT_EQ(train->size(), 12);
  EXPECT_EQ(eval->size(), 7);
  EXPECT_EQ(train->fixed_size(), (std::array<int64_t, 3>{1, 28, 28}));
  ASSERT_EQ(train->num_classes(), 10);
  EXPECT_EQ(train->class_names()[0], "0");
  EXPECT_EQ(train->class_names()[9], "9");

  Image image;
  EXPECT_EQ(train->read(11, image), 1);
  EXPECT_EQ(image.pixels.front(), 11);
  EXPECT_EQ(image.pixels.back(), 11);
  EXPECT_EQ(eval->read(6, image), 6);
  EXPECT_EQ(image.pixels[400], 6);

  cfg.limit_train = 5;
  cfg.limit_eval = 100;  // more than there are: all of them
  EXPECT_EQ(build_dataset(cfg, Split::Train)->size(), 5);
  EXPECT_EQ(build_dataset(cfg, Split::Eval)->size(), 7);
}

TEST(BuildDataset, FashionMnistClassNames) {
  const fs::path root = tessera::testing::scratch_dir();
  write_dataset(root, 3, 3);
  tessera::config::DataConfig cfg;
  cfg.dataset = tessera::config::DatasetKind::FashionMNIST;
  cfg.root = root.string();
  const auto names = build_dataset(cfg, Split::Train)->class_names();
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names[0], "T-shirt/top");
  EXPECT_EQ(names[6], "Shirt");
  EXPECT_EQ(names[9], "Ankle boot");
}

TEST(BuildDataset, MissingFilesSayHowToGetThem) {
  tessera::config::DataConfig cfg;
  cfg.root = (tessera::testing::scratch_dir() / "empty").string();
  const std::string msg = error_of([&] { build_dataset(cfg, Split::Train); });
  EXPECT_NE(msg.find(cfg.root), std::string::npos) << msg;
  EXPECT_NE(msg.find("train-images-idx3-ubyte"), std::string::npos) << msg;
  EXPECT_NE(msg.find("apt-get install dataset-fashion-mnist"), std::string::npos) << msg;
}

TEST(BuildPipeline, FromDataConfig) {
  const fs::path root = tessera::testing::scratch_dir();
  write_dataset(root, 50, 21, 6, 5);
  tessera::config::DataConfig cfg;
  cfg.dataset = tessera::config::DatasetKind::MNIST;
  cfg.root = root.string();
  cfg.batch_size = 16;
  cfg.eval_batch_size = 8;
  cfg.num_workers = 1;
  cfg.augment.random_crop_padding = 1;
  cfg.augment.hflip = 0.5;

  Pipeline p = build(cfg, 7);
  EXPECT_EQ(p.num_classes, 10);
  EXPECT_EQ(p.class_names.size(), 10u);
  EXPECT_EQ(p.channels, 1);
  EXPECT_EQ(p.height, 6);
  EXPECT_EQ(p.width, 5);
  EXPECT_EQ(p.train->size(), 3);  // 50 / 16, drop_last
  EXPECT_EQ(p.eval->size(), 3);   // ceil(21 / 8)

  p.eval->start_epoch(0);
  int64_t seen = 0;
  while (auto batch = p.eval->next()) {
    EXPECT_EQ(batch->images.sizes().vec(), (std::vector<int64_t>{batch->labels.size(0), 1, 6, 5}));
    // Eval is in dataset order and only normalized: image i is (i / 255 - 0.5) / 0.5 everywhere.
    for (int64_t k = 0; k < batch->labels.size(0); ++k, ++seen) {
      EXPECT_EQ(batch->labels[k].item<int64_t>(), seen % 10);
      EXPECT_FLOAT_EQ(batch->images[k][0][3][2].item<float>(), (seen / 255.0f - 0.5f) / 0.5f);
    }
  }
  EXPECT_EQ(seen, 21);
}

TEST(BuildPipeline, RejectsBadSettings) {
  const fs::path root = tessera::testing::scratch_dir();
  write_dataset(root, 10, 4, 4, 4);
  tessera::config::DataConfig cfg;
  cfg.root = root.string();

  cfg.batch_size = 11;  // more than the 10 training samples: no batch with drop_last
  EXPECT_NE(error_of([&] { build(cfg, 0); }).find("data.batch_size"), std::string::npos);
  cfg.batch_size = 4;
  cfg.mean = {0.1, 0.2, 0.3};  // three values for one channel
  EXPECT_NE(error_of([&] { build(cfg, 0); }).find("data.mean"), std::string::npos);
  // Ranges of single keys (num_workers >= 0, ...) are config::load's to check: see config_test.
}

}  // namespace
