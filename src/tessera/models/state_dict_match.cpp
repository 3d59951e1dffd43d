// Matching weights to a model by name (see state_dict_match.h).
#include "tessera/models/state_dict_match.h"

#include <ATen/ATen.h>

#include <sstream>
#include <vector>

#include "tessera/core/error.h"
#include "tessera/core/suggest.h"

namespace tessera::models {

namespace {

constexpr std::string_view kDdpPrefix = "module.";

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

std::string shape_text(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

// Up to 20 items, then how many there are: enough to see what is wrong.
std::string join_limited(const std::vector<std::string>& items) {
  std::string text;
  for (size_t i = 0; i < items.size() && i < 20; ++i) text += (i ? ", " : "") + items[i];
  if (items.size() > 20) text += ", ... (" + std::to_string(items.size()) + " in all)";
  return text;
}

}  // namespace

bool strip_ddp_prefix(std::map<std::string, at::Tensor>& tensors) {
  if (tensors.empty()) return false;
  for (const auto& [name, t] : tensors) {
    if (!starts_with(name, kDdpPrefix)) return false;
  }
  std::map<std::string, at::Tensor> stripped;
  for (auto& [name, t] : tensors) stripped.emplace(name.substr(kDdpPrefix.size()), std::move(t));
  tensors = std::move(stripped);
  return true;
}

std::optional<std::string> weights_family(const std::map<std::string, at::Tensor>& tensors) {
  bool clip = false, swin = false, vit = false;
  for (const auto& [name, t] : tensors) {
    clip = clip || starts_with(name, "visual.") || name == "token_embedding.weight";
    swin = swin || starts_with(name, "layers.");
    vit = vit || starts_with(name, "blocks.") || name == "cls_token";
  }
  if (clip) return "open_clip CLIP";
  if (swin) return "timm Swin";
  if (vit) return "timm ViT/DeiT";
  return std::nullopt;
}

ModelState model_state(torch::nn::Module& model) {
  ModelState state;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    state.tensors[item.key()] = item.value();
    state.required.insert(item.key());
  }
  for (const auto& item : model.named_buffers(/*recurse=*/true)) state.tensors[item.key()] = item.value();
  return state;
}

void check_weights_fit(const std::filesystem::path& file, const ModelState& model,
                       const std::map<std::string, at::Tensor>& given) {
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& name : model.required) {
    if (!given.count(name)) missing.push_back(name);
  }
  for (const auto& [name, tensor] : given) {
    auto it = model.tensors.find(name);
    if (it == model.tensors.end()) {
      unexpected.push_back(name);
    } else if (it->second.sizes() != tensor.sizes()) {
      mismatched.push_back(name + " (file " + shape_text(tensor) + ", model " + shape_text(it->second) + ")");
    }
  }
  if (missing.empty() && unexpected.empty() && mismatched.empty()) return;

  std::string message = "the weights do not fit the model:";
  const auto file_family = weights_family(given);
  const auto model_family = weights_family(model.tensors);
  const bool other_family = file_family && model_family && *file_family != *model_family;
  if (other_family) {
    message += " the file holds " + *file_family + " weights, the model is " + *model_family +
               " (choose a model of the file's family);";
  }
  if (!missing.empty()) message += " missing " + join_limited(missing) + ";";
  if (!unexpected.empty()) {
    // A renamed key shows up on both sides; pair them when there are few (with many, the
    // file is another model and pairs would be noise).
    std::vector<std::string> described = unexpected;
    if (!other_family && unexpected.size() <= 20 && !missing.empty()) {
      for (auto& name : described) {
        if (auto near = core::closest_match(name, missing)) name += " (did you mean " + *near + "?)";
      }
    }
    message += " unexpected " + join_limited(described) + ";";
  }
  if (!mismatched.empty()) message += " shape mismatch " + join_limited(mismatched) + ";";
  message.pop_back();
  throw Error(file.string(), message);
}

int64_t copy_weights(ModelState& model, const std::map<std::string, at::Tensor>& given) {
  at::NoGradGuard no_grad;
  for (const auto& [name, tensor] : given) {
    auto& target = model.tensors.at(name);
    target.copy_(tensor.to(target.device(), target.scalar_type()));
  }
  return static_cast<int64_t>(given.size());
}

}  // namespace tessera::models
