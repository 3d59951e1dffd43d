// Recipe files and their `base:` chains: read a file, load every base it names
// (relative to it), and merge them under it, child winning.
#pragma once

#include <filesystem>
#include <string>

#include "tessera/config/recipe_tree.h"

namespace tessera::config {

// Reads and parses one recipe file, without following `base:`. A missing or
// unreadable file throws tessera::Error naming it.
TreeNode read_tree_file(const std::filesystem::path& path);

// Replaces `tree`'s top-level `base:` (a file name or a list of them, merged in
// order) by the merged contents of those files, resolved against `dir`, with
// `tree` merged last. A base's `name` is not inherited. `self` names the file
// `tree` came from, to catch cycles.
TreeNode resolve_bases(TreeNode tree, const std::filesystem::path& dir,
                       const std::filesystem::path& self);

}  // namespace tessera::config
