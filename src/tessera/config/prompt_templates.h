// Prompt templates for CLIP zero-shot classification (Radford et al., 2021, section
// 3.1.4; open_clip's zero-shot templates), read from a YAML file:
//
//   ["a photo of a {}.", "a black and white photo of the {}."]      a list of templates
//
//   templates: ["a photo of a {}.", "a blurry photo of a {}."]       or a map that can also
//   classnames: [t-shirt, trouser, pullover, ...]                    name the classes in prompts
//
// "{}" marks where a class name goes (a template without it gets the name appended).
#pragma once

#include <string>
#include <vector>

namespace tessera::config {

struct PromptTemplates {
  std::vector<std::string> templates;   // at least one
  std::vector<std::string> classnames;  // empty: the dataset's class names
};

// Throws tessera::Error naming file:line for a missing file, bad YAML, an empty list,
// a template or class name that is not a non-empty string, or an unknown key.
PromptTemplates load_prompt_templates(const std::string& path);

}  // namespace tessera::config
