// Tests for the TensorBoard event writer (src/tessera/train/tensorboard_writer.h) and its
// use by MetricsLog: CRC-32C on known vectors, and event files read back by the real
// `tensorboard` package (tests/reference/read_tensorboard.py) with exact float32 values.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "reference_runner.h"
#include "tessera/train/metrics_log.h"
#include "tessera/train/tensorboard_writer.h"

namespace tessera::train {
namespace {

namespace fs = std::filesystem;

// What TensorBoard read from `dir` (see read_tensorboard.py).
nlohmann::json read_with_tensorboard(const fs::path& dir) {
  const auto result = testing::run_reference_script("read_tensorboard.py", "'" + dir.string() + "'");
  const auto start = result.output.rfind("\n{");
  try {
    return nlohmann::json::parse(result.output.substr(start == std::string::npos ? 0 : start + 1));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "read_tensorboard.py printed no JSON:\n" << result.output;
    return nlohmann::json::object({{"scalars", nlohmann::json::object()}});
  }
}

// (step, value) pairs of `tag` as TensorBoard has them.
std::vector<std::pair<int64_t, float>> points(const nlohmann::json& read, const std::string& tag) {
  std::vector<std::pair<int64_t, float>> out;
  if (!read["scalars"].contains(tag)) return out;
  for (const auto& p : read["scalars"][tag]) out.emplace_back(p[0].get<int64_t>(), static_cast<float>(p[1].get<double>()));
  return out;
}

TEST(TensorBoardCrc, KnownVectors) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0x00000000u);
  // RFC 3720 (iSCSI), appendix B.4.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  const uint32_t crc = 0xE3069283u;
  EXPECT_EQ(masked_crc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(TensorBoardRecord, Layout) {
  const std::string record = tfrecord("abc");
  ASSERT_EQ(record.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(record.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(record.substr(12, 3), "abc");
  uint32_t data_crc = 0;
  for (int i = 0; i < 4; ++i) data_crc |= static_cast<uint32_t>(static_cast<uint8_t>(record[15 + i])) << (8 * i);
  EXPECT_EQ(data_crc, masked_crc32c("abc"));
}

TEST(TensorBoardWriter, TensorBoardReadsTheScalarsExactly) {
  const auto dir = testing::scratch_dir() / "tb";
  // Values float32 cannot hold exactly, tiny and huge ones, negative ones, large steps.
  const std::vector<std::tuple<std::string, int64_t, double>> written = {
      {"train/loss", 0, 2.302585092994046}, {"train/loss", 1, 0.1},        {"train/loss", 7, -1e-8},
      {"train/lr", 1, 3.3333333333333335e-4}, {"eval/top1", 1, 0.8125},    {"eval/top1", (int64_t{1} << 40), 1e30},
      {"train/loss", 300, 1234567.891}};
  fs::path file;
  {
    TensorBoardWriter writer(dir);
    file = writer.path();
    for (const auto& [tag, step, value] : written) writer.add_scalar(tag, value, step);
    // Flushed per write: TensorBoard sees everything while the writer is still open.
    const auto live = read_with_tensorboard(dir);
    EXPECT_EQ(live["records"], static_cast<int64_t>(written.size()) + 1) << live.dump();
  }
  EXPECT_TRUE(std::regex_match(file.filename().string(), std::regex(R"(events\.out\.tfevents\.\d{10}\.[^.].*\.\d+\.\d+)")))
      << file.filename();

  const auto read = read_with_tensorboard(dir);
  EXPECT_EQ(read["file_version"], "brain.Event:2");
  EXPECT_EQ(read["records"], static_cast<int64_t>(written.size()) + 1);
  EXPECT_EQ(read["scalars"].size(), 3u) << read.dump();
  for (const std::string tag : {"train/loss", "train/lr", "eval/top1"}) {
    std::vector<std::pair<int64_t, float>> expected;
    for (const auto& [t, step, value] : written) {
      if (t == tag) expected.emplace_back(step, static_cast<float>(value));
    }
    EXPECT_EQ(points(read, tag), expected) << tag;
  }
}

TEST(TensorBoardWriter, SeveralScalarsInOneEvent) {
  const auto dir = testing::scratch_dir() / "tb";
  {
    TensorBoardWriter writer(dir);
    writer.add_scalars(5, {{"a", 1.5}, {"b", -2.25}, {"c/d", 0.3}});
  }
  const auto read = read_with_tensorboard(dir);
  EXPECT_EQ(read["records"], 2);
  EXPECT_EQ(points(read, "a"), (std::vector<std::pair<int64_t, float>>{{5, 1.5f}}));
  EXPECT_EQ(points(read, "b"), (std::vector<std::pair<int64_t, float>>{{5, -2.25f}}));
  EXPECT_EQ(points(read, "c/d"), (std::vector<std::pair<int64_t, float>>{{5, 0.3f}}));
}

TEST(TensorBoardWriter, TwoWritersTwoFiles) {
  const auto dir = testing::scratch_dir() / "tb";
  TensorBoardWriter a(dir), b(dir);
  EXPECT_NE(a.path(), b.path());
  EXPECT_TRUE(fs::exists(a.path()) && fs::exists(b.path()));
}

TEST(MetricsLogTensorBoard, TagNames) {
  EXPECT_EQ(tensorboard_tag("loss"), "train/loss");
  EXPECT_EQ(tensorboard_tag("lr"), "train/lr");
  EXPECT_EQ(tensorboard_tag("images_per_second"), "train/images_per_second");
  EXPECT_EQ(tensorboard_tag("train_loss"), "train/epoch_loss");
  EXPECT_EQ(tensorboard_tag("epoch_seconds"), "train/epoch_seconds");
  EXPECT_EQ(tensorboard_tag("eval_top1"), "eval/top1");
  EXPECT_EQ(tensorboard_tag("ema_eval_top5"), "eval_ema/top5");
}

TEST(MetricsLogTensorBoard, RowsBecomeScalars) {
  const auto dir = testing::scratch_dir();
  {
    MetricsLog log(dir / "metrics.jsonl", dir / "tensorboard");
    ASSERT_TRUE(log.tensorboard_file().has_value());
    log.write({{"step", 50}, {"epoch", 1}, {"loss", 1.75}, {"lr", 0.001}, {"images_per_second", 812.5}});
    log.write({{"step", 100}, {"epoch", 1}, {"loss", 1.5}, {"lr", 0.0009}, {"images_per_second", 800.25}});
    log.write({{"step", 120}, {"epoch", 1}, {"train_loss", 1.6}, {"eval_loss", 1.4}, {"eval_top1", 0.5},
               {"eval_top5", 0.9}, {"epoch_seconds", 12.5}, {"ema_eval_top1", 0.25}, {"note", "text is skipped"}});
  }
  std::ifstream jsonl(dir / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(jsonl, line);) ++lines;
  EXPECT_EQ(lines, 3);

  const auto read = read_with_tensorboard(dir / "tensorboard");
  using Points = std::vector<std::pair<int64_t, float>>;
  EXPECT_EQ(points(read, "train/loss"), (Points{{50, 1.75f}, {100, 1.5f}}));
  EXPECT_EQ(points(read, "train/lr"), (Points{{50, 0.001f}, {100, 0.0009f}}));
  EXPECT_EQ(points(read, "train/images_per_second"), (Points{{50, 812.5f}, {100, 800.25f}}));
  EXPECT_EQ(points(read, "train/epoch_loss"), (Points{{120, 1.6f}}));
  EXPECT_EQ(points(read, "eval/loss"), (Points{{120, 1.4f}}));
  EXPECT_EQ(points(read, "eval/top1"), (Points{{120, 0.5f}}));
  EXPECT_EQ(points(read, "eval/top5"), (Points{{120, 0.9f}}));
  EXPECT_EQ(points(read, "train/epoch_seconds"), (Points{{120, 12.5f}}));
  EXPECT_EQ(points(read, "eval_ema/top1"), (Points{{120, 0.25f}}));
  EXPECT_EQ(read["scalars"].size(), 9u) << read.dump();  // no step, epoch or text tags
}

// A run killed after step 7 and resumed from its checkpoint at step 5: TensorBoard shows
// steps 1-5 of the first file and 6-8 of the second, not both runs' steps 6 and 7.
TEST(MetricsLogTensorBoard, ResumeReplacesTheInterruptedRunsLaterPoints) {
  const auto dir = testing::scratch_dir();
  {
    MetricsLog first(dir / "metrics.jsonl", dir / "tensorboard");
    for (int step = 1; step <= 7; ++step) first.write({{"step", step}, {"loss", 10.0 + step}});
  }
  {
    MetricsLog resumed(dir / "metrics.jsonl", dir / "tensorboard");
    resumed.mark_resume(6);
    for (int step = 6; step <= 8; ++step) resumed.write({{"step", step}, {"loss", 20.0 + step}});
  }
  const auto read = read_with_tensorboard(dir / "tensorboard");
  EXPECT_EQ(read["files"].size(), 2u) << read.dump();
  using Points = std::vector<std::pair<int64_t, float>>;
  EXPECT_EQ(points(read, "train/loss"),
            (Points{{1, 11.0f}, {2, 12.0f}, {3, 13.0f}, {4, 14.0f}, {5, 15.0f}, {6, 26.0f}, {7, 27.0f}, {8, 28.0f}}));
}

TEST(MetricsLogTensorBoard, OffWithoutAFolder) {
  const auto dir = testing::scratch_dir();
  MetricsLog log(dir / "metrics.jsonl");
  log.write({{"step", 1}, {"loss", 1.0}});
  EXPECT_FALSE(log.tensorboard_file().has_value());
  EXPECT_FALSE(fs::exists(dir / "tensorboard"));
}

}  // namespace
}  // namespace tessera::train
