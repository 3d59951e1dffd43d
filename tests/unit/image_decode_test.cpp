// Tests for image decoding and header peeking, on files written with OpenCV's encoders,
// and against PIL's Image.open(f).convert("RGB") (torchvision's ImageFolder loader).
#include "tessera/data/image_decode.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/error_of.h"
#include "fixtures/image_files.h"
#include "reference_runner.h"
#include "tessera/data/dataset.h"
#include "test_env.h"

namespace {

namespace fs = std::filesystem;
using namespace tessera::data;
using tessera::testing::encode;
using tessera::testing::max_pixel_diff;
using tessera::testing::noise;
using tessera::testing::pattern_bgr;
using tessera::testing::scratch_dir;
using tessera::testing::write_bytes;
using tessera::testing::write_image;

Image decode(const std::vector<uint8_t>& bytes, const DecodeLimits& limits = {}) {
  Image image;
  decode_image(bytes.data(), bytes.size(), image, "test image", limits);
  return image;
}

// The message of the BadSample that `f` throws; "" and a failure otherwise.
std::string bad_sample_of(const std::function<void()>& f) {
  return tessera::testing::error_of([&] {
    try {
      f();
    } catch (const BadSample&) {
      throw;
    } catch (const tessera::Error& e) {
      ADD_FAILURE() << "a tessera::Error that is not a BadSample: " << e.what();
      throw;
    }
  });
}

// A JPEG whose EXIF says "rotate 90 degrees clockwise to display" (orientation 6):
// an APP1 segment inserted after SOI.
std::vector<uint8_t> with_exif_orientation_6(const std::vector<uint8_t>& jpeg) {
  const std::vector<uint8_t> app1 = {0xFF, 0xE1, 0x00, 34,                            // APP1, length 34
                                     'E',  'x',  'i',  'f',  0, 0,                    // Exif identifier
                                     'M',  'M',  0x00, 0x2A, 0, 0, 0, 8,              // big-endian TIFF, first IFD at 8
                                     0x00, 0x01,                                      // one entry:
                                     0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0, 6, 0, 0,  // Orientation, SHORT, 1 value: 6
                                     0,    0,    0,    0};                            // no next IFD
  std::vector<uint8_t> out(jpeg.size() + app1.size());
  std::copy_n(jpeg.begin(), 2, out.begin());  // SOI
  std::copy(app1.begin(), app1.end(), out.begin() + 2);
  std::copy(jpeg.begin() + 2, jpeg.end(), out.begin() + 2 + static_cast<std::ptrdiff_t>(app1.size()));
  return out;
}

std::vector<uint8_t> first_bytes(const std::vector<uint8_t>& bytes, size_t n) {
  return std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(n, bytes.size())));
}

TEST(ImageDecode, LosslessFormatsKeepEveryPixel) {
  const cv::Mat image = noise(37, 21, CV_8UC3, 1);  // odd sizes: BMP rows are padded to 4 bytes
  for (const auto& [ext, params] : std::vector<std::pair<std::string, std::vector<int>>>{
           {".png", {}}, {".bmp", {}}, {".webp", {cv::IMWRITE_WEBP_QUALITY, 101}}, {".ppm", {}}, {".tiff", {}}}) {
    const Image decoded = decode(encode(image, ext, params));
    EXPECT_EQ(max_pixel_diff(decoded, image), 0) << ext;
  }
}

TEST(ImageDecode, GrayBecomesThreeEqualChannels) {
  const cv::Mat gray = noise(20, 13, CV_8UC1, 2);
  cv::Mat as_bgr;
  cv::Mat channels[3] = {gray, gray, gray};
  cv::merge(channels, 3, as_bgr);
  for (const std::string ext : {".png", ".pgm", ".bmp"}) {
    EXPECT_EQ(max_pixel_diff(decode(encode(gray, ext)), as_bgr), 0) << ext;
  }
  const Image jpeg = decode(encode(gray, ".jpg"));
  ASSERT_EQ(jpeg.channels, 3);
  EXPECT_TRUE(std::equal(jpeg.plane(0), jpeg.plane(1), jpeg.plane(1)));
  EXPECT_TRUE(std::equal(jpeg.plane(0), jpeg.plane(1), jpeg.plane(2)));
}

