// The resumable checkpoints in runs/<name>/checkpoints/: how a pair of files is named,
// when a pair counts as complete, finding the newest one, pruning, and cleaning up what
// a crash left half-written.
//
// A checkpoint at optimizer step S is two files, each written to a temporary and renamed:
//   step-000000S.safetensors        the weights (reference names; loads in timm as is)
//   step-000000S.state.safetensors  the train state (see train_state.h), written second
// The state file is the commit record: it is only renamed into place after the weights
// file is complete, and it names that file and its size. So a pair is complete exactly
// when its state file exists and its weights file has the recorded size; a crash at any
// point leaves either the previous complete pair or the new one, plus debris (a
// "*.tmp.<pid>" temporary, a weights file without state) that resume removes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/core/safetensors.h"

namespace tessera::train {

struct CheckpointFiles {
  int64_t step = 0;
  std::filesystem::path weights;  // step-XXXXXXXX.safetensors
  std::filesystem::path state;    // step-XXXXXXXX.state.safetensors
};

// The pair of file names for optimizer step `step` in `checkpoints_dir`.
CheckpointFiles checkpoint_files(const std::filesystem::path& checkpoints_dir, int64_t step);

// Every pair whose state file exists, newest (highest step) first. Completeness of the
// weights is checked when the state is read (read_complete_checkpoint).
std::vector<CheckpointFiles> listed_checkpoints(const std::filesystem::path& checkpoints_dir);

// A complete checkpoint with its train state already read.
struct LoadedCheckpoint {
  CheckpointFiles files;
  core::NamedTensors state;
};

// The newest complete checkpoint, or nullopt when there is none. A pair whose state file
// does not parse, or whose weights file is missing or has another size than the state
// records, is skipped with a warning (it is not loaded).
std::optional<LoadedCheckpoint> newest_complete_checkpoint(const std::filesystem::path& checkpoints_dir);

// The weights a run folder offers: checkpoints/last.safetensors, else those of its newest
// complete checkpoint; nullopt when it has neither.
std::optional<std::filesystem::path> run_weights(const std::filesystem::path& run_dir);

// Removes what a crash during a save leaves behind: temporaries ("*.tmp.*") and step
// weights files without a state file. Returns the removed paths.
std::vector<std::filesystem::path> remove_incomplete_checkpoints(const std::filesystem::path& checkpoints_dir);

// Keeps the `keep` newest step checkpoints and removes the older ones (state file
// first, so a crash midway never leaves a state without its weights). keep <= 0 keeps all.
std::vector<std::filesystem::path> prune_checkpoints(const std::filesystem::path& checkpoints_dir, int64_t keep);

// Test hook for crash safety: writes the first half of `bytes` to the temporary that
// write_file_atomic would use for `path`, then kills the process with SIGKILL, as a
// power cut in the middle of a save would. Never returns.
[[noreturn]] void crash_while_writing(const std::filesystem::path& path, std::string_view bytes);

}  // namespace tessera::train
