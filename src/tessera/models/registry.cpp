// Model registry (see registry.h): the union of every family's entries.
#include "tessera/models/registry.h"

#include <c10/util/Exception.h>

#include "tessera/core/error.h"
#include "tessera/core/suggest.h"

namespace tessera::models {

namespace {

const std::vector<ModelEntry>& all_entries() {
  static const std::vector<ModelEntry> entries = [] {
    std::vector<ModelEntry> all;
    for (auto family : {vit_entries, deit_entries, swin_entries, clip_entries}) {
      for (auto& entry : family()) all.push_back(std::move(entry));
    }
    return all;
  }();
  return entries;
}

}  // namespace

std::vector<ModelInfo> list_models() {
  std::vector<ModelInfo> infos;
  for (const auto& e : all_entries()) infos.push_back({e.name, e.family, e.num_params()});
  return infos;
}

const ModelEntry& find_model(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& e : all_entries()) {
    if (e.name == name) return e;
    names.push_back(e.name);
  }
  std::string message = "unknown model '" + name + "'";
  if (auto near = core::closest_match(name, names)) message += "; did you mean '" + *near + "'?";
  throw Error("model.name", message + " (`tessera models` lists them)");
}

ImageClassifier create(const config::ModelConfig& config) {
  const auto& entry = find_model(config.name);
  if (!entry.create_classifier) {
    throw Error("model.name", "'" + config.name + "' is a " + entry.family + " model, not an image classifier");
  }
  try {
    return entry.create_classifier(config);
  } catch (const c10::Error& e) {
    throw Error("model (" + config.name + ")", e.msg());
  }
}

}  // namespace tessera::models
