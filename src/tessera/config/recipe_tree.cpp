// Building the origin-tracking recipe tree from YAML, and merging trees.
#include "tessera/config/recipe_tree.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "tessera/core/error.h"

namespace tessera::config {

std::string Origin::text() const {
  if (line <= 0) return source;
  return source + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const TreeNode* TreeNode::find(const std::string& child_key) const {
  for (const auto& child : children) {
    if (child.key == child_key) return &child;
  }
  return nullptr;
}

TreeNode* TreeNode::find(const std::string& child_key) {
  for (auto& child : children) {
    if (child.key == child_key) return &child;
  }
  return nullptr;
}

void TreeNode::erase(const std::string& child_key) {
  children.erase(std::remove_if(children.begin(), children.end(),
                                [&](const TreeNode& c) { return c.key == child_key; }),
                 children.end());
}

namespace {

Origin origin_at(const std::string& source, const YAML::Mark& mark) {
  // yaml-cpp marks are 0-based; a null mark (-1) means "no position".
  if (mark.line < 0) return Origin{source, 0, 0};
  return Origin{source, mark.line + 1, mark.column + 1};
}

Value to_value(const YAML::Node& node) {
  Value value;
  if (node.IsScalar()) {
    value.kind = Value::Kind::Scalar;
    value.scalar = node.Scalar();
  } else if (node.IsSequence()) {
    value.kind = Value::Kind::Sequence;
    for (const auto& item : node) value.items.push_back(to_value(item));
  } else if (node.IsMap()) {
    value.kind = Value::Kind::Map;
    for (const auto& entry : node) value.fields.emplace_back(entry.first.Scalar(), to_value(entry.second));
  }
  return value;
}

// `path` is the dotted key of `node`, for the duplicate-key message.
void fill_children(TreeNode& node, const YAML::Node& map, const std::string& path,
                   bool positions) {
  node.is_map = true;
  for (const auto& entry : map) {
    const Origin where =
        positions ? origin_at(node.origin.source, entry.first.Mark()) : node.origin;
    if (!entry.first.IsScalar()) {
      throw Error(where.text(), "a key must be a plain name, not a list or a map");
    }
    const std::string key = entry.first.Scalar();
    const std::string child_path = path.empty() ? key : path + "." + key;
    if (const TreeNode* first = node.find(key)) {
      throw Error(where.text(), "duplicate key '" + child_path + "' (first given at " +
                                    first->origin.text() + ")");
    }
    TreeNode child;
    child.key = key;
    child.origin = where;
    if (entry.second.IsMap()) {
      fill_children(child, entry.second, child_path, positions);
    } else {
      child.value = to_value(entry.second);
    }
    node.children.push_back(std::move(child));
  }
}

}  // namespace

TreeNode tree_from_yaml(const std::string& key, const YAML::Node& value, const Origin& origin,
                        bool positions) {
  TreeNode node;
  node.key = key;
  node.origin = origin;
  if (value.IsMap()) {
    fill_children(node, value, key, positions);
  } else {
    node.value = to_value(value);
  }
  return node;
}

TreeNode parse_tree(const std::string& text, const std::string& source) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw Error(origin_at(source, e.mark).text(), "YAML syntax error: " + e.msg);
  }
  if (documents.size() > 1) {
    throw Error(source, "a recipe must be one YAML document, found " +
                            std::to_string(documents.size()) + " (separated by '---')");
  }
  TreeNode root;
  root.origin = Origin{source, 0, 0};
  root.is_map = true;
  if (documents.empty() || documents[0].IsNull()) return root;  // an empty recipe: all defaults
  const YAML::Node& doc = documents[0];
  if (!doc.IsMap()) {
    throw Error(origin_at(source, doc.Mark()).text(),
                std::string("a recipe must be a map of keys (name, model, data, ...), got ") +
                    (doc.IsSequence() ? "a list" : "'" + doc.Scalar() + "'"));
  }
  fill_children(root, doc, "", true);
  return root;
}

void merge_into(TreeNode& into, const TreeNode& from) {
  if (!(into.is_map && from.is_map)) {
    if (into.is_map && !from.is_map && from.value.kind == Value::Kind::Null) return;
    into = from;
    return;
  }
  for (const auto& child : from.children) {
    if (TreeNode* existing = into.find(child.key)) {
      merge_into(*existing, child);
    } else {
      into.children.push_back(child);
    }
  }
}

}  // namespace tessera::config
