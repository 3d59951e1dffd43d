// CLIP zero-shot class embeddings (see zero_shot.h).
#include "tessera/serve/zero_shot.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "tessera/core/error.h"

namespace tessera::serve {

std::string fill_prompt(const std::string& prompt, const std::string& label) {
  const auto at = prompt.find("{}");
  if (at == std::string::npos) return prompt + " " + label;
  return prompt.substr(0, at) + label + prompt.substr(at + 2);
}

at::Tensor class_embeddings(models::ClipImpl& clip, const text::BpeTokenizer& tokenizer,
                            const std::vector<std::string>& labels, const std::vector<std::string>& prompts) {
  if (labels.empty()) throw Error("--labels", "CLIP needs the class names to score images against");
  if (prompts.empty()) throw Error("--prompt", "at least one prompt is needed");
  for (const auto& label : labels) {
    if (label.empty()) throw Error("--labels", "a label is empty");
  }
  c10::InferenceMode inference;
  const auto device = clip.text_projection.device();
  const int64_t context = clip.options.text().context_length();
  std::vector<std::string> texts;  // label-major: label i's prompts are rows [i·P, (i+1)·P)
  texts.reserve(labels.size() * prompts.size());
  for (const auto& label : labels) {
    for (const auto& prompt : prompts) texts.push_back(fill_prompt(prompt, label));
  }
  constexpr size_t kChunk = 256;  // texts per text-tower call: bounded memory for 1000s of classes
  std::vector<at::Tensor> chunks;
  for (size_t start = 0; start < texts.size(); start += kChunk) {
    const std::vector<std::string> chunk(
        texts.begin() + static_cast<std::ptrdiff_t>(start),
        texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), start + kChunk)));
    auto tokens = tokenizer.tokenize(chunk, context).to(device);
    chunks.push_back(clip.encode_text(tokens, /*normalize=*/true).to(at::kFloat));
  }
  const auto P = static_cast<int64_t>(prompts.size());
  auto embedded = at::cat(chunks).view({static_cast<int64_t>(labels.size()), P, -1});  // (labels, prompts, D)
  auto mean = embedded.mean(1);                                                        // (labels, D)
  return mean / mean.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
}

ZeroShotHead zero_shot_head(models::ClipImpl& clip, const at::Tensor& class_embeddings) {
  c10::InferenceMode inference;
  const auto device = clip.logit_scale.device();
  return {clip.logit_scale.exp().to(at::kFloat), class_embeddings.to(device, at::kFloat).t()};
}

// The scale multiplies the product (not the embeddings beforehand), so the logits round
// exactly as scale · (features · Eᵀ) always has.
at::Tensor ZeroShotHead::logits(const at::Tensor& image_features) const {
  return scale * image_features.to(at::kFloat).matmul(class_embeddings_t);
}

}  // namespace tessera::serve
