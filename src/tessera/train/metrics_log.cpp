// metrics.jsonl writer (see metrics_log.h).
#include "tessera/train/metrics_log.h"

#include "tessera/core/error.h"

namespace tessera::train {

MetricsLog::MetricsLog(const std::filesystem::path& path) : path_(path), out_(path, std::ios::app) {
  if (!out_) throw Error(path.string(), "cannot open for writing");
}

void MetricsLog::write(const nlohmann::json& row) {
  out_ << row.dump() << '\n';
  out_.flush();
  if (!out_) throw Error(path_.string(), "write failed (disk full?)");
}

}  // namespace tessera::train
