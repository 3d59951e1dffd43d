// Zero-shot classification with CLIP (Radford et al., 2021, section 3.1.4), as
// open_clip's build_zero_shot_classifier: each class is the mean of its prompts' unit
// text embeddings ("a photo of a {}."), renormalized; an image's logits are
// logit_scale · unit image embedding · class embeddings.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "tessera/models/clip.h"
#include "tessera/text/bpe_tokenizer.h"

namespace tessera::serve {

inline constexpr const char* kDefaultPrompt = "a photo of a {}.";

// `prompt` with its "{}" replaced by `label` (the label appended after a space when the
// prompt has no "{}").
std::string fill_prompt(const std::string& prompt, const std::string& label);

// (num_labels, embed_dim) unit rows, on the model's device, computed in inference mode.
// Throws tessera::Error for no labels or an empty label.
at::Tensor class_embeddings(models::ClipImpl& clip, const text::BpeTokenizer& tokenizer,
                            const std::vector<std::string>& labels, const std::vector<std::string>& prompts);

// The classifier built from class embeddings, once per set of classes: logits(features)
// is exp(logit_scale) · image features (float32) · class_embeddings_t, computed in fp32
// (outside any autocast region).
struct ZeroShotHead {
  at::Tensor scale;               // exp(logit_scale): a float32 scalar on the model's device
  at::Tensor class_embeddings_t;  // (embed_dim, classes) float32 on the model's device
  // (B, embed_dim) image features of any floating dtype → (B, classes) float32 logits.
  at::Tensor logits(const at::Tensor& image_features) const;
};

// `class_embeddings` (classes, embed_dim), as class_embeddings() returns them, with the
// model's logit scale; computed in inference mode.
ZeroShotHead zero_shot_head(models::ClipImpl& clip, const at::Tensor& class_embeddings);

}  // namespace tessera::serve
