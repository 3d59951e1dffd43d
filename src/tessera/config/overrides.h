// Command-line overrides: "a.b.c=value" strings, the value parsed as YAML, merged
// over the recipe after inheritance.
#pragma once

#include <string>

#include "tessera/config/recipe_tree.h"

namespace tessera::config {

// Merges one "a.b.c=value" into `root`. Keys it sets carry the origin
// "--set a.b.c=value". A missing '=', an empty key or bad YAML throws tessera::Error.
void apply_override(TreeNode& root, const std::string& assignment);

}  // namespace tessera::config
