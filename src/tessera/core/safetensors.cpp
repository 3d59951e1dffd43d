// safetensors reading (every field checked before any byte is touched) and writing.
#include "tessera/core/safetensors.h"

#include <ATen/ops/empty.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "tessera/core/atomic_file.h"
#include "tessera/core/error.h"

// The data buffer is little-endian and is copied byte for byte into tensors.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tessera's safetensors code assumes a little-endian host"
#endif

namespace tessera::core {
namespace {

using json = nlohmann::json;

// Same cap as the reference implementation: a header is names and numbers, and a
// larger claim is far more likely a corrupt length than a real file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A valid header nests three levels; the cap keeps hostile nesting cheap.
constexpr int kMaxHeaderDepth = 32;
// More dimensions than any real tensor has; bounds what a hostile shape can allocate.
constexpr size_t kMaxDims = 64;
constexpr const char* kMetadataKey = "__metadata__";

// The one table between safetensors dtype names and ATen scalar types.
struct DtypeInfo {
  const char* name;
  at::ScalarType type;
  uint64_t itemsize;
};
constexpr DtypeInfo kDtypes[] = {
    {"F64", at::kDouble, 8}, {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},
    {"BF16", at::kBFloat16, 2}, {"I64", at::kLong, 8}, {"I32", at::kInt, 4},
    {"I16", at::kShort, 2}, {"I8", at::kChar, 1}, {"U8", at::kByte, 1},
    {"BOOL", at::kBool, 1},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

const DtypeInfo* dtype_by_type(at::ScalarType type) {
  for (const auto& d : kDtypes) {
    if (type == d.type) return &d;
  }
  return nullptr;
}

// Offset of the first byte that breaks UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or `size` when the whole range is valid.
size_t invalid_utf8_offset(const uint8_t* s, size_t size) {
  size_t i = 0;
  while (i < size) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3, lo = 0xA0;
    } else if (c == 0xED) {
      len = 3, hi = 0x9F;
    } else if (c >= 0xE1 && c <= 0xEF) {
      len = 3;
    } else if (c == 0xF0) {
      len = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4, hi = 0x8F;
    } else {
      return i;
    }
    if (size - i < len || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return size;
}

bool is_utf8(const std::string& s) {
  return invalid_utf8_offset(reinterpret_cast<const uint8_t*>(s.data()), s.size()) == s.size();
}

// A name as it appears in messages: quoted, control bytes escaped and long names cut,
// so an error stays on one readable line.
std::string quoted(const std::string& name) {
  constexpr size_t kMaxShown = 80;
  size_t shown = std::min(name.size(), kMaxShown);
  // Cut at a character boundary, not inside a multi-byte sequence.
  while (shown < name.size() && shown > 0 && (static_cast<uint8_t>(name[shown]) & 0xC0) == 0x80) {
    --shown;
  }
  std::string out = "'";
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<uint8_t>(name[i]);
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < name.size()) out += "...";
  return out + "'";
}

// A JSON value as it appears in messages, cut short.
std::string brief(const json& v) {
  constexpr size_t kMaxShown = 60;
  std::string text = v.dump();
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return text;
}

std::string at_offset(const std::string& origin, uint64_t offset) {
  return origin + " (offset " + std::to_string(offset) + ")";
}

std::string for_tensor(const std::string& origin, const std::string& name) {
  return origin + " (tensor " + quoted(name) + ")";
}

// Parses the header, refusing repeated keys: nlohmann would silently keep one of them,
// and readers that keep different ones would disagree about what the file holds.
json parse_header(const uint8_t* text, size_t size, const std::string& where) {
  std::vector<std::set<std::string>> keys_of_open_objects;
  auto watch = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxHeaderDepth) {
      throw Error(where, "header nests deeper than " + std::to_string(kMaxHeaderDepth) + " levels");
    }
    switch (event) {
      case json::parse_event_t::object_start:
        keys_of_open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys_of_open_objects.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!keys_of_open_objects.back().insert(key).second) {
          throw Error(where, keys_of_open_objects.size() == 1
                                 ? "duplicate tensor name " + quoted(key)
                                 : "duplicate key " + quoted(key));
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text, text + size, watch);
  } catch (const json::exception& e) {
    std::string detail = e.what();
    if (detail.size() > 200) detail = detail.substr(0, 200) + "...";
    throw Error(where, "header is not valid JSON: " + detail);
  }
}

// A JSON integer in [0, INT64_MAX]; false for negatives, fractions and non-numbers.
bool read_index(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
  } else if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
  } else {
    return false;
  }
  return *out <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

std::map<std::string, std::string> read_metadata(const json& value, const std::string& where) {
  if (!value.is_object()) {
    throw Error(where, std::string(kMetadataKey) + " must be an object of strings, got " +
                           value.type_name());
  }
  std::map<std::string, std::string> metadata;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it->is_string()) {
      throw Error(where, std::string(kMetadataKey) + " value for key " + quoted(it.key()) +
                             " must be a string, got " + it->type_name() + " " + brief(*it));
    }
    metadata.emplace(it.key(), it->get<std::string>());
  }
  return metadata;
}

