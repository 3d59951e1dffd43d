// Reading prompt templates (see prompt_templates.h).
#include "tessera/config/prompt_templates.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "tessera/core/error.h"
#include "tessera/core/suggest.h"

namespace tessera::config {

namespace {

std::string where(const std::string& path, const YAML::Node& node) {
  const auto mark = node.Mark();
  return mark.is_null() ? path : path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::vector<std::string> strings_of(const std::string& path, const YAML::Node& node, const std::string& what) {
  if (!node.IsSequence() || node.size() == 0) {
    throw Error(where(path, node), what + ": expected a non-empty list of strings");
  }
  std::vector<std::string> out;
  for (const auto& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      throw Error(where(path, item), what + ": every entry must be a non-empty string");
    }
    out.push_back(item.Scalar());
  }
  return out;
}

}  // namespace

PromptTemplates load_prompt_templates(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw Error(path, "no such templates file");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1), e.msg);
  }
  PromptTemplates out;
  if (root.IsSequence()) {
    out.templates = strings_of(path, root, "templates");
    return out;
  }
  if (!root.IsMap()) throw Error(path, "expected a list of templates, or a map with 'templates' (and 'classnames')");
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (key == "templates") {
      out.templates = strings_of(path, entry.second, "templates");
    } else if (key == "classnames") {
      out.classnames = strings_of(path, entry.second, "classnames");
    } else {
      std::string message = "unknown key '" + key + "'";
      if (const auto near = core::closest_match(key, {"templates", "classnames"})) {
        message += "; did you mean '" + *near + "'?";
      }
      throw Error(where(path, entry.first), message);
    }
  }
  if (out.templates.empty()) throw Error(path, "templates: missing (a list of prompts with {} for the class name)");
  return out;
}

}  // namespace tessera::config
