// Reading recipes: YAML files (with `base:` inheritance) and `--set` overrides into
// one validated RecipeConfig, and writing a resolved config back out as YAML.
#pragma once

#include <string>
#include <vector>

#include "tessera/config/recipe.h"

namespace tessera::config {

// Loads `path`, merges its `base:` chain and applies `overrides` ("a.b=value", YAML
// syntax for the value). Throws tessera::Error naming file:line and key on any
// unknown key (with a near-miss suggestion), wrong type or out-of-range value.
RecipeConfig load(const std::string& path, const std::vector<std::string>& overrides = {});

// Same, from YAML text; `origin` names it in error messages.
RecipeConfig load_string(const std::string& yaml, const std::string& origin,
                         const std::vector<std::string>& overrides = {});

// Every key with its value, defaults included; load_string(to_yaml(c)) == c.
std::string to_yaml(const RecipeConfig& config);

}  // namespace tessera::config
