// TensorBoard event files (see tensorboard_writer.h).
#include "tessera/train/tensorboard_writer.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>

#include "tessera/core/error.h"

namespace tessera::train {

namespace {

// Byte-at-a-time table for the reflected Castagnoli polynomial.
constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

void put_fixed32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void put_fixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Protobuf wire types of the fields written here.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_key(std::string& out, uint32_t field, WireType type) { put_varint(out, (field << 3) | type); }

void put_bytes_field(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// Event's fields (event.proto): wall_time = 1, step = 2, file_version = 3, summary = 5.
std::string event_header(double wall_time, int64_t step) {
  std::string event;
  put_key(event, 1, kFixed64);
  put_fixed64(event, std::bit_cast<uint64_t>(wall_time));
  if (step != 0) {  // proto3 leaves default values out
    put_key(event, 2, kVarint);
    put_varint(event, static_cast<uint64_t>(step));  // negative int64s take 10 bytes, as protobuf's
  }
  return event;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) crc = kCrc32cTable[(crc ^ static_cast<uint8_t>(c)) & 0xFFu] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::string_view bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string tfrecord(std::string_view payload) {
  std::string record;
  put_fixed64(record, payload.size());
  put_fixed32(record, masked_crc32c(std::string_view(record.data(), 8)));
  record.append(payload);
  put_fixed32(record, masked_crc32c(payload));
  return record;
}

std::string file_version_event(double wall_time) {
  std::string event = event_header(wall_time, 0);
  put_bytes_field(event, 3, "brain.Event:2");
  return event;
}

std::string scalars_event(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& scalars) {
  // Summary { repeated Value value = 1 }; Value { string tag = 1; float simple_value = 2 }.
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string encoded;
    put_bytes_field(encoded, 1, tag);
    put_key(encoded, 2, kFixed32);
    put_fixed32(encoded, std::bit_cast<uint32_t>(value));
    put_bytes_field(summary, 1, encoded);
  }
  std::string event = event_header(wall_time, step);
  put_bytes_field(event, 5, summary);
  return event;
}

std::string restart_event(double wall_time, int64_t step) {
  // Event.session_log = 7 (6 is the deprecated log_message): SessionLog { status = 1 }, START = 1.
  std::string session_log;
  put_key(session_log, 1, kVarint);
  put_varint(session_log, 1);
  std::string event = event_header(wall_time, step);
  put_bytes_field(event, 7, session_log);
  return event;
}

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& dir) {
  static std::atomic<int64_t> writers_made{0};
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw Error(dir.string(), "cannot create the TensorBoard folder: " + error.message());
  const double wall_time = now_seconds();
  path_ = dir / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(wall_time)) + "." + host_name() + "." +
                 std::to_string(getpid()) + "." + std::to_string(writers_made++));
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw Error(path_.string(), "cannot open for writing");
  write_record(file_version_event(wall_time));
}

void TensorBoardWriter::add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars) {
  std::vector<std::pair<std::string, float>> values;
  values.reserve(scalars.size());
  for (const auto& [tag, value] : scalars) values.emplace_back(tag, static_cast<float>(value));
  write_record(scalars_event(now_seconds(), step, values));
}

void TensorBoardWriter::add_restart(int64_t first_new_step) { write_record(restart_event(now_seconds(), first_new_step)); }

void TensorBoardWriter::write_record(std::string_view payload) {
  const std::string record = tfrecord(payload);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  out_.flush();
  if (!out_) throw Error(path_.string(), "write failed (disk full?)");
}

}  // namespace tessera::train
