// Image decoding with OpenCV into channel-planar RGB, and header-only size peeking (see image_decode.h).
#include "tessera/data/image_decode.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <system_error>
#include <vector>

#include "tessera/data/dataset.h"

namespace tessera::data {

namespace {

enum class Format { Unknown, Jpeg, Png, Bmp, WebP, Gif, Tiff, Pnm };

const char* format_name(Format format) {
  switch (format) {
    case Format::Jpeg:
      return "JPEG";
    case Format::Png:
      return "PNG";
    case Format::Bmp:
      return "BMP";
    case Format::WebP:
      return "WebP";
    case Format::Gif:
      return "GIF";
    case Format::Tiff:
      return "TIFF";
    case Format::Pnm:
      return "PPM/PGM";
    case Format::Unknown:
      break;
  }
  return "unknown";
}

bool starts_with(const uint8_t* data, size_t size, const char* magic, size_t offset = 0) {
  const size_t n = std::strlen(magic);
  return size >= offset + n && std::memcmp(data + offset, magic, n) == 0;
}

// The format the first bytes announce (file names are not trusted: a .jpg may hold a PNG).
Format sniff(const uint8_t* data, size_t size) {
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return Format::Jpeg;
  if (starts_with(data, size, "\x89PNG\r\n\x1a\n")) return Format::Png;
  if (starts_with(data, size, "BM")) return Format::Bmp;
  if (starts_with(data, size, "RIFF") && starts_with(data, size, "WEBP", 8)) return Format::WebP;
  if (starts_with(data, size, "GIF87a") || starts_with(data, size, "GIF89a")) return Format::Gif;
  if (size >= 4 && ((data[0] == 'I' && data[1] == 'I' && data[2] == 0x2A && data[3] == 0) ||
                    (data[0] == 'M' && data[1] == 'M' && data[2] == 0 && data[3] == 0x2A))) {
    return Format::Tiff;
  }
  if (size >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '6') return Format::Pnm;
  return Format::Unknown;
}

uint32_t be16(const uint8_t* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return (uint32_t{p[1]} << 8) | p[0]; }
uint32_t le24(const uint8_t* p) { return le16(p) | (uint32_t{p[2]} << 16); }
uint32_t le32(const uint8_t* p) { return le16(p) | (le16(p + 2) << 16); }

using Size = std::pair<int64_t, int64_t>;  // (width, height)

std::optional<Size> positive(int64_t width, int64_t height) {
  if (width <= 0 || height <= 0) return std::nullopt;
  return Size{width, height};
}

// How a walk over a JPEG's marker segments ended.
enum class JpegEnd { Complete, Truncated, Malformed, StoppedAtFrame };

struct JpegWalk {
  JpegEnd end = JpegEnd::Malformed;
  std::optional<Size> frame_size;  // from the first SOF segment
};

bool is_start_of_frame(uint8_t marker) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// Follows the segments from SOI to EOI, skipping each by its length (so EXIF thumbnails,
// which hold JPEGs of their own, are stepped over) and each scan's entropy-coded data
// up to the next marker that is not a stuffed 0xFF00 or a restart marker. Stops at the
// first SOF when `stop_at_frame`. A file that ends before EOI is Truncated: libjpeg
// would fill the missing rows with gray without a word, while PIL (and so torchvision)
// refuses the file.
JpegWalk walk_jpeg(const uint8_t* data, size_t size, bool stop_at_frame) {
  JpegWalk walk;
  auto ended = [&walk](JpegEnd end) {
    walk.end = end;
    return walk;
  };
  size_t pos = 2;  // after SOI
  while (true) {
    if (pos >= size) return ended(JpegEnd::Truncated);
    if (data[pos] != 0xFF) return ended(JpegEnd::Malformed);
    while (pos < size && data[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= size) return ended(JpegEnd::Truncated);
    const uint8_t marker = data[pos++];
    if (marker == 0xD9) return ended(JpegEnd::Complete);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length field
    if (marker == 0x00 || marker == 0xD8) return ended(JpegEnd::Malformed);
    if (pos + 2 > size) return ended(JpegEnd::Truncated);
    const size_t length = be16(data + pos);
    if (length < 2) return ended(JpegEnd::Malformed);
    if (is_start_of_frame(marker) && !walk.frame_size) {
      // length, precision (1), height (2), width (2)
      if (pos + 7 > size) return ended(JpegEnd::Truncated);
      walk.frame_size = positive(be16(data + pos + 5), be16(data + pos + 3));
      if (stop_at_frame) return ended(JpegEnd::StoppedAtFrame);
    }
    pos += length;
    if (marker != 0xDA) continue;
    // Entropy-coded data after SOS: 0xFF occurs only as FF00 (a stuffed byte), FFD0..FFD7
    // (restart markers), fill bytes, or the start of the next marker.
    while (true) {
      if (pos >= size) return ended(JpegEnd::Truncated);
      const auto* ff = static_cast<const uint8_t*>(std::memchr(data + pos, 0xFF, size - pos));
      if (ff == nullptr || ff + 1 >= data + size) return ended(JpegEnd::Truncated);
      pos = static_cast<size_t>(ff - data);
      const uint8_t next = ff[1];
      if (next == 0xFF) {
        pos += 1;
      } else if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
        pos += 2;
      } else {
        break;  // a marker: the outer loop reads it
      }
    }
  }
}

std::optional<Size> peek_bmp(const uint8_t* data, size_t size) {
  if (size < 22) return std::nullopt;
  const uint32_t header_size = le32(data + 14);
  if (header_size == 12) return positive(le16(data + 18), le16(data + 20));  // BITMAPCOREHEADER: 16-bit sizes
  if (header_size < 16 || size < 26) return std::nullopt;
  const auto width = static_cast<int32_t>(le32(data + 18));
  const auto height = static_cast<int32_t>(le32(data + 22));  // negative: rows stored top-down
  return positive(width, height < 0 ? -static_cast<int64_t>(height) : height);
}

std::optional<Size> peek_webp(const uint8_t* data, size_t size) {
  if (size < 30) return std::nullopt;
  const uint8_t* chunk = data + 12;
  const uint8_t* payload = data + 20;
  if (std::memcmp(chunk, "VP8 ", 4) == 0) {
    // Lossy: a 3-byte frame tag, the start code 9D 01 2A, then 14-bit width and height.
    if (payload[3] != 0x9D || payload[4] != 0x01 || payload[5] != 0x2A) return std::nullopt;
    return positive(le16(payload + 6) & 0x3FFF, le16(payload + 8) & 0x3FFF);
  }
  if (std::memcmp(chunk, "VP8L", 4) == 0) {
    // Lossless: the signature byte 0x2F, then width - 1 and height - 1 in 14 bits each.
    if (payload[0] != 0x2F) return std::nullopt;
    const uint32_t bits = le32(payload + 1);
    return positive((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
  }
  if (std::memcmp(chunk, "VP8X", 4) == 0) {
    // Extended: 4 bytes of flags, then canvas width - 1 and height - 1 in 24 bits each.
    return positive(int64_t{le24(payload + 4)} + 1, int64_t{le24(payload + 7)} + 1);
  }
  return std::nullopt;
}

// OpenCV's parallel_for_ (TBB in Debian's build) would run parts of a decode on a
// pool of its own, one thread per core, from every loader worker at once: N workers
// would then compete with N x cores threads. The loader's workers are the
// parallelism, so OpenCV runs each call on the calling thread. This is process-wide
// and happens once, before the first decode (a function-local static is initialised
// exactly once even when many workers arrive together).
void run_opencv_on_calling_threads() {
  static const bool done = [] {
    cv::setNumThreads(0);
    return true;
  }();
  (void)done;
}

// The whole file into `bytes` (its capacity reused); BadSample when it cannot be read.
void read_file_bytes(const std::string& path, std::vector<uint8_t>& bytes) {
  auto fail = [&](const std::string& what) {
    throw BadSample(path, what + ": " + std::error_code(errno, std::generic_category()).message());
  };
  // O_NONBLOCK: a FIFO named like an image must not stall a worker in open(); it has
  // no effect on regular files.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("cannot be opened");
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) fail("cannot be examined");
  if (S_ISDIR(info.st_mode)) throw BadSample(path, "is a folder, not an image file");
  if (!S_ISREG(info.st_mode)) throw BadSample(path, "is not a regular file (a pipe, socket or device)");
  bytes.resize(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read failed");
    if (n == 0) break;  // shrank while being read
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
}

}  // namespace

std::optional<std::pair<int64_t, int64_t>> peek_image_size(const uint8_t* data, size_t size) {
  switch (sniff(data, size)) {
    case Format::Png:
      // The signature, then the IHDR chunk: length (4), "IHDR", width (4), height (4), big-endian.
      if (size < 24 || std::memcmp(data + 12, "IHDR", 4) != 0) return std::nullopt;
      if (be32(data + 16) > INT32_MAX || be32(data + 20) > INT32_MAX) return std::nullopt;
      return positive(be32(data + 16), be32(data + 20));
    case Format::Jpeg:
      return walk_jpeg(data, size, /*stop_at_frame=*/true).frame_size;
    case Format::Bmp:
      return peek_bmp(data, size);
    case Format::WebP:
      return peek_webp(data, size);
    case Format::Gif:
      if (size < 10) return std::nullopt;
      return positive(le16(data + 6), le16(data + 8));  // the logical screen
    case Format::Tiff:
    case Format::Pnm:
    case Format::Unknown:
      break;
  }
  return std::nullopt;
}

void decode_image(const uint8_t* data, size_t size, Image& out, const std::string& where, const DecodeLimits& limits) {
  run_opencv_on_calling_threads();
  if (size == 0) throw BadSample(where, "is empty (0 bytes), not an image");
  if (size > static_cast<size_t>(INT_MAX)) throw BadSample(where, "is over 2 GiB, more than OpenCV decodes");
  const Format format = sniff(data, size);

  auto check_pixels = [&](int64_t width, int64_t height) {
    if (limits.max_pixels > 0 && width * height > limits.max_pixels) {
      throw BadSample(where, "is " + std::to_string(width) + "x" + std::to_string(height) + " (" +
                                 std::to_string(width * height) + " pixels), over the limit of " +
                                 std::to_string(limits.max_pixels) + " pixels");
    }
  };
  if (const auto declared = peek_image_size(data, size)) check_pixels(declared->first, declared->second);
  if (format == Format::Jpeg && walk_jpeg(data, size, /*stop_at_frame=*/false).end == JpegEnd::Truncated) {
    throw BadSample(where, "is a truncated JPEG: the data ends before the end-of-image marker");
  }

  // IMREAD_COLOR: always 8-bit BGR (gray expanded, alpha dropped, 16-bit reduced to the
  // high byte); IMREAD_IGNORE_ORIENTATION: the pixels as stored, as PIL's open gives them.
  const cv::Mat encoded(1, static_cast<int>(size), CV_8UC1, const_cast<uint8_t*>(data));
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(encoded, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    // OpenCV's own size limit (CV_IO_MAX_IMAGE_PIXELS) and some decoder errors are thrown.
    throw BadSample(where, std::string("does not decode as an image (OpenCV: ") + e.err + ")");
  }
  if (decoded.empty()) {
    if (format == Format::Unknown) {
      throw BadSample(where,
                      "is not an image: its first bytes are not those of a JPEG, PNG, BMP, WebP, TIFF "
                      "or PPM/PGM file");
    }
    if (format == Format::Gif) throw BadSample(where, "is a GIF, which OpenCV does not decode; convert it to PNG");
    throw BadSample(
        where, std::string("is a corrupt or truncated ") + format_name(format) + " file (OpenCV could not decode it)");
  }
  if (decoded.type() != CV_8UC3) {
    throw BadSample(where, "decoded to an unexpected pixel type (OpenCV type " + std::to_string(decoded.type()) + ")");
  }
  check_pixels(decoded.cols, decoded.rows);  // formats whose header peek_image_size does not read

  // BGR interleaved -> R, G, B planes, written in place into out's buffer.
  out.resize(3, decoded.rows, decoded.cols);
  cv::Mat planes[3] = {cv::Mat(decoded.rows, decoded.cols, CV_8UC1, out.plane(2)),
                       cv::Mat(decoded.rows, decoded.cols, CV_8UC1, out.plane(1)),
                       cv::Mat(decoded.rows, decoded.cols, CV_8UC1, out.plane(0))};
  cv::split(decoded, planes);
}

void read_image_file(const std::string& path, Image& out, const DecodeLimits& limits) {
  // One buffer per thread for the file's bytes; a rare huge file is not kept afterwards.
  thread_local std::vector<uint8_t> bytes;
  read_file_bytes(path, bytes);
  decode_image(bytes.data(), bytes.size(), out, path, limits);
  if (bytes.capacity() > (size_t{64} << 20)) std::vector<uint8_t>().swap(bytes);
}

}  // namespace tessera::data
