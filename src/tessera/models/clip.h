// CLIP (Radford et al., 2021, "Learning Transferable Visual Models From Natural Language
// Supervision"): an image tower and a causal text tower projected into one embedding
// space, with open_clip's module layout and state-dict names so its checkpoints load by name.
#pragma once

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/models/clip_blocks.h"
#include "tessera/models/clip_vision.h"

namespace tessera::models {

// open_clip's text_cfg for its own text transformer.
struct ClipTextOptions {
  TORCH_ARG(int64_t, context_length) = 77;
  TORCH_ARG(int64_t, vocab_size) = 49408;
  TORCH_ARG(int64_t, width) = 512;
  TORCH_ARG(int64_t, layers) = 12;
  TORCH_ARG(int64_t, heads) = 8;
  TORCH_ARG(double, mlp_ratio) = 4.0;

 public:  // TORCH_ARG leaves the section private
  // Parameter count of the text side (embeddings, blocks, ln_final, text_projection).
  int64_t num_params(int64_t output_dim) const;
};

struct ClipOptions {
  TORCH_ARG(int64_t, embed_dim) = 512;  // the joint embedding both towers project to
  TORCH_ARG(ClipVisionOptions, vision) = ClipVisionOptions();
  TORCH_ARG(ClipTextOptions, text) = ClipTextOptions();
  TORCH_ARG(ClipActivation, activation) = ClipActivation::GELU;
  TORCH_ARG(double, init_logit_scale) = std::log(1.0 / 0.07);  // the temperature τ = 0.07 of the paper

 public:
  // Parameter count, from the numbers alone (no allocation); equals the built module's.
  int64_t num_params() const;
};

// What forward returns, as open_clip's CLIP.forward: L2-normalized features and the
// (exponentiated) logit scale.
struct ClipOutput {
  at::Tensor image_features;  // (B_img, embed_dim)
  at::Tensor text_features;   // (B_txt, embed_dim)
  at::Tensor logit_scale;     // () = exp(logit_scale parameter)
  // logit_scale · image_features @ text_features.T: (B_img, B_txt); its transpose scores texts.
  at::Tensor logits_per_image() const { return logit_scale * image_features.matmul(text_features.t()); }
};

class ClipImpl : public torch::nn::Module {
 public:
  explicit ClipImpl(const ClipOptions& options);

  // images (B, in_chans, S, S) → (B, embed_dim).
  at::Tensor encode_image(const at::Tensor& images, bool normalize = false);
  // token ids (B, L ≤ context_length), int64, as BpeTokenizer::tokenize makes them →
  // (B, embed_dim), read at each row's end-of-text token: its largest id (open_clip's
  // 'argmax' pooling; the first one when a row holds several).
  at::Tensor encode_text(const at::Tensor& tokens, bool normalize = false);
  ClipOutput forward(const at::Tensor& images, const at::Tensor& tokens);

  // What open_clip_train leaves out of weight decay: every tensor of fewer than 2
  // dimensions (gains, biases, class_embedding, logit_scale) and names holding "ln", "bn",
  // "bias" or "logit_scale". The position and token embeddings are decayed, as there.
  std::vector<std::string> no_weight_decay() const;

  ClipOptions options;
  ClipVisionTransformer visual{nullptr};
  torch::nn::Embedding token_embedding{nullptr};
  at::Tensor positional_embedding;  // (context_length, text width)
  ClipTransformer transformer{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};
  at::Tensor text_projection;       // (text width, embed_dim)
  at::Tensor logit_scale;           // () log of the similarity scale; forward returns its exp
  // open_clip keeps the causal mask as a non-persistent buffer (absent from its state
  // dict); here the attention is told it is causal, so there is no mask tensor at all.

 private:
  void init_text_weights();
};
TORCH_MODULE(Clip);

// The preset registered as config.name (ViT-B-32, ViT-B-16, ViT-L-14, their -quickgelu
// forms, or "clip": every number from the recipe, ViT-B-32's where it says none) with the
// recipe's overrides: embed_dim, in_chans, vision.*, text.*. Throws tessera::Error naming
// the key for settings CLIP does not have (depths, window_size, num_classes, ...).
ClipOptions clip_options(const config::ModelConfig& config);

// A freshly initialised CLIP for the recipe; architecture mistakes (heads that do not
// divide the width, ...) are tessera::Errors naming the model.
Clip create_clip(const config::ModelConfig& config);

}  // namespace tessera::models
