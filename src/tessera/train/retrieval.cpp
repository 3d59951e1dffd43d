// Image-text retrieval metrics (see retrieval.h).
#include "tessera/train/retrieval.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <array>
#include <string>

#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/dist/gather.h"
#include "tessera/train/clip_loss.h"

namespace tessera::train {

namespace {

constexpr std::array<int64_t, 3> kRecallAt = {1, 5, 10};

// For each row of `queries` (N, D) the rank of its pair (row i of `candidates`) among all
// candidates: how many score strictly higher. (N) int64.
at::Tensor pair_ranks(const at::Tensor& queries, const at::Tensor& candidates) {
  constexpr int64_t kChunk = 1024;
  const int64_t n = queries.size(0);
  std::vector<at::Tensor> ranks;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t end = std::min(n, start + kChunk);
    auto scores = queries.slice(0, start, end).matmul(candidates.t());                     // (chunk, N)
    auto own = scores.gather(1, at::arange(start, end, scores.options().dtype(at::kLong)).unsqueeze(1));  // (chunk, 1)
    ranks.push_back(scores.gt(own).sum(1));
  }
  return at::cat(ranks);
}

}  // namespace

std::vector<Metric> retrieval_metrics(const at::Tensor& image_embeddings, const at::Tensor& text_embeddings) {
  TORCH_CHECK(image_embeddings.dim() == 2 && image_embeddings.sizes() == text_embeddings.sizes(),
              "retrieval_metrics: image and text embeddings must both be (N, D), got ", image_embeddings.sizes(),
              " and ", text_embeddings.sizes());
  const auto images = image_embeddings.to(at::kFloat), texts = text_embeddings.to(at::kFloat);
  const auto i2t = pair_ranks(images, texts), t2i = pair_ranks(texts, images);
  auto recall_at = [](const at::Tensor& ranks, int64_t k) { return ranks.lt(k).to(at::kDouble).mean().item<double>(); };
  std::vector<Metric> metrics = {{"retrieval_r1", (recall_at(i2t, 1) + recall_at(t2i, 1)) / 2}};
  for (const auto& [direction, ranks] : {std::pair{"i2t", i2t}, std::pair{"t2i", t2i}}) {
    for (int64_t k : kRecallAt) metrics.push_back({std::string(direction) + "_r" + std::to_string(k), recall_at(ranks, k)});
  }
  return metrics;
}

EvalResult evaluate_retrieval(models::ClipImpl& clip, const text::BpeTokenizer& tokenizer, data::Loader& loader,
                              c10::Device device, config::Precision precision, dist::ProcessGroup* group) {
  if (!loader.dataset().has_captions()) {
    throw Error("data.dataset", "retrieval needs image-caption pairs (data.dataset: image_text)");
  }
  const bool was_training = clip.is_training();
  clip.eval();
  at::InferenceMode inference;
  const int64_t context = clip.options.text().context_length();
  std::vector<at::Tensor> images, texts;
  double loss_sum = 0.0;
  int64_t samples = 0;
  const at::Tensor scale = clip.logit_scale.exp().to(at::kFloat);
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    auto pixels = batch->images.to(device, /*non_blocking=*/true);
    auto tokens = tokenizer.tokenize(batch->captions, context).to(device);
    at::Tensor image_features, text_features;
    {
      core::AutocastGuard autocast(precision, device);
      image_features = clip.encode_image(pixels, /*normalize=*/true);
      text_features = clip.encode_text(tokens, /*normalize=*/true);
    }
    image_features = image_features.to(at::kFloat);
    text_features = text_features.to(at::kFloat);
    const int64_t b = image_features.size(0);
    loss_sum += clip_loss(image_features, text_features, scale).loss.item<double>() * b;
    samples += b;
    images.push_back(image_features.cpu());
    texts.push_back(text_features.cpu());
  }
  clip.train(was_training);
  data::log_bad_samples(loader, "evaluation");
  const int64_t dim = clip.text_projection.size(1);
  auto all_images = images.empty() ? at::zeros({0, dim}) : at::cat(images);
  auto all_texts = texts.empty() ? at::zeros({0, dim}) : at::cat(texts);
  if (group != nullptr) {
    loss_sum = group->sum({loss_sum}, "the retrieval loss")[0];
    // Image i and caption i side by side, so they stay a pair: one gather of both.
    const auto pairs = dist::all_gather_rows(*group, at::cat({all_images, all_texts}, 1).to(group->device()),
                                             "the image and caption embeddings")
                           .cpu();
    all_images = pairs.narrow(1, 0, dim);
    all_texts = pairs.narrow(1, dim, dim);
    samples = all_images.size(0);
  }
  EvalResult r;
  r.samples = samples;
  if (samples == 0) return r;
  r.loss = loss_sum / static_cast<double>(samples);
  r.metrics = retrieval_metrics(all_images, all_texts);
  return r;
}

}  // namespace tessera::train
