// Reader for the IDX files of MNIST and Fashion-MNIST, raw or gzip-compressed.
#include "tessera/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

#include "tessera/core/error.h"

namespace tessera::data {
namespace {

constexpr int kMaxDims = 8;
constexpr uint8_t kUnsignedByte = 0x08;

std::string at_offset(const std::string& path, int64_t offset) {
  return path + " (offset " + std::to_string(offset) + ")";
}

std::string hex_byte(int v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", v & 0xFF);
  return buf;
}

std::string type_name(uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown type";
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A sequential byte source over zlib's gz* API, which reads gzip and plain files
// alike. It keeps the decompressed offset so errors can say where data ended.
class ByteStream {
 public:
  explicit ByteStream(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw Error(path, "file not found");
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) {
      throw Error(path, std::string("cannot open: ") + (errno ? std::strerror(errno) : "out of memory"));
    }
    gzbuffer(file_, 1 << 20);  // fewer, larger reads: a 47 MB file in ~50 syscalls
  }
  ~ByteStream() {
    if (file_) gzclose(file_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // Reads up to n bytes into dst; fewer only at the end of the data. Throws if
  // the gzip stream is corrupt or cut off.
  int64_t read(void* dst, int64_t n) {
    auto* out = static_cast<uint8_t*>(dst);
    int64_t total = 0;
    while (total < n) {
      // gzread takes an unsigned int count, so go in chunks below 2^31.
      const auto chunk = static_cast<unsigned>(std::min<int64_t>(n - total, int64_t{1} << 30));
      const int got = gzread(file_, out + total, chunk);
      if (got < 0) fail_corrupt();
      if (got == 0) break;
      total += got;
    }
    offset_ += total;
    if (total < n) {
      // zlib reports a cut-off gzip file as Z_BUF_ERROR after returning what it could.
      int err = Z_OK;
      gzerror(file_, &err);
      if (err != Z_OK) fail_corrupt();
    }
    check_compression_matches_name();
    return total;
  }

  int64_t offset() const { return offset_; }

 private:
  [[noreturn]] void fail_corrupt() {
    int err = Z_OK;
    const char* msg = gzerror(file_, &err);
    std::string what = (err == Z_BUF_ERROR) ? "the gzip stream is cut off (unexpected end of the compressed file)"
                                            : std::string("corrupt gzip data: ") + (msg ? msg : "unknown zlib error");
    if (err == Z_ERRNO) what = std::string("read error: ") + std::strerror(errno);
    throw Error(at_offset(path_, offset_), what + "; download or extract the file again");
  }

  // A file called *.gz that zlib reads through unchanged is not gzip at all;
  // saying so beats the "bad magic" that would follow.
  void check_compression_matches_name() {
    if (checked_name_) return;
    checked_name_ = true;
    if (ends_with(path_, ".gz") && gzdirect(file_) == 1) {
      throw Error(path_, "the file is named .gz but is not gzip-compressed (no gzip header)");
    }
  }

  std::string path_;
  gzFile file_ = nullptr;
  int64_t offset_ = 0;
  bool checked_name_ = false;
};

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string shape_string(const std::vector<int64_t>& sizes) {
  std::ostringstream s;
  for (size_t i = 0; i < sizes.size(); ++i) s << (i ? "x" : "") << sizes[i];
  return s.str();
}

}  // namespace

at::Tensor read_idx(const std::string& path) {
  ByteStream in(path);

  uint8_t magic[4];
  const int64_t got_magic = in.read(magic, 4);
  if (got_magic < 4) {
    throw Error(at_offset(path, in.offset()),
                "file too short for an IDX header (needs 4 magic bytes, has " + std::to_string(got_magic) + ")");
  }
  if (magic[0] != 0 || magic[1] != 0) {
    throw Error(at_offset(path, 0), "not an IDX file: bad magic " + hex_byte(magic[0]) + " " + hex_byte(magic[1]) +
                                        " (an IDX file starts with 0x00 0x00)");
  }
  if (magic[2] != kUnsignedByte) {
    throw Error(at_offset(path, 2), "unsupported IDX element type " + hex_byte(magic[2]) + " (" +
                                        type_name(magic[2]) + "); only 0x08 (unsigned byte) is supported");
  }
  const int dims = magic[3];
  if (dims < 1 || dims > kMaxDims) {
    throw Error(at_offset(path, 3), "bad IDX dimension count " + std::to_string(dims) + " (expected 1 to " +
                                        std::to_string(kMaxDims) + ")");
  }

  std::vector<uint8_t> size_bytes(4 * dims);
  const int64_t got_sizes = in.read(size_bytes.data(), 4 * dims);
  if (got_sizes < 4 * dims) {
    throw Error(at_offset(path, in.offset()), "truncated IDX header: expected " + std::to_string(4 + 4 * dims) +
                                                  " header bytes for " + std::to_string(dims) +
                                                  " dimensions, the file ends at offset " +
                                                  std::to_string(in.offset()));
  }
  std::vector<int64_t> sizes(dims);
  int64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    sizes[d] = big_endian_u32(&size_bytes[4 * d]);
    // Products of uint32 sizes can overflow int64 with 3+ dims; 2^40 bytes is beyond any real file.
    if (sizes[d] != 0 && count > (int64_t{1} << 40) / sizes[d]) {
      throw Error(at_offset(path, 4 + 4 * d), "IDX sizes " + shape_string(sizes) + "... are implausibly large");
    }
    count *= sizes[d];
  }

  const int64_t header = 4 + 4 * int64_t{dims};
  at::Tensor out = at::empty(sizes, at::kByte);
  const int64_t got = in.read(out.data_ptr<uint8_t>(), count);
  if (got < count) {
    throw Error(at_offset(path, in.offset()),
                "truncated IDX data: the header declares " + shape_string(sizes) + " = " + std::to_string(count) +
                    " bytes after the " + std::to_string(header) + "-byte header (" + std::to_string(header + count) +
                    " bytes in all), but the data ends at offset " + std::to_string(in.offset()));
  }
  uint8_t extra = 0;
  if (in.read(&extra, 1) > 0) {
    throw Error(at_offset(path, header + count),
                "unexpected bytes after the IDX data: the header declares " + shape_string(sizes) + " = " +
                    std::to_string(header + count) + " bytes in all, but the file is longer");
  }
  return out;
}

IdxPair read_idx_pair(const std::string& images_path, const std::string& labels_path, int64_t num_classes) {
  at::Tensor images = read_idx(images_path);
  if (images.dim() != 3) {
    throw Error(images_path, "expected an IDX image file with 3 dimensions (count, rows, cols), got " +
                                 std::to_string(images.dim()));
  }
  at::Tensor raw_labels = read_idx(labels_path);
  if (raw_labels.dim() != 1) {
    throw Error(labels_path, "expected an IDX label file with 1 dimension (count), got " +
                                 std::to_string(raw_labels.dim()));
  }
  if (raw_labels.size(0) != images.size(0)) {
    throw Error(labels_path, "holds " + std::to_string(raw_labels.size(0)) + " labels but " + images_path +
                                 " holds " + std::to_string(images.size(0)) + " images");
  }
  const uint8_t* l = raw_labels.data_ptr<uint8_t>();
  const int64_t n = raw_labels.size(0);
  for (int64_t i = 0; i < n; ++i) {
    if (l[i] >= num_classes) {
      // Offset of the record: one header of 8 bytes for a 1-D IDX file, then one byte per label.
      throw Error(at_offset(labels_path, 8 + i), "label " + std::to_string(l[i]) + " at record " +
                                                     std::to_string(i) + " is out of range for " +
                                                     std::to_string(num_classes) + " classes");
    }
  }
  return {images, raw_labels.to(at::kLong)};
}

}  // namespace tessera::data