TEST(ImageDecode, AlphaIsDroppedNotComposited) {
  // PIL's convert("RGB") keeps the colour of fully transparent pixels as stored.
  cv::Mat bgra = noise(16, 9, CV_8UC4, 3);
  for (int x = 0; x < 16; ++x) bgra.at<cv::Vec4b>(0, x)[3] = 0;
  cv::Mat bgr;
  const int from_to[] = {0, 0, 1, 1, 2, 2};
  bgr.create(bgra.rows, bgra.cols, CV_8UC3);
  cv::mixChannels(&bgra, 1, &bgr, 1, from_to, 3);
  EXPECT_EQ(max_pixel_diff(decode(encode(bgra, ".png")), bgr), 0);
  // libwebp's encoder may change colours under low alpha, so WebP is compared with the
  // colour channels of its own full decode.
  const auto webp = encode(bgra, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
  const cv::Mat stored = cv::imdecode(webp, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(stored.type(), CV_8UC4);
  cv::mixChannels(&stored, 1, &bgr, 1, from_to, 3);
  EXPECT_EQ(max_pixel_diff(decode(webp), bgr), 0);
}

TEST(ImageDecode, SixteenBitPngKeepsTheHighByte) {
  for (int type : {CV_16UC3, CV_16UC1}) {
    const cv::Mat wide = noise(11, 7, type, 4);
    const Image decoded = decode(encode(wide, ".png"));
    ASSERT_EQ(decoded.height, 7);
    ASSERT_EQ(decoded.width, 11);
    for (int y = 0; y < 7; ++y) {
      for (int x = 0; x < 11; ++x) {
        for (int c = 0; c < 3; ++c) {
          const int source_channel = type == CV_16UC3 ? 2 - c : 0;
          const uint16_t v = type == CV_16UC3 ? wide.at<cv::Vec3w>(y, x)[source_channel] : wide.at<uint16_t>(y, x);
          ASSERT_EQ(decoded.at(c, y, x), v >> 8) << "type " << type << " at " << y << "," << x << " channel " << c;
        }
      }
    }
  }
}

TEST(ImageDecode, LossyFormatsStayClose) {
  const cv::Mat image = pattern_bgr(64, 48, 1);
  EXPECT_LE(max_pixel_diff(decode(encode(image, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95})), image), 6);
  EXPECT_LE(max_pixel_diff(decode(encode(image, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1})), image), 12);
  EXPECT_LE(max_pixel_diff(decode(encode(image, ".webp", {cv::IMWRITE_WEBP_QUALITY, 95})), image), 12);
}

TEST(ImageDecode, ExifOrientationIsIgnoredAsByPil) {
  const cv::Mat image = pattern_bgr(40, 24);
  const auto jpeg = with_exif_orientation_6(encode(image, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}));
  // OpenCV on its own would turn it (so the EXIF above is read): 24 wide, 40 high.
  const cv::Mat turned = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  ASSERT_EQ(turned.cols, 24);
  ASSERT_EQ(turned.rows, 40);
  const Image decoded = decode(jpeg);
  EXPECT_EQ(decoded.width, 40);
  EXPECT_EQ(decoded.height, 24);
  EXPECT_LE(max_pixel_diff(decoded, image), 6);
}

TEST(ImageDecode, ReusesTheImageBuffer) {
  const cv::Mat big = noise(64, 64, CV_8UC3, 5);
  const cv::Mat small = noise(8, 4, CV_8UC3, 6);
  const auto big_png = encode(big, ".png");
  Image image;
  decode_image(big_png.data(), big_png.size(), image, "big");
  const uint8_t* buffer = image.pixels.data();
  const auto small_png = encode(small, ".png");
  decode_image(small_png.data(), small_png.size(), image, "small");
  EXPECT_EQ(image.pixels.data(), buffer);
  EXPECT_EQ(image.pixels.size(), 3u * 8 * 4);
  EXPECT_EQ(max_pixel_diff(image, small), 0);
}

TEST(ImageDecode, ReadsFilesByPath) {
  const auto dir = scratch_dir();
  const cv::Mat image = noise(9, 5, CV_8UC3, 7);
  write_image(dir / "a picture.png", image, ".png");
  Image decoded;
  read_image_file((dir / "a picture.png").string(), decoded);
  EXPECT_EQ(max_pixel_diff(decoded, image), 0);
  // The content decides the format, not the name.
  write_image(dir / "really_a_png.jpg", image, ".png");
  read_image_file((dir / "really_a_png.jpg").string(), decoded);
  EXPECT_EQ(max_pixel_diff(decoded, image), 0);
}

