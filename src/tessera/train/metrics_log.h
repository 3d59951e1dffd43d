// metrics.jsonl: one JSON object per line (training rows every log_every steps, eval rows
// per evaluation), and optionally the same numbers as TensorBoard scalars.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "tessera/train/tensorboard_writer.h"

namespace tessera::train {

// The TensorBoard tag of a metrics.jsonl field: "eval_<x>" → "eval/<x>",
// "ema_eval_<x>" → "eval_ema/<x>", "train_<x>" (epoch averages) → "train/epoch_<x>",
// anything else (per-step values: loss, lr, images_per_second, ...) → "train/<key>".
std::string tensorboard_tag(const std::string& key);

class MetricsLog {
 public:
  // With `tensorboard_dir`, every numeric field of a row other than step and epoch is
  // also written as a scalar at the row's step, to an event file in that folder.
  explicit MetricsLog(const std::filesystem::path& path,
                      const std::optional<std::filesystem::path>& tensorboard_dir = std::nullopt);
  // Appends `row` and flushes, so a killed run keeps every row written so far.
  void write(const nlohmann::json& row);

  // A resumed run continues at optimizer step `first_new_step`: TensorBoard drops the
  // points the interrupted run logged from that step on (as metrics.jsonl's rows are).
  void mark_resume(int64_t first_new_step);

  // The event file, when TensorBoard output is on.
  std::optional<std::filesystem::path> tensorboard_file() const;

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

}  // namespace tessera::train
