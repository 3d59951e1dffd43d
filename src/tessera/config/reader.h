// The typed reader: a merged recipe tree into a validated RecipeConfig, checking
// every key, type, range and enum name.
#pragma once

#include <string>

#include "tessera/config/recipe.h"
#include "tessera/config/recipe_tree.h"

namespace tessera::config {

// Reads `root` (after inheritance and overrides). Keys that are absent keep the
// defaults of recipe.h; `default_name` is used when `name` is absent. Throws
// tessera::Error at the origin of the first bad key.
RecipeConfig read_recipe(const TreeNode& root, const std::string& default_name);

}  // namespace tessera::config
