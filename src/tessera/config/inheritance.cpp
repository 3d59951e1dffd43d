// Following `base:` chains between recipe files, with cycle detection.
#include "tessera/config/inheritance.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "tessera/core/error.h"

namespace tessera::config {

namespace fs = std::filesystem;

TreeNode read_tree_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path.string(), "recipe file not found");
  if (fs::is_directory(path, ec)) throw Error(path.string(), "is a folder, not a recipe file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot open recipe file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_tree(text.str(), path.string());
}

namespace {

// The files being loaded, outermost first: `display` for messages, `identity` to
// compare (two spellings of one file must match).
struct Chain {
  std::vector<fs::path> display;
  std::vector<fs::path> identity;
};

fs::path identity_of(const fs::path& path) {
  std::error_code ec;
  fs::path id = fs::weakly_canonical(path, ec);
  return ec ? path.lexically_normal() : id;
}

std::vector<std::string> base_names(const TreeNode& base) {
  const std::string where = base.origin.text();
  const char* expected = "base: expected a file name or a list of file names";
  if (base.is_map) throw Error(where, std::string(expected) + ", got a map");
  std::vector<std::string> names;
  if (base.value.kind == Value::Kind::Scalar) {
    names.push_back(base.value.scalar);
  } else if (base.value.kind == Value::Kind::Sequence) {
    for (const auto& item : base.value.items) {
      if (item.kind != Value::Kind::Scalar) {
        throw Error(where, std::string(expected) + ", got a nested list or map");
      }
      names.push_back(item.scalar);
    }
  } else {
    throw Error(where, std::string(expected) + ", got nothing");
  }
  for (const auto& name : names) {
    if (name.empty()) throw Error(where, "base: a file name must not be empty");
  }
  return names;
}

TreeNode resolve(TreeNode tree, const fs::path& dir, Chain& chain) {
  const TreeNode* base = tree.find("base");
  if (base == nullptr) return tree;
  const Origin base_origin = base->origin;
  const std::vector<std::string> names = base_names(*base);
  tree.erase("base");

  TreeNode merged;
  merged.origin = tree.origin;
  merged.is_map = true;
  for (const auto& name : names) {
    const fs::path path = (dir / name).lexically_normal();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      throw Error(base_origin.text(), "base file '" + path.string() + "' not found");
    }
    const fs::path id = identity_of(path);
    for (std::size_t i = 0; i < chain.identity.size(); ++i) {
      if (chain.identity[i] != id) continue;
      std::string cycle;
      for (std::size_t k = i; k < chain.display.size(); ++k) cycle += chain.display[k].string() + " -> ";
      throw Error(base_origin.text(), "base cycle: " + cycle + path.string());
    }
    chain.display.push_back(path);
    chain.identity.push_back(id);
    TreeNode resolved = resolve(read_tree_file(path), path.parent_path(), chain);
    chain.display.pop_back();
    chain.identity.pop_back();
    // A run's name belongs to the recipe being run (default: its file stem); a base
    // naming itself must not send every child into the same run folder.
    resolved.erase("name");
    merge_into(merged, resolved);
  }
  merge_into(merged, tree);
  return merged;
}

}  // namespace

TreeNode resolve_bases(TreeNode tree, const fs::path& dir, const fs::path& self) {
  Chain chain;
  chain.display.push_back(self);
  chain.identity.push_back(identity_of(self));
  return resolve(std::move(tree), dir, chain);
}

}  // namespace tessera::config
