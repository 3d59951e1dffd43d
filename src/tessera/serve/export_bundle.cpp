// From a run or checkpoint to a bundle (see export_bundle.h).
#include "tessera/serve/export_bundle.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include <set>
#include <sstream>

#include "tessera/config/load.h"
#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"
#include "tessera/data/pipeline.h"
#include "tessera/models/clip.h"
#include "tessera/models/registry.h"
#include "tessera/serve/reference_model.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/checkpoint_store.h"

namespace tessera::serve {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kStateSuffix = ".state.safetensors";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What export reads: the weights file, where EMA weights come from, and the recipe.
struct Source {
  fs::path run_dir;    // empty for a file outside a run folder
  fs::path weights;    // loaded first (its metadata names the classes and the step)
  fs::path ema_state;  // a step checkpoint's train state holding ema/<name>; empty otherwise
  bool ema = false;
  config::RecipeConfig recipe;
};

// Where --ema finds the average next to `weights`.
void choose_ema(Source& s) {
  const auto name = s.weights.filename().string();
  const auto dir = s.weights.parent_path();
  if (name == "last_ema.safetensors") {
    s.ema = true;
  } else if (name == "last.safetensors") {
    if (!fs::exists(dir / "last_ema.safetensors")) {
      throw Error(s.weights.string(),
                  "--ema: the run kept no EMA weights (last_ema.safetensors; train.ema.decay was 0)");
    }
    s.weights = dir / "last_ema.safetensors";
    s.ema = true;
  } else if (name.rfind("step-", 0) == 0) {
    s.ema_state = dir / (s.weights.stem().string() + std::string(kStateSuffix));
    if (!fs::exists(s.ema_state))
      throw Error(s.weights.string(), "--ema: no train state beside it (" + s.ema_state.filename().string() + ")");
    s.ema = true;
  } else {
    throw Error(s.weights.string(), "--ema: only a run's checkpoints carry EMA weights (last_ema.safetensors, step-N)");
  }
}

Source resolve(const ExportOptions& o) {
  Source s;
  if (!fs::exists(o.source)) throw Error(o.source.string(), "no such run folder or checkpoint");
  if (fs::is_directory(o.source)) {
    if (!fs::exists(o.source / "config.yaml")) {
      throw Error(o.source.string(), "not a run folder (no config.yaml); pass the folder `tessera train` created");
    }
    s.run_dir = o.source;
    const auto weights = train::run_weights(o.source);
    if (!weights) {
      throw Error(o.source.string(),
                  "has no checkpoint (checkpoints/last.safetensors or step-*.safetensors) to export");
    }
    s.weights = *weights;
  } else {
    if (ends_with(o.source.filename().string(), kStateSuffix)) {
      throw Error(o.source.string(), "is a train state, not weights; pass the step-N.safetensors beside it");
    }
    s.weights = o.source;
    s.ema = s.weights.filename() == "last_ema.safetensors";
    const auto parent = o.source.parent_path();
    if (parent.filename() == "checkpoints" && fs::exists(parent.parent_path() / "config.yaml")) {
      s.run_dir = parent.parent_path();
    }
  }
  if (o.ema) choose_ema(s);

  if (!o.recipe.empty()) {
    s.recipe = config::load(o.recipe, o.overrides);
  } else if (!s.run_dir.empty()) {
    s.recipe = config::load((s.run_dir / "config.yaml").string(), o.overrides);
  } else if (!o.overrides.empty()) {
    s.recipe = config::load_string("{}", "tessera export", o.overrides);
  } else {
    throw Error(o.source.string(),
                "is not inside a run folder: say which model it holds with --recipe FILE or "
                "--set model.name=NAME (plus any model.* / data.* keys)");
  }
  s.recipe.model.pretrained.reset();  // the bundle carries the weights
  return s;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Replaces the module's tensors by a step checkpoint's EMA (ema/<name> in its train state),
// strictly: the average must cover every tensor of the model with the same shapes.
void load_ema_state(torch::nn::Module& module, const fs::path& state_file) {
  const auto state = core::load_safetensors(state_file);
  std::map<std::string, at::Tensor> ema;
  for (const auto& [name, tensor] : state.tensors) {
    if (name.rfind("ema/", 0) == 0) ema[name.substr(4)] = tensor;
  }
  if (ema.empty()) throw Error(state_file.string(), "--ema: this checkpoint holds no EMA (train.ema.decay was 0)");
  at::NoGradGuard no_grad;
  size_t copied = 0;
  auto copy = [&](const std::string& name, at::Tensor& target) {
    const auto it = ema.find(name);
    if (it == ema.end() || it->second.sizes() != target.sizes()) {
      throw Error(state_file.string(), "--ema: the average does not fit the model at '" + name + "'");
    }
    target.copy_(it->second.to(target.device(), target.scalar_type()));
    ++copied;
  };
  for (auto& item : module.named_parameters()) copy(item.key(), item.value());
  for (auto& item : module.named_buffers()) copy(item.key(), item.value());
  if (copied != ema.size()) throw Error(state_file.string(), "--ema: the average holds tensors the model lacks");
}

std::vector<std::pair<std::string, at::Tensor>> module_tensors(torch::nn::Module& module) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value().detach());
  for (const auto& item : module.named_buffers()) out.emplace_back(item.key(), item.value().detach());
  return out;
}

