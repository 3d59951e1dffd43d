// Tests for ImageFolderDataset: its classes, labels and sample order against
// torchvision.datasets.ImageFolder on the same folder, reading, and its errors.
#include "tessera/data/image_folder.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "fixtures/error_of.h"
#include "fixtures/image_files.h"
#include "reference_runner.h"
#include "tessera/data/dataset.h"
#include "test_env.h"

namespace {

namespace fs = std::filesystem;
using namespace tessera::data;
using tessera::testing::error_of;
using tessera::testing::pattern_bgr;
using tessera::testing::scratch_dir;
using tessera::testing::write_image;
using tessera::testing::write_text;

// A small image in the format the file name's (case-insensitive) extension asks for.
void write_sample(const fs::path& path, int seed) {
  std::string ext = path.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext.empty() || ext == ".bak") ext = ".png";  // ".jpg" as a whole name has no extension
  if (ext == ".jpeg") ext = ".jpg";
  if (ext == ".tif") ext = ".tiff";
  const cv::Mat image = pattern_bgr(8 + seed, 6 + seed % 3, seed);
  if (ext != ".pgm") return write_image(path, image, ext);
  cv::Mat gray;
  cv::extractChannel(image, gray, 1);  // OpenCV writes PGM from one channel only
  write_image(path, gray, ext);
}

// Class and file names whose order differs between byte order, case-insensitive and
// natural orders; nested folders whose full paths sort differently from a depth-first
// walk ("sub" < "sub c" < "sub-1" < "sub/deeper"); every extension in mixed case;
// files that are not images; symlinked class and subfolders; one corrupt JPEG and a
// dangling symlink.
fs::path build_tree(const fs::path& dir) {
  const fs::path root = dir / "root";
  int seed = 0;
  for (const std::string name :
       {"a/Z.PnG", "a/x.jpg", "a/.jpg", "a/sub/1.JPG", "a/sub c/2.webp", "a/sub/deeper/3.bmp", "a/sub-1/4.TIFF",
        "a/sub-1/5.Tif", "B/img.jpeg", "B/IMG.JPEG", "B/b.pgm", "B/c.PPM", "\xc3\x84/\xc3\xbc.png", "\xc3\x84/u.png",
        "b10/10.png", "b10/9.png", "b10/100.png", "b_2/ok.png", ".hidden/h.webp"}) {
    write_sample(root / name, seed++);
  }
  tessera::testing::write_random_bytes(root / "b_2" / "broken.jpg", 500, 3);
  fs::create_symlink(dir / "nowhere.jpg", root / "b_2" / "dangling.jpg");  // listed, then unreadable
  write_text(root / "a" / "notes.txt", "not an image");
  write_text(root / "a" / "x.jpeg.bak", "not an image either");
  write_text(root / "a" / "noext", "no extension");
  write_text(root / "readme.txt", "files next to the class folders are not samples");
  write_sample(root / "top.jpg", 40);
  write_sample(dir / "shared" / "6.png", 41);
  fs::create_directory_symlink(dir / "shared", root / "a" / "linked");
  fs::create_directory_symlink(root / "a", root / "link_to_a");
  return root;
}

TEST(ImageFolder, MatchesTorchvisionImageFolder) {
  const auto dir = scratch_dir();
  const fs::path root = build_tree(dir);
  // torchvision refuses a class folder without images too.
  const fs::path with_empty_class = dir / "with_empty_class";
  write_sample(with_empty_class / "full" / "1.png", 1);
  write_text(with_empty_class / "empty" / "notes.txt", "no images");

  const auto result = tessera::testing::run_reference_script(
      "torchvision_image_folder.py", "folder '" + root.string() + "' '" + with_empty_class.string() + "'");
  ASSERT_EQ(result.exit_code, 0);
  const auto listings =
      nlohmann::json::parse(result.output.substr(result.output.rfind('\n', result.output.size() - 2) + 1));
  const auto& reference = listings[0];
  ASSERT_FALSE(reference.contains("error")) << reference["error"];

  const ImageFolderDataset dataset(root.string());
  EXPECT_EQ(dataset.class_names(), reference["classes"].get<std::vector<std::string>>());
  EXPECT_EQ(dataset.class_names(),
            (std::vector<std::string>{".hidden", "B", "a", "b10", "b_2", "link_to_a", "\xc3\x84"}));
  const auto class_to_idx = reference["class_to_idx"].get<std::map<std::string, int64_t>>();
  for (int64_t i = 0; i < dataset.num_classes(); ++i) {
    EXPECT_EQ(class_to_idx.at(dataset.class_names()[static_cast<size_t>(i)]), i);
  }

  std::vector<std::pair<std::string, int64_t>> ours;
  for (int64_t i = 0; i < dataset.size(); ++i) ours.emplace_back(dataset.path(i), dataset.label(i));
  std::vector<std::pair<std::string, int64_t>> theirs;
  for (const auto& sample : reference["samples"]) theirs.emplace_back(sample[0], sample[1]);
  EXPECT_EQ(ours, theirs);
  ASSERT_EQ(dataset.size(), 2 * 9 + 13);  // class a twice (as a and link_to_a), 13 in the others
  // Spelled out: .hidden (1 sample), B (4), then a in torchvision's order.
  const std::vector<std::string> class_a = {"a/.jpg",         "a/Z.PnG",       "a/x.jpg",
                                            "a/linked/6.png", "a/sub/1.JPG",   "a/sub c/2.webp",
                                            "a/sub-1/4.TIFF", "a/sub-1/5.Tif", "a/sub/deeper/3.bmp"};
  for (size_t i = 0; i < class_a.size(); ++i) EXPECT_EQ(dataset.relative_path(5 + static_cast<int64_t>(i)), class_a[i]);
  EXPECT_EQ(dataset.relative_path(1), "B/IMG.JPEG");
  EXPECT_EQ(dataset.describe(0), (root / ".hidden" / "h.webp").string());

  const std::string error = listings[1].value("error", "");
  EXPECT_NE(error.find("FileNotFoundError"), std::string::npos) << error;
  const std::string message = error_of([&] { ImageFolderDataset{with_empty_class.string()}; });
  EXPECT_NE(message.find((with_empty_class / "empty").string()), std::string::npos) << message;
}

