// Tests for ImageTextDataset (open_clip's CsvDataset): pairs from TSV and CSV tables,
// relative paths, captions as Python's csv module reads them, and the errors.
#include "tessera/data/image_text_dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "fixtures/error_of.h"
#include "fixtures/image_files.h"
#include "reference_runner.h"
#include "test_env.h"

namespace {

namespace fs = std::filesystem;
using namespace tessera::data;
using tessera::testing::error_of;
using tessera::testing::max_pixel_diff;
using tessera::testing::noise;
using tessera::testing::scratch_dir;
using tessera::testing::write_image;
using tessera::testing::write_text;

// The message of the error that reading `csv` as a dataset throws.
std::string error_reading(const fs::path& csv, const std::string& image_key, const std::string& caption_key,
                          char separator) {
  return error_of([&] { ImageTextDataset(csv.string(), image_key, caption_key, separator); });
}

// dir/data/images/{0,1,2}.png and dir/elsewhere/3.png, the pixels of image i from seed i.
void write_images(const fs::path& dir) {
  for (int i = 0; i < 3; ++i)
    write_image(dir / "data" / "images" / (std::to_string(i) + ".png"), noise(6 + i, 5, CV_8UC3, i), ".png");
  write_image(dir / "elsewhere" / "3.png", noise(9, 5, CV_8UC3, 3), ".png");
}

// A TSV as open_clip's defaults expect (filepath, title), with a byte-order mark, CRLF
// line ends, an absolute path, and captions holding tabs, quotes and a line break.
std::string clip_tsv(const fs::path& dir) {
  return "\xEF\xBB\xBF"
         "filepath\ttitle\r\n"
         "images/0.png\ta dog on a beach\r\n"
         "images/1.png\t\"two\r\nlines, a \"\"quote\"\" and a\ttab\"\r\n"
         "\r\n"
         "./images/2.png\t\r\n" +
         (dir / "elsewhere" / "3.png").string() + "\tan absolute path\r\n";
}

// The same pairs as a CSV with the columns in another order and an extra one.
std::string clip_csv(const fs::path& dir) {
  return "id,caption,image\n"
         "7,a dog on a beach,images/0.png\n"
         "8,\"two\r\nlines, a \"\"quote\"\" and a\ttab\",images/1.png\n"
         "9,,./images/2.png\n"
         "10,an absolute path," +
         (dir / "elsewhere" / "3.png").string() + "\n";
}

TEST(ImageText, ReadsPairsLikeOpenClipsCsvDataset) {
  const auto dir = scratch_dir();
  write_images(dir);
  write_text(dir / "data" / "train.tsv", clip_tsv(dir));
  const ImageTextDataset dataset((dir / "data" / "train.tsv").string(), "filepath", "title", '\t');
  ASSERT_EQ(dataset.size(), 4);
  EXPECT_TRUE(dataset.has_captions());
  EXPECT_TRUE(dataset.class_names().empty());
  EXPECT_EQ(dataset.fixed_size(), std::nullopt);
  EXPECT_EQ(dataset.caption(0), "a dog on a beach");
  EXPECT_EQ(dataset.caption(1), "two\r\nlines, a \"quote\" and a\ttab");
  EXPECT_EQ(dataset.caption(2), "");
  EXPECT_EQ(dataset.image_path(0), (dir / "data" / "images" / "0.png").string());
  EXPECT_EQ(dataset.image_path(2), (dir / "data" / "./images/2.png").string());
  EXPECT_EQ(dataset.image_path(3), (dir / "elsewhere" / "3.png").string());
  EXPECT_EQ(dataset.line(2), 6);  // the caption above spans lines 3-4, line 5 is blank
  EXPECT_EQ(dataset.describe(2), dataset.image_path(2) + " (" + (dir / "data" / "train.tsv").string() + ":6)");

  Image image;
  for (int64_t i = 0; i < dataset.size(); ++i) {
    EXPECT_EQ(dataset.read(i, image), -1);
    EXPECT_EQ(max_pixel_diff(image, noise(static_cast<int>(i == 3 ? 9 : 6 + i), 5, CV_8UC3, static_cast<uint32_t>(i))),
              0);
  }
}

TEST(ImageText, CsvColumnsAreChosenByNameAndMatchPythonsCsvModule) {
  const auto dir = scratch_dir();
  write_images(dir);
  write_text(dir / "data" / "train.tsv", clip_tsv(dir));
  write_text(dir / "data" / "train.csv", clip_csv(dir));
  const ImageTextDataset tsv((dir / "data" / "train.tsv").string(), "filepath", "title", '\t');
  const ImageTextDataset csv((dir / "data" / "train.csv").string(), "image", "caption", ',');

  const auto result = tessera::testing::run_reference_script(
      "torchvision_image_folder.py",
      "csv tab '" + (dir / "data" / "train.tsv").string() + "' , '" + (dir / "data" / "train.csv").string() + "'");
  ASSERT_EQ(result.exit_code, 0);
  const auto python =
      nlohmann::json::parse(result.output.substr(result.output.rfind('\n', result.output.size() - 2) + 1));
  for (const auto& [dataset, table, image_column, caption_column] :
       {std::tuple{&tsv, python[0], 0, 1}, std::tuple{&csv, python[1], 2, 1}}) {
    ASSERT_EQ(dataset->size() + 1, static_cast<int64_t>(table.size()));
    for (int64_t i = 0; i < dataset->size(); ++i) {
      const auto& row = table[static_cast<size_t>(i + 1)];
      EXPECT_EQ(dataset->caption(i), row[caption_column].get<std::string>());
      const fs::path written = row[image_column].get<std::string>();
      EXPECT_EQ(dataset->image_path(i), (written.is_absolute() ? written : dir / "data" / written).string());
    }
  }
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(tsv.caption(i), csv.caption(i));
}

TEST(ImageText, MissingImageNamesTheCsvTheLineAndThePath) {
  const auto dir = scratch_dir();
  write_images(dir);
  write_text(dir / "data" / "pairs.csv", "image,caption\nimages/0.png,\"one\ntwo\"\nimages/9.png,gone\n");
  const std::string message = error_reading(dir / "data" / "pairs.csv", "image", "caption", ',');
  EXPECT_NE(message.find((dir / "data" / "pairs.csv").string() + ":4"), std::string::npos) << message;
  EXPECT_NE(message.find("image file not found: " + (dir / "data" / "images" / "9.png").string()), std::string::npos)
      << message;
  EXPECT_NE(message.find("taken from the CSV file's folder"), std::string::npos) << message;

  write_text(dir / "data" / "folder.csv", "image,caption\nimages,a folder\n");
  EXPECT_NE(error_reading(dir / "data" / "folder.csv", "image", "caption", ',').find("is a folder"), std::string::npos);
  write_text(dir / "data" / "blank.csv", "image,caption\n,no image\n");
  EXPECT_NE(error_reading(dir / "data" / "blank.csv", "image", "caption", ',')
                .find("blank.csv:2: the column 'image' is empty"),
            std::string::npos);
}

TEST(ImageText, MissingColumnListsTheColumnsThere) {
  const auto dir = scratch_dir();
  write_images(dir);
  write_text(dir / "data" / "pairs.tsv", "filepath\tcaption\nimages/0.png\tx\n");
  std::string message = error_reading(dir / "data" / "pairs.tsv", "filepath", "title", '\t');
  EXPECT_NE(message.find("pairs.tsv:1"), std::string::npos) << message;
  EXPECT_NE(message.find("no column 'title'; its columns are 'filepath', 'caption'"), std::string::npos) << message;

  // A CSV read with the default tab separator: one column; the message says why.
  write_text(dir / "data" / "pairs.csv", "filepath,title\nimages/0.png,x\n");
  message = error_reading(dir / "data" / "pairs.csv", "filepath", "title", '\t');
  EXPECT_NE(message.find("its columns are 'filepath,title'"), std::string::npos) << message;
  EXPECT_NE(message.find("separated by ',' rather than a tab"), std::string::npos) << message;

  write_text(dir / "data" / "twice.csv", "filepath,title,title\nimages/0.png,x,y\n");
  message = error_reading(dir / "data" / "twice.csv", "filepath", "title", ',');
  EXPECT_NE(message.find("names the column 'title' twice"), std::string::npos) << message;

  write_text(dir / "data" / "empty.csv", "");
  message = error_reading(dir / "data" / "empty.csv", "filepath", "title", ',');
  EXPECT_NE(message.find("is empty; expected a header"), std::string::npos) << message;
}

TEST(ImageText, CorruptImageIsABadSample) {
  const auto dir = scratch_dir();
  tessera::testing::write_random_bytes(dir / "bad.jpg", 100, 1);
  write_text(dir / "pairs.csv", "image,caption\nbad.jpg,noise\n");
  const ImageTextDataset dataset((dir / "pairs.csv").string(), "image", "caption", ',');
  Image image;
  EXPECT_THROW(dataset.read(0, image), BadSample);
}

}  // namespace
