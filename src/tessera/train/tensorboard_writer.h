// TensorBoard scalars without TensorFlow: an event file of TFRecords, each holding a
// hand-encoded protobuf `Event` (tensorflow/core/util/event.proto, summary.proto).
//
// A TFRecord is: uint64 length (little-endian), masked CRC32C of those 8 bytes, the
// payload, masked CRC32C of the payload. The first record carries file_version
// "brain.Event:2"; each later one a Summary of simple_value scalars for one step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::train {

// CRC-32C (Castagnoli polynomial, reflected 0x82F63B78): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view bytes);

// TFRecord's masking, so a CRC stored inside CRC'd data does not look like a CRC:
// ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(std::string_view bytes);

// One TFRecord around `payload`.
std::string tfrecord(std::string_view payload);

// Encoded Event messages (the payloads).
std::string file_version_event(double wall_time);
std::string scalars_event(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& scalars);
// SessionLog START at `step`: TensorBoard drops the points it read before with step >= `step`.
std::string restart_event(double wall_time, int64_t step);

class TensorBoardWriter {
 public:
  // Creates `dir` if needed and a new event file in it,
  // events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n> (n counts writers in this
  // process), starting with the file-version record.
  explicit TensorBoardWriter(const std::filesystem::path& dir);

  // Scalars (stored as float32, as TensorBoard's simple_value) for one step, in one
  // event; flushed at once so a running TensorBoard shows them.
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars);
  void add_scalar(const std::string& tag, double value, int64_t step) { add_scalars(step, {{tag, value}}); }

  // After a resume: the points an interrupted run wrote from `first_new_step` on (in
  // this folder's older files) are out of date, and TensorBoard forgets them.
  void add_restart(int64_t first_new_step);

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(std::string_view payload);

  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace tessera::train