TEST(ImageDecode, BrokenFilesAreBadSamplesNamingThePath) {
  const auto dir = scratch_dir();
  tessera::testing::write_random_bytes(dir / "corrupt.jpg", 3000, 11);
  tessera::testing::write_truncated_png(dir / "truncated.png");
  const auto jpeg = encode(noise(64, 64, CV_8UC3, 8), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
  write_bytes(dir / "truncated.jpg", first_bytes(jpeg, jpeg.size() * 9 / 10));
  write_bytes(dir / "no_end_marker.jpg", first_bytes(jpeg, jpeg.size() - 2));
  const auto progressive = encode(noise(64, 64, CV_8UC3, 8), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  write_bytes(dir / "truncated_progressive.jpg", first_bytes(progressive, progressive.size() / 2));
  const auto webp = encode(noise(32, 32, CV_8UC3, 9), ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
  write_bytes(dir / "truncated.webp", first_bytes(webp, webp.size() / 2));
  const auto bmp = encode(noise(32, 32, CV_8UC3, 9), ".bmp");
  write_bytes(dir / "truncated.bmp", first_bytes(bmp, bmp.size() / 2));
  write_bytes(dir / "empty.png", {});
  write_bytes(dir / "notes.jpg", {'h', 'e', 'l', 'l', 'o', '\n'});
  write_bytes(dir / "animation.gif", {'G', 'I', 'F', '8', '9', 'a', 4, 0, 4, 0, 0, 0, 0, ';'});
  fs::create_directories(dir / "folder.png");
  ASSERT_EQ(mkfifo((dir / "pipe.jpg").c_str(), 0600), 0);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"corrupt.jpg", "is not an image"},
      {"truncated.png", "corrupt or truncated PNG"},
      {"truncated.jpg", "truncated JPEG"},
      {"no_end_marker.jpg", "truncated JPEG"},
      {"truncated_progressive.jpg", "truncated JPEG"},
      {"truncated.webp", "corrupt or truncated WebP"},
      {"truncated.bmp", "corrupt or truncated BMP"},
      {"empty.png", "is empty"},
      {"notes.jpg", "is not an image"},
      {"animation.gif", "GIF"},
      {"folder.png", "is a folder"},
      {"pipe.jpg", "is not a regular file"},
      {"missing.png", "cannot be opened: No such file or directory"},
  };
  for (const auto& [name, reason] : cases) {
    const std::string path = (dir / name).string();
    Image image;
    const std::string message = bad_sample_of([&] { read_image_file(path, image); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << name << ": " << message;
  }
  // The whole JPEG decodes: the checks above are about the missing bytes.
  EXPECT_EQ(decode(jpeg).width, 64);
  EXPECT_EQ(decode(progressive).width, 64);
}

TEST(ImageDecode, PeekReadsTheHeaderOfEveryFormat) {
  using Size = std::optional<std::pair<int64_t, int64_t>>;
  auto peek = [](const std::vector<uint8_t>& bytes) { return peek_image_size(bytes.data(), bytes.size()); };
  const Size size{{37, 21}};
  const cv::Mat image = pattern_bgr(37, 21);
  cv::Mat bgra;
  cv::Mat alpha(21, 37, CV_8UC1, cv::Scalar(200));
  cv::Mat parts[2] = {image, alpha};
  cv::merge(parts, 2, bgra);

  EXPECT_EQ(peek(encode(image, ".png")), size);
  EXPECT_EQ(peek(encode(image, ".jpg")), size);
  EXPECT_EQ(peek(encode(image, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1})), size);
  EXPECT_EQ(peek(with_exif_orientation_6(encode(image, ".jpg"))), size);  // the header's size, not the turned one
  EXPECT_EQ(peek(encode(image, ".bmp")), size);
  const auto lossy = encode(image, ".webp", {cv::IMWRITE_WEBP_QUALITY, 80});
  const auto lossless = encode(image, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
  const auto extended = encode(bgra, ".webp", {cv::IMWRITE_WEBP_QUALITY, 80});
  ASSERT_EQ(std::string(lossy.begin() + 12, lossy.begin() + 16), "VP8 ");
  ASSERT_EQ(std::string(lossless.begin() + 12, lossless.begin() + 16), "VP8L");
  ASSERT_EQ(std::string(extended.begin() + 12, extended.begin() + 16), "VP8X");
  EXPECT_EQ(peek(lossy), size);
  EXPECT_EQ(peek(lossless), size);
  EXPECT_EQ(peek(extended), size);
  EXPECT_EQ(peek({'G', 'I', 'F', '8', '9', 'a', 37, 0, 21, 0, 0x80, 0, 0}), size);

  // A top-down BMP stores its height negated.
  auto top_down = encode(image, ".bmp");
  const int32_t negative = -21;
  std::memcpy(top_down.data() + 22, &negative, 4);
  EXPECT_EQ(peek(top_down), size);

  EXPECT_EQ(peek(tessera::testing::png_header_claiming(20000, 20000)), Size({20000, 20000}));
  // Formats without a peek, cut headers and non-images: nothing.
  EXPECT_EQ(peek(encode(image, ".tiff")), std::nullopt);
  EXPECT_EQ(peek(first_bytes(encode(image, ".png"), 20)), std::nullopt);
  const auto jpeg = encode(image, ".jpg");
  EXPECT_EQ(peek(first_bytes(jpeg, 30)), std::nullopt);  // before the SOF segment
  EXPECT_EQ(peek({'h', 'e', 'l', 'l', 'o'}), std::nullopt);
  EXPECT_EQ(peek_image_size(nullptr, 0), std::nullopt);
}

TEST(ImageDecode, MaxPixelsRejectsAHugeHeaderBeforeDecoding) {
  // 33 bytes claiming 20000x20000: refused from the header. Its image data is not valid,
  // so the message could not come from the check after decoding.
  const auto huge = tessera::testing::png_header_claiming(20000, 20000);
  DecodeLimits limits;
  limits.max_pixels = 100'000'000;
  std::string message = bad_sample_of([&] { decode(huge, limits); });
  EXPECT_NE(message.find("test image"), std::string::npos) << message;
  EXPECT_NE(message.find("20000x20000 (400000000 pixels)"), std::string::npos) << message;
  EXPECT_NE(message.find("limit of 100000000 pixels"), std::string::npos) << message;

  // Without a limit of its own, OpenCV's (2^30 pixels) refuses 40000x40000.
  message = bad_sample_of([&] { decode(tessera::testing::png_header_claiming(40000, 40000)); });
  EXPECT_NE(message.find("does not decode"), std::string::npos) << message;

  // A real image at the limit passes, one pixel over does not; a TIFF (no header
  // peek) is checked after decoding.
  const cv::Mat image = noise(64, 64, CV_8UC3, 10);
  limits.max_pixels = 64 * 64;
  EXPECT_EQ(decode(encode(image, ".png"), limits).width, 64);
  limits.max_pixels = 64 * 64 - 1;
  for (const std::string ext : {".png", ".jpg", ".bmp", ".webp", ".tiff"}) {
    message = bad_sample_of([&] { decode(encode(image, ext), limits); });
    EXPECT_NE(message.find("64x64 (4096 pixels), over the limit of 4095"), std::string::npos) << ext << message;
  }
}

TEST(ImageDecode, ConcurrentDecodesMatchSerialOnes) {
  std::vector<std::vector<uint8_t>> files;
  std::vector<Image> expected;
  for (int i = 0; i < 6; ++i) {
    files.push_back(encode(pattern_bgr(48 + i * 8, 40, i), i % 2 ? ".png" : ".jpg"));
    expected.push_back(decode(files.back()));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Image image;
      for (int round = 0; round < 30; ++round) {
        const size_t i = static_cast<size_t>(round * 7 + t) % files.size();
        decode_image(files[i].data(), files[i].size(), image, "concurrent");
        if (image.pixels != expected[i].pixels || image.width != expected[i].width) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(ImageDecode, MatchesPilConvertRgb) {
  const auto dir = scratch_dir();
  const cv::Mat rgb = noise(37, 21, CV_8UC3, 20);
  const cv::Mat photo = pattern_bgr(96, 64, 3);
  cv::Mat bgra = noise(23, 17, CV_8UC4, 21);
  struct File {
    std::string name;
    std::vector<uint8_t> bytes;
    int tolerance;  // the largest |Tessera - PIL| accepted; -1: PIL must refuse it too
  };
  const auto jpeg = encode(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
  std::vector<File> files = {
      {"rgb.png", encode(rgb, ".png"), 0},
      {"gray.png", encode(noise(19, 11, CV_8UC1, 22), ".png"), 0},
      {"rgba.png", encode(bgra, ".png"), 0},
      {"rgb16.png", encode(noise(13, 9, CV_16UC3, 23), ".png"), 0},
      {"rgb.bmp", encode(rgb, ".bmp"), 0},
      {"gray.bmp", encode(noise(19, 11, CV_8UC1, 24), ".bmp"), 0},
      {"lossless.webp", encode(rgb, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}), 0},
      {"rgba.webp", encode(bgra, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}), 0},
      {"rgb.ppm", encode(rgb, ".ppm"), 0},
      {"gray.pgm", encode(noise(19, 11, CV_8UC1, 25), ".pgm"), 0},
      {"rgb.tiff", encode(rgb, ".tiff"), 0},
      {"q95.jpg", jpeg, 2},
      {"q75_noise.jpg", encode(rgb, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 75}), 2},
      {"progressive.jpg", encode(photo, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}), 2},
      {"gray.jpg", encode(noise(19, 11, CV_8UC1, 26), ".jpg"), 2},
      {"exif_orientation.jpg", with_exif_orientation_6(jpeg), 2},
      {"lossy.webp", encode(photo, ".webp", {cv::IMWRITE_WEBP_QUALITY, 90}), 2},
      {"truncated.jpg", first_bytes(jpeg, jpeg.size() * 9 / 10), -1},
      {"no_end_marker.jpg", first_bytes(jpeg, jpeg.size() - 2), -1},
      {"empty.png", {}, -1},
      {"notes.jpg", {'n', 'o', 't', 'e', 's'}, -1},
  };
  std::string args = "decode '" + (dir / "pil.safetensors").string() + "'";
  for (const auto& file : files) {
    write_bytes(dir / file.name, file.bytes);
    args += " '" + (dir / file.name).string() + "'";
  }
  tessera::testing::write_truncated_png(dir / "truncated.png");
  files.push_back({"truncated.png", {}, -1});
  args += " '" + (dir / "truncated.png").string() + "'";

  const auto result = tessera::testing::run_reference_script("torchvision_image_folder.py", args);
  ASSERT_EQ(result.exit_code, 0);
  const auto report =
      nlohmann::json::parse(result.output.substr(result.output.rfind('\n', result.output.size() - 2) + 1));
  auto pil = tessera::testing::read_tensors(dir / "pil.safetensors");

  int jpeg_max_diff = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& file = files[i];
    const std::string key = std::to_string(i);
    const std::string path = (dir / file.name).string();
    if (file.tolerance < 0) {
      EXPECT_TRUE(report["errors"].contains(key)) << file.name << ": PIL decodes it";
      Image image;
      bad_sample_of([&] { read_image_file(path, image); });
      continue;
    }
    ASSERT_TRUE(pil.count(key)) << file.name << ": PIL refused it: " << report["errors"].value(key, "");
    Image ours;
    read_image_file(path, ours);
    const at::Tensor reference = pil[key];
    ASSERT_EQ(reference.sizes().vec(), (std::vector<int64_t>{ours.channels, ours.height, ours.width})) << file.name;
    const at::Tensor mine = at::from_blob(ours.pixels.data(), {ours.channels, ours.height, ours.width}, at::kByte);
    const auto diff = static_cast<int>(tessera::testing::max_abs_diff(mine, reference));
    EXPECT_LE(diff, file.tolerance) << file.name;
    if (file.name.ends_with(".jpg")) jpeg_max_diff = std::max(jpeg_max_diff, diff);
  }
  std::printf("[ figures  ] JPEG decode, largest |Tessera - PIL| over %s: %d levels\n",
              "q95/q75/progressive/gray/EXIF files", jpeg_max_diff);
}

TEST(ImageDecode, DecodeTimePerJpeg) {
  for (int side : {32, 224}) {
    const auto jpeg = encode(pattern_bgr(side, side, 4), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
    Image image;
    decode_image(jpeg.data(), jpeg.size(), image, "warm-up");
    const int repeats = side == 32 ? 2000 : 200;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) decode_image(jpeg.data(), jpeg.size(), image, "timed");
    const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
    std::printf("[ figures  ] %dx%d JPEG (%zu bytes): %.1f us per decode\n", side, side, jpeg.size(),
                elapsed.count() / repeats);
    EXPECT_EQ(image.width, side);
  }
}

}  // namespace
