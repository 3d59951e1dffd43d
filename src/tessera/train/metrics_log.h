// metrics.jsonl: one JSON object per line (training rows every log_every steps, eval rows per evaluation).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace tessera::train {

class MetricsLog {
 public:
  explicit MetricsLog(const std::filesystem::path& path);
  // Appends `row` and flushes, so a killed run keeps every row written so far.
  void write(const nlohmann::json& row);

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace tessera::train
