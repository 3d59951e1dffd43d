// Image-text retrieval metrics of a CLIP over an image-caption set, as open_clip's
// get_clip_metrics: image→text and text→image recall@{1, 5, 10}, each image's own
// caption being the one right text (and the reverse).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/loader.h"
#include "tessera/dist/process_group.h"
#include "tessera/models/clip.h"
#include "tessera/text/bpe_tokenizer.h"
#include "tessera/train/evaluate.h"

namespace tessera::train {

// From unit-norm embeddings (N, D) where image i and text i are a pair: i2t_r1, i2t_r5,
// i2t_r10, t2i_r1, t2i_r5, t2i_r10 (fractions), led by retrieval_r1, the mean of the two
// R@1s. An item's rank is the number of candidates scoring strictly higher than its pair,
// so candidates with exactly its pair's score (identical captions embed identically) do
// not push it down; open_clip's argsort breaks such ties arbitrarily. Computed in chunks
// of rows: memory stays O(chunk · N).
std::vector<Metric> retrieval_metrics(const at::Tensor& image_embeddings, const at::Tensor& text_embeddings);

// One pass over an image-caption `loader` (data.dataset: image_text) in eval mode without
// gradients: every image and caption embedded (autocast as `precision`), then the metrics
// above; the loss is the contrastive loss of each batch, averaged over the samples (open_clip's
// clip_val_loss). Restores the model's mode. With a `group`, `loader` is this rank's shard:
// the embeddings of every rank are gathered, so the metrics rank among the whole set.
EvalResult evaluate_retrieval(models::ClipImpl& clip, const text::BpeTokenizer& tokenizer, data::Loader& loader,
                              c10::Device device, config::Precision precision, dist::ProcessGroup* group = nullptr);

}  // namespace tessera::train