// One header entry, checked on its own (the buffer layout is checked across entries).
struct Entry {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

Entry read_entry(const std::string& name, const json& value, uint64_t buffer_size,
                 const std::string& origin) {
  const std::string where = for_tensor(origin, name);
  if (!value.is_object()) {
    throw Error(where, std::string("entry must be an object with dtype, shape and data_offsets, got ") +
                           value.type_name());
  }
  auto field = [&](const char* key) -> const json& {
    auto it = value.find(key);
    if (it == value.end()) throw Error(where, std::string("entry has no \"") + key + "\"");
    return *it;
  };
  Entry e;
  e.name = name;

  const json& dtype = field("dtype");
  if (!dtype.is_string()) throw Error(where, "dtype must be a string, got " + brief(dtype));
  e.dtype = dtype_by_name(dtype.get_ref<const std::string&>());
  if (e.dtype == nullptr) throw Error(where, "unknown dtype " + brief(dtype));

  const json& shape = field("shape");
  if (!shape.is_array()) throw Error(where, "shape must be a list of integers, got " + brief(shape));
  if (shape.size() > kMaxDims) {
    throw Error(where, "shape has " + std::to_string(shape.size()) + " dimensions; at most " +
                           std::to_string(kMaxDims) + " are supported");
  }
  // Overflow is judged on the non-zero dimensions: a zero makes the count 0, but ATen
  // still multiplies the others when it computes strides.
  int64_t nonzero_product = 1;
  bool overflow = false, has_zero = false;
  for (const json& dim : shape) {
    uint64_t d = 0;
    if (!read_index(dim, &d)) {
      const bool negative = dim.is_number_integer() && !dim.is_number_unsigned();
      throw Error(where, "shape " + brief(shape) + " has a dimension " + brief(dim) +
                             (negative ? " that is negative"
                                       : " that is not an integer in [0, 2^63)"));
    }
    if (d == 0) {
      has_zero = true;
    } else {
      overflow |= __builtin_mul_overflow(nonzero_product, static_cast<int64_t>(d), &nonzero_product);
    }
    e.shape.push_back(static_cast<int64_t>(d));
  }
  if (overflow) throw Error(where, "element count of shape " + brief(shape) + " overflows int64");
  const int64_t numel = has_zero ? 0 : nonzero_product;
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel), e.dtype->itemsize, &nbytes)) {
    throw Error(where, std::string("byte size of ") + e.dtype->name + " shape " + brief(shape) +
                           " overflows 64 bits");
  }

  const json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !read_index(offsets[0], &e.begin) ||
      !read_index(offsets[1], &e.end)) {
    throw Error(where, "data_offsets must be two non-negative integers [begin, end], got " +
                           brief(offsets));
  }
  if (e.begin > e.end) throw Error(where, "data_offsets " + brief(offsets) + " end before they begin");
  if (e.end > buffer_size) {
    throw Error(where, "data_offsets " + brief(offsets) + " reach past the end of the data buffer (" +
                           std::to_string(buffer_size) + " bytes); the file may be truncated");
  }
  if (e.end - e.begin != nbytes) {
    throw Error(where, "data_offsets " + brief(offsets) + " span " + std::to_string(e.end - e.begin) +
                           " bytes but " + e.dtype->name + " shape " + brief(shape) + " needs " +
                           std::to_string(nbytes));
  }
  return e;
}

// The entries, sorted by position, must tile the data buffer exactly: no byte claimed
// twice (aliasing tensors), none left unclaimed (hidden data), nothing after the end.
void check_layout(const std::vector<Entry>& entries, uint64_t buffer_size, uint64_t buffer_start,
                  const std::string& origin) {
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < covered) {
      throw Error(for_tensor(origin, e.name),
                  "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                      "] overlap those of tensor " + quoted(previous->name) + " [" +
                      std::to_string(previous->begin) + ", " + std::to_string(previous->end) + "]");
    }
    if (e.begin > covered) {
      throw Error(for_tensor(origin, e.name),
                  "hole in the data buffer: bytes [" + std::to_string(covered) + ", " +
                      std::to_string(e.begin) + ") before this tensor belong to no tensor");
    }
    covered = e.end;
    previous = &e;
  }
  if (covered != buffer_size) {
    throw Error(at_offset(origin, buffer_start + covered),
                std::to_string(buffer_size - covered) + " trailing bytes after the last tensor's data");
  }
}

std::string errno_text(const std::string& what, int err) { return what + ": " + std::strerror(err); }

std::string read_whole_file(const std::filesystem::path& path) {
  const std::string where = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error(where, errno_text("cannot open", err));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    throw Error(where, errno_text("cannot stat", err));
  }
  if (!S_ISREG(st.st_mode)) throw Error(where, "not a regular file");
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      throw Error(where, errno_text("cannot read", err));
    }
    if (n == 0) break;  // the file shrank since fstat; parse what is there
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

