// Loading reference weights into a model (see pretrained.h).
#include "tessera/models/pretrained.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"
#include "tessera/models/state_dict_match.h"
#include "tessera/models/vit.h"
#include "tessera/nn/resample_pos_embed.h"

namespace tessera::models {

namespace {

// The classifier heads timm re-creates when num_classes changes (DeiT has two).
const std::vector<std::string> kHeads = {"head", "head_dist"};

bool in_group(const std::string& name, const std::string& group) { return name.rfind(group + ".", 0) == 0; }

// Outputs of a classifier head: the rows of its (last) Linear weight, head.weight or head.fc.weight.
std::optional<int64_t> outputs_of(const std::map<std::string, at::Tensor>& tensors, const std::string& head) {
  std::optional<int64_t> outputs;
  for (const auto& [name, t] : tensors) {
    const bool weight = name.size() >= 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    if (in_group(name, head) && weight && t.dim() == 2) outputs = t.size(0);
  }
  return outputs;
}

std::string grid_text(const std::array<int64_t, 2>& g) { return std::to_string(g[0]) + "x" + std::to_string(g[1]); }

// The file's pos_embed resampled to the model's patch grid, when the model is a ViT and
// the file's rows are its prefix tokens plus a square grid of the same width; otherwise
// nullopt (the shape check reports the mismatch).
std::optional<at::Tensor> resampled_pos_embed(ImageClassifierImpl& model, const at::Tensor& from,
                                              const at::Tensor& to, PretrainedLoad& result) {
  auto* vit = dynamic_cast<VisionTransformerImpl*>(&model);
  if (!vit || from.dim() != 3 || from.size(0) != 1 || from.size(2) != to.size(2)) return std::nullopt;
  const int64_t prefix = vit->num_prefix_tokens();
  const int64_t patches = from.size(1) - prefix;
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<int64_t>(patches, 0)))));
  if (patches <= 0 || side * side != patches) return std::nullopt;  // timm assumes a square grid too
  const int64_t grid = vit->patch_embed->grid_size();
  result.pos_embed_from = std::array<int64_t, 2>{side, side};
  result.pos_embed_to = std::array<int64_t, 2>{grid, grid};
  return nn::resample_abs_pos_embed(from, {grid, grid}, {side, side}, prefix);
}

// Classifier heads that do not fit (another num_classes, or absent on one side) leave
// both sides: the model keeps its own initialisation of them, as timm does when it drops
// a checkpoint's classifier. A model that has classes but not this head (a ViT given
// DeiT's head_dist) is another model, left to the strict check.
void set_aside_heads(const ImageClassifierImpl& model, ModelState& state, std::map<std::string, at::Tensor>& given,
                     PretrainedLoad& result, std::vector<std::string>& notes) {
  for (const auto& head : kHeads) {
    std::vector<std::string> model_names, file_names;
    for (const auto& [name, t] : state.tensors) {
      if (in_group(name, head)) model_names.push_back(name);
    }
    for (const auto& [name, t] : given) {
      if (in_group(name, head)) file_names.push_back(name);
    }
    if (model_names.empty() && (file_names.empty() || model.num_classes() > 0)) continue;
    bool fits = model_names == file_names;
    for (const auto& name : model_names) {
      fits = fits && given.at(name).sizes() == state.tensors.at(name).sizes();
    }
    if (fits) continue;

    const auto file_outputs = outputs_of(given, head);
    const std::string in_file =
        file_outputs ? "the file's has " + std::to_string(*file_outputs) + " outputs" : "the file has none";
    if (model_names.empty()) {
      notes.push_back(head + " left out (" + in_file + "): the model has no classifier (num_classes 0)");
      result.dropped_heads.push_back(head);
    } else {
      notes.push_back(head + " re-initialised for " + std::to_string(outputs_of(state.tensors, head).value_or(0)) +
                      " outputs (" + in_file + "): it keeps the model's own initialisation");
      result.new_heads.push_back(head);
    }
    for (const auto& name : model_names) {
      state.tensors.erase(name);
      state.required.erase(name);
    }
    for (const auto& name : file_names) given.erase(name);
  }
}

}  // namespace

PretrainedLoad load_pretrained(ImageClassifierImpl& model, const std::filesystem::path& file) {
  auto weights = core::load_safetensors(file);
  PretrainedLoad result;
  result.metadata = weights.metadata;

  ModelState state = model_state(model);
  std::map<std::string, at::Tensor> given;
  for (auto& [name, tensor] : weights.tensors) given[name] = tensor;
  result.stripped_module_prefix = strip_ddp_prefix(given);

  // What was adapted is logged only once the whole file is known to fit.
  std::vector<std::string> notes;
  set_aside_heads(model, state, given, result, notes);

  // pos_embed for another grid: resampled like timm's resample_abs_pos_embed.
  auto pos_file = given.find("pos_embed");
  auto pos_model = state.tensors.find("pos_embed");
  if (pos_file != given.end() && pos_model != state.tensors.end() &&
      pos_file->second.sizes() != pos_model->second.sizes()) {
    if (auto resampled = resampled_pos_embed(model, pos_file->second, pos_model->second, result)) {
      notes.push_back("pos_embed resampled from a " + grid_text(*result.pos_embed_from) + " to a " +
                      grid_text(*result.pos_embed_to) + " patch grid (bicubic, antialiased)");
      pos_file->second = *resampled;
    }
  }

  check_weights_fit(file, state, given);
  result.loaded = copy_weights(state, given);
  if (result.stripped_module_prefix) {
    notes.insert(notes.begin(), "dropped the \"module.\" prefix of a DDP-saved state dict");
  }
  for (const auto& note : notes) spdlog::info("pretrained: {}", note);
  spdlog::info("pretrained: {} tensors loaded from {}", result.loaded, file.string());
  return result;
}

}  // namespace tessera::models
