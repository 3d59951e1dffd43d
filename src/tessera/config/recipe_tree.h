// A recipe as a tree of keys that remembers where each key was written (file:line:col
// or the --set text), and the deep merge that `base:` inheritance and overrides use.
#pragma once

#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace tessera::config {

// Where a key came from, for error messages.
struct Origin {
  std::string source;  // recipe file path, or the override text "--set a.b=1"
  int line = 0;        // 1-based; 0 = no position (an override, a whole file)
  int column = 0;      // 1-based

  // "recipes/a.yaml:12:3", or the source alone when there is no position.
  std::string text() const;
};

// A value that is not a map of keys, copied out of YAML. (yaml-cpp nodes share
// their data and assigning one rewrites every copy, so the tree holds plain values.)
struct Value {
  enum class Kind { Null, Scalar, Sequence, Map };
  Kind kind = Kind::Null;
  std::string scalar;        // Kind::Scalar: the text as written
  std::vector<Value> items;  // Kind::Sequence
  // Kind::Map, which only occurs inside a sequence (optim.lr_groups: [{match: ..., lr_scale: ...}]):
  // its keys and values in the order written.
  std::vector<std::pair<std::string, Value>> fields;
};

// One key with its value. Maps are unpacked into children so that merging keeps
// each key's own origin.
struct TreeNode {
  std::string key;  // empty for the root
  Origin origin;    // where the key was written
  bool is_map = false;
  Value value;      // when !is_map
  std::vector<TreeNode> children;  // when is_map, in the order written

  const TreeNode* find(const std::string& child_key) const;
  TreeNode* find(const std::string& child_key);
  void erase(const std::string& child_key);
};

// Parses YAML text whose top level must be a map (an empty document is an empty
// map). Syntax errors and duplicate keys throw tessera::Error with source:line:col.
TreeNode parse_tree(const std::string& text, const std::string& source);

// Builds the node for `key` holding `value`. With `positions`, nested keys get their
// own line and column in `origin.source`; without (overrides), all share `origin`.
TreeNode tree_from_yaml(const std::string& key, const YAML::Node& value, const Origin& origin,
                        bool positions);

// Deep merge of `from` into `into`: maps merge key by key, recursively; anything
// else in `from` replaces what was there whole. An empty (null) value over a map
// leaves the map alone, so an empty `model:` section does not erase a base's.
void merge_into(TreeNode& into, const TreeNode& from);

}  // namespace tessera::config
