// The distillation teacher (see teacher.h).
#include "tessera/train/teacher.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tessera/config/load.h"
#include "tessera/core/error.h"
#include "tessera/models/pretrained.h"
#include "tessera/models/registry.h"
#include "tessera/train/checkpoint_store.h"
#include "tessera/train/task_factory.h"

namespace tessera::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kKey = "distill.teacher_weights";

// The model section a bundle's tessera.json records (the recipe's keys, as JSON, which is
// also YAML: the recipe loader checks it).
config::ModelConfig bundle_model(const fs::path& bundle) {
  const auto path = bundle / "tessera.json";
  nlohmann::json meta;
  try {
    std::ifstream(path) >> meta;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string(), std::string("not a readable bundle description: ") + e.what());
  }
  if (!meta.is_object() || !meta.contains("model") || !meta["model"].is_object()) {
    throw Error(path.string(), "has no model section");
  }
  return config::load_string(nlohmann::json{{"model", meta["model"]}}.dump(), path.string() + " (model)").model;
}

}  // namespace

TeacherSource resolve_teacher(const config::DistillConfig& distill) {
  if (!distill.teacher_weights) throw Error(kKey, "is needed for distillation");
  const fs::path where = *distill.teacher_weights;
  TeacherSource source;
  if (fs::is_directory(where) && fs::exists(where / "config.yaml")) {
    source.model = distill.teacher ? *distill.teacher : config::load((where / "config.yaml").string()).model;
    const auto weights = run_weights(where);
    if (!weights) {
      throw Error(kKey, where.string() + " is a run folder without weights (no checkpoints/last.safetensors and no " +
                            "complete step checkpoint); let the teacher's run finish first");
    }
    source.weights = *weights;
    source.origin = "run " + where.string();
  } else if (fs::is_directory(where) && fs::exists(where / "tessera.json")) {
    source.model = distill.teacher ? *distill.teacher : bundle_model(where);
    source.weights = where / "model.safetensors";
    source.origin = "bundle " + where.string();
  } else if (fs::is_regular_file(where)) {
    if (!distill.teacher) {
      throw Error("distill.teacher", "is needed with a weights file (" + where.string() +
                                         "): the teacher's model name and overrides");
    }
    source.model = *distill.teacher;
    source.weights = where;
    source.origin = "file " + where.string();
  } else if (fs::is_directory(where)) {
    throw Error(kKey, where.string() + " is neither a run folder (config.yaml) nor a bundle (tessera.json)");
  } else {
    throw Error(kKey, "no such file or folder: " + where.string());
  }
  // A teacher is evaluated as it was trained: its pretrained starting point plays no part.
  source.model.pretrained.reset();
  return source;
}

models::ImageClassifier load_teacher(const config::DistillConfig& distill, const config::ModelConfig& student) {
  auto source = resolve_teacher(distill);
  if (!source.model.num_classes) source.model.num_classes = student.num_classes;
  if (!source.model.in_chans) source.model.in_chans = student.in_chans;
  if (is_clip(source.model)) {
    throw Error("distill.teacher", "a CLIP model cannot be a distillation teacher here (an image classifier is needed)");
  }
  auto teacher = models::create(source.model);
  const auto loaded = models::load_pretrained(*teacher, source.weights);
  if (!loaded.new_heads.empty() || !loaded.dropped_heads.empty()) {
    throw Error(source.weights.string(), "the teacher's classifier does not fit the student's " +
                                             std::to_string(teacher->num_classes()) +
                                             " classes; distill from a teacher trained on the same classes");
  }
  spdlog::info("distillation teacher: {} from {} ({})", source.model.name, source.weights.string(), source.origin);
  return teacher;
}

}  // namespace tessera::train
