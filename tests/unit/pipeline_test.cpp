// Tests for data::build on files in the real formats: an image folder with JPEG and PNG
// files of several sizes and one corrupt file (skipped and counted, or fatal with
// on_bad_sample: fail), an image-text CSV, and the errors for missing data and settings.
#include "tessera/data/pipeline.h"

#include <gtest/gtest.h>

#include "fixtures/error_of.h"
#include "fixtures/image_files.h"
#include "test_env.h"

namespace tessera::data {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

// <root>/train/{cat,dog}/ with 6 images each (JPEG and PNG, sizes 20x14 to 40x30) and
// one corrupt cat; <root>/val/{cat,dog}/ with 2 images each.
void write_folder_dataset(const fs::path& root) {
  for (const char* split : {"train", "val"}) {
    const int per_class = std::string(split) == "train" ? 6 : 2;
    for (const char* cls : {"cat", "dog"}) {
      fs::create_directories(root / split / cls);
      for (int i = 0; i < per_class; ++i) {
        const bool png = i % 2 == 1;
        testing::write_image(root / split / cls / (std::to_string(i) + (png ? ".png" : ".jpg")),
                             testing::pattern_bgr(20 + 4 * i, 14 + 3 * i, i + (cls[0] == 'd' ? 50 : 0)),
                             png ? ".png" : ".jpg");
      }
    }
  }
  testing::write_random_bytes(root / "train" / "cat" / "broken.jpg", 500, 7);
}

config::DataConfig folder_config(const fs::path& root) {
  config::DataConfig c;
  c.dataset = config::DatasetKind::ImageFolder;
  c.root = root.string();
  c.image_size = 16;
  c.batch_size = 4;
  c.eval_batch_size = 3;
  c.num_workers = 2;
  c.mean = {0.5, 0.5, 0.5};
  c.std = {0.25, 0.25, 0.25};
  c.augment.random_resized_crop = true;
  c.augment.hflip = 0.5;
  return c;
}

TEST(Pipeline, ImageFolderWithACorruptFile) {
  const auto root = testing::scratch_dir();
  write_folder_dataset(root);
  auto p = build(folder_config(root), 1);
  EXPECT_EQ(p.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(p.channels, 3);
  EXPECT_EQ(p.height, 16);
  EXPECT_EQ(p.train->num_samples(), 13);  // 12 images and the broken one
  EXPECT_EQ(p.train->size(), 3);          // drop_last: 3 batches of 4

  int64_t images = 0;
  p.train->start_epoch(0);
  while (auto batch = p.train->next()) {
    EXPECT_EQ(batch->images.sizes(), (at::IntArrayRef{batch->labels.size(0), 3, 16, 16}));
    EXPECT_TRUE(batch->captions.empty());
    images += batch->labels.size(0);
  }
  const auto skipped = p.train->take_bad_samples();
  // The broken file falls in the 12 drawn positions or in the one left out.
  EXPECT_EQ(images + skipped.count, 12);
  EXPECT_LE(skipped.count, 1);
  int64_t skipped_over_epochs = skipped.count;
  for (int epoch = 1; epoch < 6; ++epoch) {
    p.train->start_epoch(epoch);
    while (p.train->next()) {
    }
    const auto report = p.train->take_bad_samples();
    if (report.count) {
      ASSERT_EQ(report.examples.size(), 1u);
      EXPECT_NE(report.examples[0].find("broken.jpg"), std::string::npos) << report.examples[0];
    }
    skipped_over_epochs += report.count;
  }
  EXPECT_GT(skipped_over_epochs, 0) << "in 6 shuffled epochs the broken file is drawn at least once";

  // Eval: dataset order, resized and center-cropped to 16.
  p.eval->start_epoch(0);
  auto batch = p.eval->next();
  ASSERT_TRUE(batch);
  EXPECT_TRUE(at::equal(batch->labels, at::tensor({0, 0, 1}, at::kLong))) << batch->labels;
  EXPECT_EQ(p.eval->take_bad_samples().count, 0);
}

TEST(Pipeline, CorruptFileFailsTheRunWhenTheRecipeSaysSo) {
  const auto root = testing::scratch_dir();
  write_folder_dataset(root);
  auto c = folder_config(root);
  c.on_bad_sample = config::BadSamplePolicy::Fail;
  c.batch_size = 13;
  c.augment.random_resized_crop = false;
  auto p = build(c, 1);
  p.train->start_epoch(0);
  try {
    p.train->next();
    ADD_FAILURE() << "the only batch holds the broken file";
  } catch (const BadSample& e) {
    EXPECT_NE(std::string(e.what()).find("broken.jpg"), std::string::npos) << e.what();
  }
}

TEST(Pipeline, ImageTextCsvGivesCaptions) {
  const auto root = testing::scratch_dir();
  fs::create_directories(root / "images");
  std::string csv = "filepath,title\n";
  for (int i = 0; i < 6; ++i) {
    const std::string name = "images/" + std::to_string(i) + ".png";
    testing::write_image(root / name, testing::pattern_bgr(24, 18, i), ".png");
    csv += name + ",\"a photo, number " + std::to_string(i) + "\"\n";
  }
  testing::write_text(root / "train.csv", csv);
  testing::write_text(root / "val.csv", csv);
  config::DataConfig c;
  c.dataset = config::DatasetKind::ImageText;
  c.root = root.string();
  c.batch_size = 3;
  c.eval_batch_size = 3;
  c.num_workers = 1;
  auto p = build(c, 0, ModelInput{20, 3});  // the size from the model
  EXPECT_EQ(p.height, 20);
  EXPECT_TRUE(p.class_names.empty());
  p.eval->start_epoch(0);
  auto batch = p.eval->next();
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->captions, (std::vector<std::string>{"a photo, number 0", "a photo, number 1", "a photo, number 2"}));
  EXPECT_TRUE(at::equal(batch->labels, at::full({3}, -1, at::kLong))) << batch->labels;

  // A row whose image is missing is named with its line.
  testing::write_text(root / "train.csv", csv + "images/missing.png,gone\n");
  const auto message = error_of([&] { build(c, 0, ModelInput{20, 3}); });
  EXPECT_NE(message.find("train.csv:8"), std::string::npos) << message;
  EXPECT_NE(message.find("missing.png"), std::string::npos) << message;
}

TEST(Pipeline, ErrorsNameWhatIsMissing) {
  const auto root = testing::scratch_dir();
  auto c = folder_config(root);
  auto message = error_of([&] { build(c, 0); });
  EXPECT_NE(message.find((root / "train").string()), std::string::npos) << message;
  EXPECT_NE(message.find("<root>/<split>/<class>/<image>"), std::string::npos) << message;

  write_folder_dataset(root);
  c.image_size.reset();
  message = error_of([&] { build(c, 0); });
  EXPECT_NE(message.find("data.image_size: is needed for dataset image_folder"), std::string::npos) << message;

  c.image_size = 16;
  c.mean = {0.5, 0.5};
  message = error_of([&] { build(c, 0); });
  EXPECT_NE(message.find("data.mean: has 2 values but the images have 3 channels"), std::string::npos) << message;

  c.mean = {0.5};
  fs::create_directories(root / "val" / "bird");
  testing::write_image(root / "val" / "bird" / "0.png", testing::pattern_bgr(8, 8), ".png");
  message = error_of([&] { build(c, 0); });
  EXPECT_NE(message.find("the evaluation split has 3 classes and the training split 2"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace tessera::data
