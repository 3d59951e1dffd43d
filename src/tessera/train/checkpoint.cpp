// Weights I/O (see checkpoint.h).
#include "tessera/train/checkpoint.h"

#include <ATen/ATen.h>

#include <set>
#include <sstream>

#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"

namespace tessera::train {

namespace {
std::map<std::string, at::Tensor> state_of(torch::nn::Module& model) {
  std::map<std::string, at::Tensor> state;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) state[item.key()] = item.value();
  for (const auto& item : model.named_buffers(/*recurse=*/true)) state[item.key()] = item.value();
  return state;
}

std::string join_names(const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < names.size() && i < 10; ++i) out << (i ? ", " : "") << names[i];
  if (names.size() > 10) out << ", ... (" << names.size() << " in all)";
  return out.str();
}
}  // namespace

void save_weights(torch::nn::Module& model, const std::filesystem::path& path,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, tensor] : state_of(model)) tensors.emplace_back(name, tensor.detach());
  core::save_safetensors(path, tensors, metadata);
}

std::map<std::string, std::string> load_weights(torch::nn::Module& model, const std::filesystem::path& path) {
  auto file = core::load_safetensors(path);
  auto state = state_of(model);
  std::vector<std::string> unexpected, mismatched, missing;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : file.tensors) {
    auto it = state.find(name);
    if (it == state.end()) {
      unexpected.push_back(name);
    } else if (it->second.sizes() != tensor.sizes()) {
      std::ostringstream m;
      m << name << " (file " << tensor.sizes() << ", model " << it->second.sizes() << ")";
      mismatched.push_back(m.str());
    }
    seen.insert(name);
  }
  for (const auto& [name, tensor] : state) {
    if (!seen.count(name)) missing.push_back(name);
  }
  if (!unexpected.empty() || !mismatched.empty() || !missing.empty()) {
    std::string message = "weights do not fit the model:";
    if (!missing.empty()) message += " missing " + join_names(missing) + ";";
    if (!unexpected.empty()) message += " unexpected " + join_names(unexpected) + ";";
    if (!mismatched.empty()) message += " shape mismatch " + join_names(mismatched) + ";";
    message.pop_back();
    throw Error(path.string(), message);
  }
  at::NoGradGuard no_grad;
  for (const auto& [name, tensor] : file.tensors) {
    auto& target = state.at(name);
    target.copy_(tensor.to(target.device(), target.scalar_type()));
  }
  return file.metadata;
}

}  // namespace tessera::train