std::string serialize(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata, const std::string& origin) {
  // ordered_json keeps the header in data order, which makes files easy to read by eye.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& m = header[kMetadataKey] = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) {
      if (!is_utf8(key) || !is_utf8(value)) {
        throw Error(origin, "metadata entry " + quoted(key) + " is not valid UTF-8");
      }
      m[key] = value;
    }
  }

  std::vector<at::Tensor> contiguous;
  contiguous.reserve(tensors.size());
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::string where = for_tensor(origin, name);
    if (!is_utf8(name)) throw Error(where, "tensor name is not valid UTF-8");
    if (name == kMetadataKey) throw Error(where, "the name is reserved for the metadata");
    if (!names.insert(name).second) throw Error(where, "duplicate tensor name");
    if (!tensor.defined()) throw Error(where, "tensor is undefined");
    if (tensor.is_meta()) throw Error(where, "meta tensors have no data to save");
    const DtypeInfo* dtype = dtype_by_type(tensor.scalar_type());
    if (dtype == nullptr) {
      throw Error(where, std::string("dtype ") + c10::toString(tensor.scalar_type()) +
                             " has no safetensors equivalent here");
    }
    at::Tensor t = tensor.detach();
    if (t.layout() != at::kStrided) t = t.to_dense();
    // resolve_neg: a lazily negated view would otherwise be written un-negated.
    t = t.to(at::kCPU).resolve_neg().contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype->itemsize;
    header[name] = {{"dtype", dtype->name},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", nlohmann::ordered_json::array({offset, offset + nbytes})}};
    offset += nbytes;
    contiguous.push_back(std::move(t));
  }

  std::string text = header.dump();
  // Padding to 8 bytes keeps the data buffer aligned for readers that map the file.
  text.append((8 - text.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + text.size() + offset);
  const uint64_t length = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
  out += text;
  for (const at::Tensor& t : contiguous) {
    out.append(static_cast<const char*>(t.const_data_ptr()), t.numel() * t.element_size());
  }
  return out;
}

}  // namespace

NamedTensors parse_safetensors(const uint8_t* data, size_t size, const std::string& origin) {
  const std::string header_where = origin + " (header)";
  if (size == 0) throw Error(origin, "file is empty");
  if (size < 8) {
    throw Error(origin, "file is only " + std::to_string(size) +
                            " bytes; a safetensors file starts with an 8-byte header length");
  }
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | data[i];
  if (header_size > kMaxHeaderBytes) {
    throw Error(header_where, "header length " + std::to_string(header_size) +
                                  " exceeds the 100 MB limit; the file is corrupt or not safetensors");
  }
  if (header_size > size - 8) {
    throw Error(header_where, "header length " + std::to_string(header_size) + " exceeds the " +
                                  std::to_string(size - 8) +
                                  " bytes after the length field; the file is truncated or not safetensors");
  }
  const uint8_t* header_text = data + 8;
  const size_t bad = invalid_utf8_offset(header_text, header_size);
  if (bad != header_size) throw Error(at_offset(origin, 8 + bad), "header is not valid UTF-8");
  // JSON never allows a raw NUL, but nlohmann stops reading at one: without this check
  // anything after a NUL would be ignored here and read by other implementations.
  if (const void* nul = std::memchr(header_text, 0, header_size)) {
    const auto at = static_cast<const uint8_t*>(nul) - data;
    throw Error(at_offset(origin, static_cast<uint64_t>(at)), "header contains a NUL byte");
  }

  const json header = parse_header(header_text, header_size, header_where);
  if (!header.is_object()) {
    throw Error(header_where, std::string("header must be a JSON object, got ") + header.type_name());
  }

  const uint8_t* buffer = header_text + header_size;
  const uint64_t buffer_size = size - 8 - header_size;
  NamedTensors result;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == kMetadataKey) {
      result.metadata = read_metadata(*it, header_where);
    } else {
      entries.push_back(read_entry(it.key(), *it, buffer_size, origin));
    }
  }
  // Zero-size tensors may share an offset; the stable sort keeps them in name order.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  check_layout(entries, buffer_size, 8 + header_size, origin);

  result.tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    const uint8_t* bytes = buffer + e.begin;
    const uint64_t nbytes = e.end - e.begin;
    if (e.dtype->type == at::kBool) {
      // Any other byte is not a bool to ATen; operations on it are undefined.
      for (uint64_t i = 0; i < nbytes; ++i) {
        if (bytes[i] > 1) {
          throw Error(at_offset(origin, 8 + header_size + e.begin + i),
                      "BOOL tensor " + quoted(e.name) + " holds byte " + std::to_string(bytes[i]) +
                          "; only 0 and 1 are valid");
        }
      }
    }
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype->type));
    if (nbytes > 0) std::memcpy(t.mutable_data_ptr(), bytes, nbytes);
    result.tensors.emplace_back(e.name, std::move(t));
  }
  return result;
}

NamedTensors load_safetensors(const std::filesystem::path& path) {
  const std::string bytes = read_whole_file(path);
  return parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path.string());
}

std::string serialize_safetensors(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  return serialize(tensors, metadata, "safetensors");
}

void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize(tensors, metadata, path.string()));
}

}  // namespace tessera::core
