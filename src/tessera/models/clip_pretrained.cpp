// Loading open_clip weights into CLIP (see clip_pretrained.h).
#include "tessera/models/clip_pretrained.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tessera/core/safetensors.h"
#include "tessera/models/state_dict_match.h"
#include "tessera/nn/resample_pos_embed.h"

namespace tessera::models {

namespace {

std::string grid_text(const std::array<int64_t, 2>& g) { return std::to_string(g[0]) + "x" + std::to_string(g[1]); }

// The file's image position embedding (1 + old², W) resized to the model's (1 + new², W);
// nullopt when it is not a class row plus a square grid of the model's width (the shape
// check then reports it).
std::optional<at::Tensor> resized_image_pos_embed(const at::Tensor& from, const at::Tensor& to,
                                                  ClipPretrainedLoad& result) {
  if (from.dim() != 2 || to.dim() != 2 || from.size(1) != to.size(1)) return std::nullopt;
  auto square_side = [](int64_t n) -> std::optional<int64_t> {
    const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<int64_t>(n, 0)))));
    if (n <= 0 || side * side != n) return std::nullopt;
    return side;
  };
  const auto old_side = square_side(from.size(0) - 1);
  const auto new_side = square_side(to.size(0) - 1);
  if (!old_side || !new_side) return std::nullopt;
  result.image_grid_from = std::array<int64_t, 2>{*old_side, *old_side};
  result.image_grid_to = std::array<int64_t, 2>{*new_side, *new_side};
  // open_clip's resize_pos_embed and timm's resample_abs_pos_embed agree: one prefix
  // (class) row kept, the grid bicubic with antialiasing and align_corners false.
  return nn::resample_abs_pos_embed(from.unsqueeze(0), *result.image_grid_to, *result.image_grid_from,
                                    /*num_prefix_tokens=*/1)
      .squeeze(0);  // (1 + new², W)
}

// The file's text position embedding (L_old, W) interpolated to the model's (L_new, W).
std::optional<at::Tensor> resized_text_pos_embed(const at::Tensor& from, const at::Tensor& to,
                                                 ClipPretrainedLoad& result) {
  if (from.dim() != 2 || to.dim() != 2 || from.size(1) != to.size(1)) return std::nullopt;
  result.context_from = from.size(0);
  result.context_to = to.size(0);
  auto positions = from.to(at::kFloat).t().unsqueeze(0);  // (1, W, L_old): positions as a 1-D signal
  auto resized = at::upsample_linear1d(positions, {to.size(0)}, /*align_corners=*/false);  // (1, W, L_new)
  return resized.squeeze(0).t().contiguous().to(from.scalar_type());  // (L_new, W)
}

}  // namespace

ClipPretrainedLoad load_clip_pretrained(ClipImpl& model, const std::filesystem::path& file) {
  auto weights = core::load_safetensors(file);
  ClipPretrainedLoad result;
  result.metadata = weights.metadata;

  ModelState state = model_state(model);
  std::map<std::string, at::Tensor> given;
  for (auto& [name, tensor] : weights.tensors) given[name] = tensor;
  std::vector<std::string> notes;  // logged only once the whole file is known to fit
  if ((result.stripped_module_prefix = strip_ddp_prefix(given))) {
    notes.push_back("dropped the \"module.\" prefix of a DDP-saved state dict");
  }

  auto differs = [&](const std::string& name) {
    return given.count(name) && state.tensors.count(name) && given.at(name).sizes() != state.tensors.at(name).sizes();
  };
  if (differs("visual.positional_embedding")) {
    auto& pos = given.at("visual.positional_embedding");
    if (auto resized = resized_image_pos_embed(pos, state.tensors.at("visual.positional_embedding"), result)) {
      notes.push_back("visual.positional_embedding resized from a " + grid_text(*result.image_grid_from) + " to a " +
                      grid_text(*result.image_grid_to) + " patch grid (bicubic, antialiased)");
      pos = *resized;
    }
  }
  if (differs("positional_embedding")) {
    auto& pos = given.at("positional_embedding");
    if (auto resized = resized_text_pos_embed(pos, state.tensors.at("positional_embedding"), result)) {
      notes.push_back("positional_embedding resized from a text context of " + std::to_string(*result.context_from) +
                      " to " + std::to_string(*result.context_to) + " tokens (linear)");
      pos = *resized;
    }
  }
  // OpenAI's checkpoints and some converters keep logit_scale as a 1-element vector.
  if (differs("logit_scale") && given.at("logit_scale").numel() == 1) {
    given.at("logit_scale") = given.at("logit_scale").reshape(state.tensors.at("logit_scale").sizes());
  }

  check_weights_fit(file, state, given);
  result.loaded = copy_weights(state, given);
  for (const auto& note : notes) spdlog::info("pretrained: {}", note);
  spdlog::info("pretrained: {} tensors loaded from {}", result.loaded, file.string());
  return result;
}

}  // namespace tessera::models
