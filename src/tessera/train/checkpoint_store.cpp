// Checkpoint file naming, completeness, pruning and cleanup (see checkpoint_store.h).
#include "tessera/train/checkpoint_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>

#include "tessera/core/error.h"

namespace tessera::train {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "step-";
constexpr std::string_view kWeightsSuffix = ".safetensors";
constexpr std::string_view kStateSuffix = ".state.safetensors";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The step of "step-00000120<suffix>", or nullopt for any other name.
std::optional<int64_t> step_of(const std::string& name, std::string_view suffix) {
  if (name.rfind(kPrefix, 0) != 0 || !ends_with(name, suffix)) return std::nullopt;
  const std::string digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
    return std::nullopt;
  }
  return std::stoll(digits);
}

std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) out.push_back(it->path());
  return out;
}

}  // namespace

CheckpointFiles checkpoint_files(const fs::path& checkpoints_dir, int64_t step) {
  char stem[32];
  std::snprintf(stem, sizeof stem, "step-%08lld", static_cast<long long>(step));
  return {step, checkpoints_dir / (std::string(stem) + std::string(kWeightsSuffix)),
          checkpoints_dir / (std::string(stem) + std::string(kStateSuffix))};
}

std::vector<CheckpointFiles> listed_checkpoints(const fs::path& checkpoints_dir) {
  std::vector<CheckpointFiles> found;
  for (const auto& path : entries(checkpoints_dir)) {
    if (auto step = step_of(path.filename().string(), kStateSuffix)) {
      found.push_back(checkpoint_files(checkpoints_dir, *step));
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.step > b.step; });
  return found;
}

std::optional<LoadedCheckpoint> newest_complete_checkpoint(const fs::path& checkpoints_dir) {
  for (const auto& files : listed_checkpoints(checkpoints_dir)) {
    std::error_code ec;
    const auto weights_bytes = fs::file_size(files.weights, ec);
    if (ec) {
      spdlog::warn("checkpoint {}: its weights file is missing; skipped", files.state.string());
      continue;
    }
    LoadedCheckpoint loaded{files, {}};
    try {
      loaded.state = core::load_safetensors(files.state);
    } catch (const Error& e) {
      // Renames are atomic, so only outside damage gets here; an older pair may be fine.
      spdlog::warn("checkpoint {} is unreadable ({}); skipped", files.state.string(), e.what());
      continue;
    }
    const auto recorded = loaded.state.metadata.find("weights_bytes");
    if (recorded == loaded.state.metadata.end() || recorded->second != std::to_string(weights_bytes)) {
      spdlog::warn("checkpoint {}: the weights file has {} bytes, the state records {}; skipped",
                   files.weights.string(), weights_bytes,
                   recorded == loaded.state.metadata.end() ? "none" : recorded->second);
      continue;
    }
    return loaded;
  }
  return std::nullopt;
}

std::optional<std::filesystem::path> run_weights(const std::filesystem::path& run_dir) {
  const auto last = run_dir / "checkpoints" / "last.safetensors";
  if (std::filesystem::exists(last)) return last;
  if (auto checkpoint = newest_complete_checkpoint(run_dir / "checkpoints")) return checkpoint->files.weights;
  return std::nullopt;
}

std::vector<fs::path> remove_incomplete_checkpoints(const fs::path& checkpoints_dir) {
  std::vector<fs::path> removed;
  for (const auto& path : entries(checkpoints_dir)) {
    const std::string name = path.filename().string();
    bool debris = name.find(".tmp.") != std::string::npos;  // write_file_atomic's temporaries
    if (!debris && !ends_with(name, kStateSuffix)) {
      if (auto step = step_of(name, kWeightsSuffix)) debris = !fs::exists(checkpoint_files(checkpoints_dir, *step).state);
    }
    std::error_code ec;
    if (debris && fs::remove(path, ec)) removed.push_back(path);
  }
  return removed;
}

std::vector<fs::path> prune_checkpoints(const fs::path& checkpoints_dir, int64_t keep) {
  std::vector<fs::path> removed;
  if (keep <= 0) return removed;
  const auto listed = listed_checkpoints(checkpoints_dir);
  for (size_t i = static_cast<size_t>(keep); i < listed.size(); ++i) {
    std::error_code ec;
    // State first: without it the weights are debris, never a checkpoint that looks complete.
    if (fs::remove(listed[i].state, ec)) removed.push_back(listed[i].state);
    if (fs::remove(listed[i].weights, ec)) removed.push_back(listed[i].weights);
  }
  return removed;
}

void crash_while_writing(const fs::path& path, std::string_view bytes) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    const size_t half = bytes.size() / 2;
    if (::write(fd, bytes.data(), half) < 0) std::perror("crash_while_writing");
    ::fsync(fd);
  }
  std::fprintf(stderr, "TESSERA_TEST_CRASH_DURING_SAVE: killing the process while writing %s\n", tmp.c_str());
  std::fflush(stderr);
  std::raise(SIGKILL);
  ::_exit(137);  // not reached
}

}  // namespace tessera::train
