// Comparing a run's saved config with the recipe resuming it (see resume_config.h).
#include "tessera/train/resume_config.h"

#include <spdlog/spdlog.h>

#include <map>
#include <sstream>

#include "tessera/config/load.h"
#include "tessera/core/error.h"

namespace tessera::train {

namespace {

// The resolved YAML as dotted key -> value text. The writer puts one key per line and
// indents each section by two spaces, so the indentation gives the section path.
std::map<std::string, std::string> flatten(const std::string& yaml) {
  std::map<std::string, std::string> out;
  std::vector<std::string> path;
  std::istringstream in(yaml);
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    const auto colon = line.find(':', first);
    if (colon == std::string::npos) continue;
    path.resize(first / 2);
    const std::string key = line.substr(first, colon - first);
    std::string value = colon + 1 < line.size() ? line.substr(colon + 2) : "";
    std::string dotted;
    for (const auto& p : path) dotted += p + ".";
    dotted += key;
    if (value.empty()) {
      path.push_back(key);  // a section
    } else {
      out[dotted] = value;
    }
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

bool may_change_on_resume(const std::string& key) {
  return key == "name" || starts_with(key, "logging.") || starts_with(key, "checkpoint.") || key == "train.epochs" ||
         key == "train.resume" || key == "train.threads" || key == "train.eval_every" ||
         key == "data.num_workers" || key == "data.prefetch_batches" || starts_with(key, "dist.");
}

void check_resume_config(const config::RecipeConfig& saved, const config::RecipeConfig& recipe,
                         const std::filesystem::path& run_config) {
  const auto a = flatten(config::to_yaml(saved));
  const auto b = flatten(config::to_yaml(recipe));
  std::vector<std::string> blocking;
  auto differ = [&](const std::string& key, const std::string& was, const std::string& now) {
    if (!may_change_on_resume(key)) {
      blocking.push_back(key + " (run: " + was + ", recipe: " + now + ")");
    } else if (key == "train.epochs") {
      spdlog::warn("resume: train.epochs changes from {} to {}; the learning-rate schedule is stretched to the new "
                   "length, so the steps ahead differ from the original plan", was, now);
    } else {
      spdlog::info("resume: {} changes from {} to {}", key, was, now);
    }
  };
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    const std::string now = it == b.end() ? "(unset)" : it->second;
    if (now != value) differ(key, value, now);
  }
  for (const auto& [key, value] : b) {
    if (!a.count(key)) differ(key, "(unset)", value);
  }
  if (!blocking.empty()) {
    std::string list;
    for (size_t i = 0; i < blocking.size(); ++i) list += (i ? "; " : "") + blocking[i];
    throw Error(run_config.string(),
                "the recipe does not match the run being resumed: " + list +
                    ". Resume with the run's own recipe (this config.yaml works), or start a fresh run "
                    "(train.resume: never)");
  }
}

}  // namespace tessera::train
