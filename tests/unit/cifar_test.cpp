// Tests for the CIFAR-10 / CIFAR-100 binary readers and their build_dataset / data::build path.
#include "tessera/data/cifar.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "fixtures/error_of.h"
#include "fixtures/cifar_files.h"
#include "tessera/core/error.h"
#include "tessera/data/dataset.h"
#include "tessera/data/pipeline.h"
#include "test_env.h"

namespace {

namespace fs = std::filesystem;
using namespace tessera::data;
using tessera::testing::cifar_pixel;
using tessera::testing::scratch_dir;

using tessera::testing::error_of;

void expect_record(const CifarSplit& split, int64_t n, int64_t record) {
  auto image = split.images[n];
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t y : {0, 13, 31}) {
      for (int64_t x : {0, 20, 31}) {
        ASSERT_EQ(image[c][y][x].item<int64_t>(), cifar_pixel(record, c, y, x))
            << "sample " << n << " channel " << c << " at " << y << "," << x;
      }
    }
  }
}

TEST(Cifar10, ReadsAllTrainingBatchesInOrderAndTheTestBatch) {
  const auto dir = scratch_dir() / "cifar-10-batches-bin";
  tessera::testing::write_cifar10(dir, 3, 4);
  const auto train = read_cifar10(dir.string(), true);
  ASSERT_EQ(train.images.sizes(), (at::IntArrayRef{15, 3, 32, 32}));
  EXPECT_EQ(train.images.scalar_type(), at::kByte);
  ASSERT_EQ(train.labels.size(0), 15);
  for (int64_t n = 0; n < 15; ++n) {
    EXPECT_EQ(train.labels[n].item<int64_t>(), n % 10);
    expect_record(train, n, n);  // data_batch_1 first, data_batch_5 last
  }
  EXPECT_EQ(train.class_names, tessera::testing::cifar10_names());

  const auto test = read_cifar10(dir.string(), false);
  ASSERT_EQ(test.images.size(0), 4);
  expect_record(test, 3, 3);
  EXPECT_EQ(test.labels[3].item<int64_t>(), 3);
}

TEST(Cifar10, TruncatedFileNamesTheFileAndTheIncompleteRecord) {
  const auto dir = scratch_dir();
  tessera::testing::write_cifar10(dir, 3, 2);
  fs::resize_file(dir / "data_batch_4.bin", 3073 * 2 + 100);
  const auto message = error_of([&] { read_cifar10(dir.string(), true); });
  EXPECT_NE(message.find("data_batch_4.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("record 2 is incomplete"), std::string::npos) << message;
}

TEST(Cifar10, LabelOutOfRangeNamesTheRecord) {
  const auto dir = scratch_dir();
  tessera::testing::write_cifar10(dir, 2, 3);
  tessera::testing::write_cifar_records(dir / "test_batch.bin", {{1}, {10}, {2}}, 0);
  const auto message = error_of([&] { read_cifar10(dir.string(), false); });
  EXPECT_NE(message.find("test_batch.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("record 1 has label 10"), std::string::npos) << message;
}

TEST(Cifar10, MissingFilesAreNamed) {
  const auto dir = scratch_dir();
  tessera::testing::write_cifar10(dir, 2, 2);
  fs::remove(dir / "data_batch_3.bin");
  auto message = error_of([&] { read_cifar10(dir.string(), true); });
  EXPECT_NE(message.find("data_batch_3.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
  EXPECT_NE(message.find("bash data/prepare_cifar.sh cifar10"), std::string::npos) << message;

  fs::remove(dir / "batches.meta.txt");
  message = error_of([&] { read_cifar10(dir.string(), false); });
  EXPECT_NE(message.find("batches.meta.txt"), std::string::npos) << message;

  tessera::testing::write_lines(dir / "batches.meta.txt", {"cat", "dog"});
  message = error_of([&] { read_cifar10(dir.string(), false); });
  EXPECT_NE(message.find("names 2 classes, expected 10"), std::string::npos) << message;
}

TEST(Cifar100, FineAndCoarseLabels) {
  const auto dir = scratch_dir() / "cifar-100-binary";
  fs::create_directories(dir);
  tessera::testing::write_cifar_records(dir / "train.bin", {{19, 99}, {0, 5}, {7, 42}}, 0);
  tessera::testing::write_cifar_records(dir / "test.bin", {{3, 4}}, 0);
  std::vector<std::string> fine, coarse;
  for (int i = 0; i < 100; ++i) fine.push_back("fine" + std::to_string(i));
  for (int i = 0; i < 20; ++i) coarse.push_back("coarse" + std::to_string(i));
  tessera::testing::write_lines(dir / "fine_label_names.txt", fine);
  tessera::testing::write_lines(dir / "coarse_label_names.txt", coarse);

  const auto by_fine = read_cifar100(dir.string(), true, false);
  EXPECT_TRUE(at::equal(by_fine.labels, at::tensor({99, 5, 42}, at::kLong)));
  EXPECT_EQ(by_fine.class_names.size(), 100u);
  EXPECT_EQ(by_fine.class_names[99], "fine99");
  expect_record(by_fine, 2, 2);

  const auto by_coarse = read_cifar100(dir.string(), true, true);
  EXPECT_TRUE(at::equal(by_coarse.labels, at::tensor({19, 0, 7}, at::kLong)));
  EXPECT_EQ(by_coarse.class_names[19], "coarse19");

  const auto test = read_cifar100(dir.string(), false, false);
  EXPECT_EQ(test.labels[0].item<int64_t>(), 4);

  // A CIFAR-10 file is not a CIFAR-100 file: 3073-byte records do not divide into 3074.
  tessera::testing::write_cifar_records(dir / "test.bin", {{1}, {2}, {3}}, 0);
  const auto message = error_of([&] { read_cifar100(dir.string(), false, false); });
  EXPECT_NE(message.find("3074-byte records"), std::string::npos) << message;
}

TEST(Cifar10, BuildsAThreeChannelPipelineFromTheRecipe) {
  const auto dir = scratch_dir();
  tessera::testing::write_cifar10(dir, 4, 5);
  tessera::config::DataConfig config;
  config.dataset = tessera::config::DatasetKind::CIFAR10;
  config.root = dir.string();
  config.batch_size = 4;
  config.eval_batch_size = 5;
  config.num_workers = 0;
  config.mean = {0.49, 0.48, 0.45};
  config.std = {0.25, 0.24, 0.26};
  config.limit_train = 12;
  auto pipeline = build(config, 0);
  EXPECT_EQ(pipeline.channels, 3);
  EXPECT_EQ(pipeline.height, 32);
  EXPECT_EQ(pipeline.num_classes, 10);
  EXPECT_EQ(pipeline.class_names[9], "truck");
  EXPECT_EQ(pipeline.train->num_samples(), 12);
  EXPECT_EQ(pipeline.eval->num_samples(), 5);
  pipeline.eval->start_epoch(0);
  auto batch = pipeline.eval->next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->images.sizes(), (at::IntArrayRef{5, 3, 32, 32}));
  // Eval applies only normalization: pixel (c, y, x) of record 1 comes back as (v/255 - mean) / std.
  const double v = cifar_pixel(1, 2, 5, 6) / 255.0;
  EXPECT_NEAR(batch->images[1][2][5][6].item<double>(), (v - 0.45) / 0.26, 1e-5);

  config.coarse_labels = true;
  const auto message = error_of([&] { build(config, 0); });
  EXPECT_NE(message.find("data.coarse_labels"), std::string::npos) << message;
}

}  // namespace
