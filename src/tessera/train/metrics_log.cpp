// metrics.jsonl writer and its TensorBoard mirror (see metrics_log.h).
#include "tessera/train/metrics_log.h"

#include <utility>
#include <vector>

#include "tessera/core/error.h"

namespace tessera::train {

namespace {
bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }
}  // namespace

std::string tensorboard_tag(const std::string& key) {
  if (starts_with(key, "ema_eval_")) return "eval_ema/" + key.substr(9);
  if (starts_with(key, "eval_")) return "eval/" + key.substr(5);
  // The epoch's mean training loss is not the per-step "loss": keep the two curves apart.
  if (starts_with(key, "train_")) return "train/epoch_" + key.substr(6);
  return "train/" + key;
}

MetricsLog::MetricsLog(const std::filesystem::path& path, const std::optional<std::filesystem::path>& tensorboard_dir)
    : path_(path), out_(path, std::ios::app) {
  if (!out_) throw Error(path.string(), "cannot open for writing");
  if (tensorboard_dir) tensorboard_ = std::make_unique<TensorBoardWriter>(*tensorboard_dir);
}

void MetricsLog::write(const nlohmann::json& row) {
  out_ << row.dump() << '\n';
  out_.flush();
  if (!out_) throw Error(path_.string(), "write failed (disk full?)");
  if (!tensorboard_ || !row.is_object()) return;
  const auto step = row.find("step");
  const int64_t at_step = step != row.end() && step->is_number_integer() ? step->get<int64_t>() : 0;
  std::vector<std::pair<std::string, double>> scalars;
  for (const auto& [key, value] : row.items()) {
    if (key == "step" || key == "epoch" || !value.is_number()) continue;
    scalars.emplace_back(tensorboard_tag(key), value.get<double>());
  }
  if (!scalars.empty()) tensorboard_->add_scalars(at_step, scalars);
}

void MetricsLog::mark_resume(int64_t first_new_step) {
  if (tensorboard_) tensorboard_->add_restart(first_new_step);
}

std::optional<std::filesystem::path> MetricsLog::tensorboard_file() const {
  if (!tensorboard_) return std::nullopt;
  return tensorboard_->path();
}

}  // namespace tessera::train
