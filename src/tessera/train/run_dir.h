// The run folder runs/<name>/: created fresh for every run so nothing earlier is overwritten.
#pragma once

#include <filesystem>
#include <string>

namespace tessera::train {

// <output_dir>/<name>, or <name>-2, <name>-3, ... when that folder already exists.
// Creates it with its checkpoints/ subfolder.
std::filesystem::path create_run_dir(const std::filesystem::path& output_dir, const std::string& name);

}  // namespace tessera::train
