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

}  // namespace tessera::serve
