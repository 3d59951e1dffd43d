// The writer: a RecipeConfig as readable YAML in the reader's layout, so that reading
// it back gives the same config.
#pragma once

#include <string>

#include "tessera/config/recipe.h"

namespace tessera::config {

// Every field in struct order, one section per struct; unset optionals are left out.
// Numbers are written in their shortest exact form, so they read back bit-identical.
std::string write_recipe(const RecipeConfig& config);

}  // namespace tessera::config
