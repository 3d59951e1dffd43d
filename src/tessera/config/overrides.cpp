// Parsing and applying "--set a.b.c=value" overrides.
#include "tessera/config/overrides.h"

#include <vector>

#include <yaml-cpp/yaml.h>

#include "tessera/core/error.h"

namespace tessera::config {

namespace {

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

std::vector<std::string> split_key(const std::string& key, const std::string& where) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
    if (part.empty()) throw Error(where, "empty key in '" + key + "'; expected e.g. optim.learning_rate");
    parts.push_back(part);
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

YAML::Node parse_value(const std::string& text, const std::string& where) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(where, "the value is not valid YAML: " + e.msg);
  }
}

}  // namespace

void apply_override(TreeNode& root, const std::string& assignment) {
  const std::string where = "--set " + assignment;
  const std::size_t eq = assignment.find('=');
  if (eq == std::string::npos) {
    throw Error(where, "expected key=value, e.g. --set optim.learning_rate=3e-4");
  }
  const std::vector<std::string> path = split_key(trim(assignment.substr(0, eq)), where);
  if (path.front() == "base") {
    throw Error(where, "'base' can only be given inside a recipe file");
  }
  const YAML::Node value = parse_value(assignment.substr(eq + 1), where);

  // Build {a: {b: {c: value}}} and merge it, so an override of a map merges into it
  // like a child recipe would.
  const Origin origin{where, 0, 0};
  TreeNode node = tree_from_yaml(path.back(), value, origin, false);
  for (std::size_t i = path.size() - 1; i-- > 0;) {
    TreeNode parent;
    parent.key = path[i];
    parent.origin = origin;
    parent.is_map = true;
    parent.children.push_back(std::move(node));
    node = std::move(parent);
  }
  TreeNode wrapper;
  wrapper.is_map = true;
  wrapper.children.push_back(std::move(node));
  merge_into(root, wrapper);
}

}  // namespace tessera::config