// The class names of the bundle: --labels, else the checkpoint's (classifiers: one per
// output; CLIP: optional default zero-shot labels).
std::vector<std::string> bundle_classes(const ExportOptions& o, const std::map<std::string, std::string>& metadata,
                                        std::optional<int64_t> outputs) {
  std::vector<std::string> names = o.labels;
  if (names.empty()) {
    const auto it = metadata.find("class_names");
    if (it != metadata.end()) names = split_lines(it->second);
  }
  if (!outputs) return names;  // CLIP
  if (names.empty()) {
    spdlog::warn("the checkpoint names no classes; the bundle calls them 0..{} (give names with --labels)",
                 *outputs - 1);
    for (int64_t i = 0; i < *outputs; ++i) names.push_back(std::to_string(i));
  }
  if (static_cast<int64_t>(names.size()) != *outputs) {
    throw Error(
        o.labels.empty() ? "class_names" : "--labels",
        std::to_string(names.size()) + " class names for a model with " + std::to_string(*outputs) + " outputs");
  }
  return names;
}

}  // namespace

BundleInfo export_bundle(const ExportOptions& o) {
  const auto source = resolve(o);
  const auto& cfg = source.recipe;
  BundleInfo info;
  info.family = models::find_model(cfg.model.name).family;
  info.model = cfg.model;
  info.ema = source.ema;
  info.precision = o.dtype.value_or(cfg.precision);
  info.weights_dtype = o.dtype.value_or(config::Precision::FP32);
  info.source.run = source.run_dir.empty() ? "" : fs::absolute(source.run_dir).lexically_normal().string();
  info.source.checkpoint = fs::absolute(source.weights).lexically_normal().string();

  std::shared_ptr<torch::nn::Module> module;
  std::optional<int64_t> outputs;
  int64_t channels = 0, size = 0;
  std::map<std::string, std::string> metadata;
  try {
    if (info.family == "clip") {
      auto clip = models::create_clip(cfg.model);
      metadata = train::load_weights(*clip, source.weights);
      info.reference = reference_model(clip->options);
      channels = clip->options.vision().in_chans();
      size = clip->options.vision().image_size();
      module = clip.ptr();
    } else {
      auto model = models::create(cfg.model);
      metadata = train::load_weights(*model, source.weights);
      info.reference = reference_model(*model);
      channels = model->in_chans();
      size = model->img_size();
      outputs = model->num_classes();
      module = model;
    }
    if (!source.ema_state.empty()) load_ema_state(*module, source.ema_state);
  } catch (const c10::Error& e) {
    throw Error("model (" + cfg.model.name + ")", e.what_without_backtrace());
  }
  info.class_names = bundle_classes(o, metadata, outputs);
  if (const auto it = metadata.find("step"); it != metadata.end()) info.source.step = std::stoll(it->second);
  info.preprocessing = Preprocessing::from_spec(data::eval_spec(cfg.data, channels, size, size));
  return write_bundle(o.out, std::move(info), module_tensors(*module), o.force);
}

}  // namespace tessera::serve