TEST(ImageFolder, ReadsEveryImageAndACorruptOneIsABadSample) {
  const auto dir = scratch_dir();
  const ImageFolderDataset dataset(build_tree(dir).string());
  Image image;
  int64_t bad = 0;
  for (int64_t i = 0; i < dataset.size(); ++i) {
    if (dataset.relative_path(i) == "b_2/broken.jpg" || dataset.relative_path(i) == "b_2/dangling.jpg") {
      ++bad;
      try {
        dataset.read(i, image);
        ADD_FAILURE() << "the corrupt file decoded";
      } catch (const BadSample& e) {
        EXPECT_NE(std::string(e.what()).find(dataset.path(i)), std::string::npos) << e.what();
      }
      continue;
    }
    EXPECT_EQ(dataset.read(i, image), dataset.label(i)) << dataset.path(i);
    EXPECT_EQ(image.channels, 3);
    EXPECT_GE(image.width, 8) << dataset.path(i);
  }
  EXPECT_EQ(bad, 2);
  EXPECT_EQ(dataset.fixed_size(), std::nullopt);
  EXPECT_FALSE(dataset.has_captions());
}

TEST(ImageFolder, ASymlinkToAnAncestorIsNotFollowed) {
  // os.walk(followlinks=True) would go round the loop until the path is too long.
  const auto dir = scratch_dir();
  write_sample(dir / "cls" / "1.png", 1);
  write_sample(dir / "cls" / "inner" / "2.png", 2);
  fs::create_directory_symlink(dir / "cls", dir / "cls" / "inner" / "back_up");
  const ImageFolderDataset dataset(dir.string() + "/");  // a trailing '/' adds no second one
  ASSERT_EQ(dataset.size(), 2);
  EXPECT_EQ(dataset.path(0), (dir / "cls" / "1.png").string());
  EXPECT_EQ(dataset.path(1), (dir / "cls" / "inner" / "2.png").string());
}

TEST(ImageFolder, ErrorsNameTheFolderAndTheLayout) {
  const auto dir = scratch_dir();
  std::string message = error_of([&] { ImageFolderDataset{(dir / "missing").string()}; });
  EXPECT_NE(message.find((dir / "missing").string()), std::string::npos) << message;
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
  EXPECT_NE(message.find("one subfolder per class"), std::string::npos) << message;

  write_text(dir / "file", "x");
  message = error_of([&] { ImageFolderDataset{(dir / "file").string()}; });
  EXPECT_NE(message.find("is not a folder"), std::string::npos) << message;

  write_sample(dir / "flat" / "1.png", 1);  // images but no class folders
  message = error_of([&] { ImageFolderDataset{(dir / "flat").string()}; });
  EXPECT_NE(message.find("has no class folders"), std::string::npos) << message;
  EXPECT_NE(message.find((dir / "flat").string() + "/cat/001.jpg"), std::string::npos) << message;

  write_sample(dir / "two_empty" / "full" / "1.png", 1);
  write_text(dir / "two_empty" / "docs" / "readme.md", "x");
  write_text(dir / "two_empty" / "gifs" / "sub" / "a.gif", "GIF89a");  // not an ImageFolder extension
  message = error_of([&] { ImageFolderDataset{(dir / "two_empty").string()}; });
  EXPECT_NE(message.find("class folder has no image file"), std::string::npos) << message;
  EXPECT_NE(message.find((dir / "two_empty" / "docs").string() + ", " + (dir / "two_empty" / "gifs").string()),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(".webp"), std::string::npos) << message;
}

}  // namespace
