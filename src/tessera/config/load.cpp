// Loading a recipe: file -> tree -> bases merged -> overrides applied -> typed
// reader; and to_yaml through the writer.
#include "tessera/config/load.h"

#include <filesystem>

#include "tessera/config/inheritance.h"
#include "tessera/config/overrides.h"
#include "tessera/config/reader.h"
#include "tessera/config/recipe_tree.h"
#include "tessera/config/writer.h"

namespace tessera::config {

namespace fs = std::filesystem;

namespace {

RecipeConfig finish_loading(TreeNode tree, const fs::path& self, const std::string& default_name,
                            const std::vector<std::string>& overrides) {
  TreeNode merged = resolve_bases(std::move(tree), self.parent_path(), self);
  for (const auto& assignment : overrides) apply_override(merged, assignment);
  return read_recipe(merged, default_name);
}

}  // namespace

RecipeConfig load(const std::string& path, const std::vector<std::string>& overrides) {
  const fs::path file(path);
  return finish_loading(read_tree_file(file), file, file.stem().string(), overrides);
}

// `base:` in a string resolves against the folder of `origin` when it is a path, else
// against the current directory.
RecipeConfig load_string(const std::string& yaml, const std::string& origin,
                         const std::vector<std::string>& overrides) {
  return finish_loading(parse_tree(yaml, origin), fs::path(origin), "run", overrides);
}

std::string to_yaml(const RecipeConfig& config) { return write_recipe(config); }

}  // namespace tessera::config
