// CLIP evaluation: image-text retrieval recall@k against open_clip_train's
// get_clip_metrics (run in Python at test time), the tie rule, and zero-shot accuracy
// from class embeddings against the same computation done by hand.
#include <gtest/gtest.h>

#include "fixtures/error_of.h"
#include "fixtures/reduced_clip.h"
#include "reference_runner.h"
#include "tessera/data/dataset.h"
#include "tessera/data/loader.h"
#include "tessera/models/clip.h"
#include "tessera/serve/zero_shot.h"
#include "tessera/text/bpe_tokenizer.h"
#include "tessera/train/retrieval.h"
#include "tessera/train/zero_shot.h"

namespace tessera::train {
namespace {

double metric(const std::vector<Metric>& metrics, const std::string& name) {
  for (const auto& m : metrics) {
    if (m.name == name) return m.value;
  }
  ADD_FAILURE() << "no metric " << name;
  return -1;
}

TEST(Retrieval, RecallMatchesOpenClipTrain) {
  const auto out = testing::scratch_dir() / "metrics.safetensors";
  testing::run_reference_script("clip_training_reference.py", "metrics '" + out.string() + "'");
  const auto ref = testing::read_tensors(out);
  const auto metrics = retrieval_metrics(ref.at("image_features"), ref.at("text_features"));
  ASSERT_EQ(metrics.size(), 7u);
  EXPECT_EQ(metrics[0].name, "retrieval_r1");
  for (const char* name : {"i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10"}) {
    EXPECT_DOUBLE_EQ(metric(metrics, name), ref.at(name).item<double>()) << name;
  }
  EXPECT_DOUBLE_EQ(metrics[0].value, (metric(metrics, "i2t_r1") + metric(metrics, "t2i_r1")) / 2);
  EXPECT_GT(metric(metrics, "i2t_r10"), metric(metrics, "i2t_r1")) << "the script spreads the ranks";
}

TEST(Retrieval, IdenticalCaptionsDoNotPushAnImageDown) {
  // Image i is closest to text i, and texts 0 and 1 are the same caption: image 1 ties
  // with text 0 and still counts as found at rank 1.
  auto images = at::eye(4);
  auto texts = at::eye(4);
  texts[1] = texts[0];
  images[1] = texts[0];
  const auto metrics = retrieval_metrics(images, texts);
  EXPECT_DOUBLE_EQ(metric(metrics, "i2t_r1"), 1.0);
  EXPECT_DOUBLE_EQ(metric(metrics, "t2i_r1"), 1.0);
  // A clearly wrong pair is found at rank 2 at best.
  images[3] = texts[2] * 0.9 + texts[3] * 0.1;
  const auto wrong = retrieval_metrics(images / images.norm(2, {1}, true), texts);
  EXPECT_DOUBLE_EQ(metric(wrong, "i2t_r1"), 0.75);
  EXPECT_DOUBLE_EQ(metric(wrong, "i2t_r5"), 1.0);
}

TEST(ZeroShot, AccuracyIsThatOfTheNearestClassEmbedding) {
  at::manual_seed(0);
  auto clip = models::create_clip(testing::reduced_clip_config());
  const std::vector<std::string> classes = {"cat", "dog", "bag"};
  const text::BpeTokenizer tokenizer;
  const auto embeddings = serve::class_embeddings(*clip, tokenizer, classes, {"a photo of a {}.", "a {}"});
  ASSERT_EQ(embeddings.sizes(), (at::IntArrayRef{3, 32}));

  // 24 random images with random labels: the expected hits come from the same embeddings.
  const auto pixels = at::randint(0, 256, {24, 3, 32, 32}, at::kByte);
  const auto labels = at::randint(0, 3, {24}, at::kLong);
  auto dataset = std::make_shared<data::InMemoryDataset>(pixels, labels, classes);
  data::TransformSpec spec;
  spec.height = spec.width = 32;
  data::LoaderOptions options;
  options.batch_size = 10;
  data::Loader loader(dataset, data::SampleTransform(spec), options);

  const auto r = evaluate_zero_shot(*clip, embeddings, loader, c10::Device(c10::kCPU), config::Precision::FP32);
  EXPECT_EQ(r.samples, 24);
  int64_t expected = 0;
  {
    at::InferenceMode inference;
    loader.start_epoch(0);
    int64_t seen = 0;
    while (auto batch = loader.next()) {
      const auto logits = clip->encode_image(batch->images, true).matmul(embeddings.t());
      expected += logits.argmax(1).eq(labels.slice(0, seen, seen + batch->images.size(0))).sum().item<int64_t>();
      seen += batch->images.size(0);
    }
  }
  EXPECT_DOUBLE_EQ(*r.metric("top1"), static_cast<double>(expected) / 24.0);
  EXPECT_DOUBLE_EQ(*r.metric("top5"), 1.0) << "3 classes: top-5 holds every one";

  const auto message = testing::error_of([&] {
    evaluate_zero_shot(*clip, embeddings.slice(0, 0, 2), loader, c10::Device(c10::kCPU), config::Precision::FP32);
  });
  EXPECT_NE(message.find("3 classes but 2 class embeddings"), std::string::npos) << message;
}

}  // namespace
}  // namespace tessera::train
