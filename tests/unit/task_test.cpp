// The training tasks on tiny models: classification is the cross-entropy of the model;
// DeiT distillation feeds the teacher the student's mixed images in eval mode without
// gradients and combines the heads' losses as distillation_loss does; CLIP's contrastive
// task matches open_clip's model + ClipLoss on the same weights and batch (run in Python
// at test time), clamps its logit scale, groups its parameters by tower and freezes the
// image tower for LiT.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fixtures/error_of.h"
#include "fixtures/reduced_clip.h"
#include "fixtures/tiny_classifier.h"
#include "reference_runner.h"
#include "tessera/models/clip_pretrained.h"
#include "tessera/models/registry.h"
#include "tessera/text/bpe_tokenizer.h"
#include "tessera/train/classification_task.h"
#include "tessera/train/clip_loss.h"
#include "tessera/train/clip_param_groups.h"
#include "tessera/train/contrastive_task.h"
#include "tessera/train/distillation_task.h"

namespace tessera::train {
namespace {

using testing::error_of;
using testing::max_abs_diff;

const c10::Device kCpu(c10::kCPU);

using testing::tiny_classifier_config;
config::ModelConfig tiny_model(const std::string& name) { return tiny_classifier_config(name); }

data::Batch image_batch(int64_t n = 4) {
  at::manual_seed(3);
  return {at::randn({n, 1, 8, 8}), at::arange(n) % 3, {}};
}

// A teacher that records what it was given and in which mode, around a tiny ViT.
class RecordingTeacher : public models::ImageClassifierImpl {
 public:
  RecordingTeacher() { inner_ = register_module("inner", models::create(tiny_model("vit"))); }
  at::Tensor forward(const at::Tensor& images) override {
    seen = images.clone();
    seen_in_training = is_training();
    grad_enabled = at::GradMode::is_enabled();
    return inner_->forward(images);
  }
  at::Tensor forward_features(const at::Tensor& images) override { return inner_->forward_features(images); }
  at::Tensor forward_head(const at::Tensor& features) override { return inner_->forward_head(features); }
  std::vector<std::string> no_weight_decay() const override { return {}; }
  int64_t layer_id(const std::string&) const override { return 0; }
  int64_t num_layers() const override { return 1; }
  int64_t num_classes() const override { return 3; }
  int64_t in_chans() const override { return 1; }
  int64_t img_size() const override { return 8; }

  at::Tensor seen;
  bool seen_in_training = true;
  bool grad_enabled = true;

 private:
  models::ImageClassifier inner_;
};

TEST(ClassificationTask, LossIsTheModelsCrossEntropy) {
  config::RecipeConfig cfg;
  cfg.model = tiny_model("vit");
  cfg.train.label_smoothing = 0.1;
  at::manual_seed(0);
  auto model = models::create(cfg.model);
  ClassificationTask task(cfg, model, kCpu);
  const auto batch = image_batch();
  const auto loss = task.loss(batch, 0).loss;
  const auto expected =
      at::cross_entropy_loss(model->forward(batch.images), batch.labels, {}, at::Reduction::Mean, -100, 0.1);
  EXPECT_LE(max_abs_diff(loss, expected), 1e-7);
  const auto lines = task.describe();
  EXPECT_NE(lines.front().find("classification"), std::string::npos);
}

config::RecipeConfig distill_recipe() {
  config::RecipeConfig cfg;
  cfg.model = tiny_model("deit_tiny_distilled_patch16_224");
  cfg.train.mixup.mixup_alpha = 1.0;  // every batch mixed
  cfg.train.label_smoothing = 0.1;
  cfg.distill.type = config::DistillType::Soft;
  cfg.distill.alpha = 0.3;
  cfg.distill.tau = 2.0;
  cfg.distill.teacher_weights = "unused: the test hands the teacher over";
  return cfg;
}

TEST(DistillationTask, TeacherSeesTheMixedImagesInEvalModeWithoutGradients) {
  const auto cfg = distill_recipe();
  at::manual_seed(0);
  auto student = models::create(cfg.model);
  auto teacher = std::make_shared<RecordingTeacher>();
  DistillationTask task(cfg, student, teacher, kCpu);
  task.train_mode();
  const auto batch = image_batch();
  const int64_t micro_batch = 7;
  auto out = task.loss(batch, micro_batch);

  // The images the student trained on: the batch mixed as the task's Mixup mixes it.
  const Mixup mixup(cfg.train.mixup, 3, cfg.train.label_smoothing, cfg.train.seed);
  const auto mixed = mixup(batch.images, batch.labels, micro_batch);
  ASSERT_TRUE(teacher->seen.defined());
  EXPECT_TRUE(at::equal(teacher->seen, mixed.images)) << "the teacher sees the student's mixed images";
  EXPECT_FALSE(at::equal(mixed.images, batch.images)) << "mixup changed the images";
  EXPECT_FALSE(teacher->seen_in_training);
  EXPECT_FALSE(teacher->grad_enabled);
  for (const auto& p : teacher->parameters()) EXPECT_FALSE(p.requires_grad());

  // DeiT's loss from the same pieces: soft-target CE of the class head, the soft term of
  // the distillation head against the teacher's logits.
  const auto heads = *student->forward_distilled(mixed.images);
  at::Tensor teacher_logits;
  {
    at::NoGradGuard no_grad;
    teacher_logits = teacher->forward(mixed.images);
  }
  DistillationOptions options{config::DistillType::Soft, 0.3, 2.0, config::KlNormalization::SumOverNumel};
  const auto expected =
      distillation_loss(soft_target_cross_entropy(heads.first, mixed.targets), heads.second, teacher_logits, options);
  EXPECT_LE(max_abs_diff(out.loss, expected), 1e-6);

  out.loss.backward();
  for (const auto& p : teacher->parameters()) EXPECT_FALSE(p.grad().defined());
  EXPECT_TRUE(student->parameters().front().grad().defined());

  const auto stats = task.take_epoch_stats(1, 4);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].name, "teacher_ms_per_step");
  EXPECT_GT(stats[0].value, 0.0);
  EXPECT_TRUE(task.take_epoch_stats(1, 4).empty()) << "the time is reset after each call";
}

TEST(DistillationTask, HardDistillationUsesTheTeachersArgmax) {
  auto cfg = distill_recipe();
  cfg.train.mixup = {};
  cfg.distill.type = config::DistillType::Hard;
  at::manual_seed(0);
  auto student = models::create(cfg.model);
  auto teacher = std::make_shared<RecordingTeacher>();
  DistillationTask task(cfg, student, teacher, kCpu);
  const auto batch = image_batch();
  const auto loss = task.loss(batch, 0).loss;
  const auto heads = *student->forward_distilled(batch.images);
  at::Tensor teacher_logits;
  {
    at::NoGradGuard no_grad;
    teacher_logits = teacher->forward(batch.images);
  }
  const auto base = at::cross_entropy_loss(heads.first, batch.labels, {}, at::Reduction::Mean, -100, 0.1);
  const auto expected = base * 0.7 + at::cross_entropy_loss(heads.second, teacher_logits.argmax(1)) * 0.3;
  EXPECT_LE(max_abs_diff(loss, expected), 1e-6);
}

TEST(DistillationTask, StudentAndTeacherMustFit) {
  auto cfg = distill_recipe();
  cfg.model = tiny_model("vit");  // no distillation head
  auto message = error_of([&] {
    DistillationTask(cfg, models::create(cfg.model), std::make_shared<RecordingTeacher>(), kCpu);
  });
  EXPECT_NE(message.find("no distillation head"), std::string::npos) << message;
  cfg = distill_recipe();
  auto teacher_config = tiny_model("vit");
  teacher_config.num_classes = 4;
  message = error_of([&] {
    DistillationTask(cfg, models::create(cfg.model), models::create(teacher_config), kCpu);
  });
  EXPECT_NE(message.find("the teacher predicts 4 classes and the student 3"), std::string::npos) << message;
}

config::RecipeConfig clip_recipe() {
  config::RecipeConfig cfg;
  cfg.model = testing::reduced_clip_config();
  return cfg;
}

// The reduced CLIP with open_clip's weights and one batch through open_clip + ClipLoss.
TEST(ContrastiveTask, LossMatchesOpenClipOnTheSameWeightsAndBatch) {
  const auto dir = testing::scratch_dir();
  const std::string overrides = testing::reduced_clip_open_clip_overrides();
  testing::run_reference_script("clip_training_reference.py", "step '" + dir.string() + "' '" + overrides + "'");
  const auto io = testing::read_tensors(dir / "io.safetensors");
  std::vector<std::string> captions;
  nlohmann::json::parse(std::ifstream(dir / "captions.json")).get_to(captions);

  const auto cfg = clip_recipe();
  auto clip = models::create_clip(cfg.model);
  models::load_clip_pretrained(*clip, dir / "weights.safetensors");
  ContrastiveTask task(cfg, clip, std::make_shared<const text::BpeTokenizer>(), kCpu);
  task.train_mode();
  data::Batch batch{io.at("images"), at::full({io.at("images").size(0)}, -1, at::kLong), captions};
  auto out = task.loss(batch, 0);
  out.loss.backward();
  const double loss_err = max_abs_diff(out.loss, io.at("loss"));
  const double grad_err = max_abs_diff(clip->logit_scale.grad(), io.at("logit_scale_grad"));
  EXPECT_LE(loss_err, 1e-5);
  EXPECT_LE(grad_err, 1e-5);
  std::printf("contrastive step vs open_clip: loss %.3g, logit_scale gradient %.3g\n", loss_err, grad_err);
  ASSERT_EQ(out.metrics.size(), 3u);
  EXPECT_EQ(out.metrics[0].first, "i2t_acc");
  EXPECT_FLOAT_EQ(out.metrics[0].second.item<float>(), io.at("i2t_acc").item<float>());
  EXPECT_EQ(out.metrics[1].first, "t2i_acc");
  EXPECT_FLOAT_EQ(out.metrics[1].second.item<float>(), io.at("t2i_acc").item<float>());
  EXPECT_EQ(out.metrics[2].first, "logit_scale");
  EXPECT_NEAR(out.metrics[2].second.item<double>(), 20.0, 1e-4);
}

TEST(ContrastiveTask, LogitScaleStartsAtOneOverPointZeroSevenAndIsClampedAfterEachStep) {
  const auto cfg = clip_recipe();
  auto clip = models::create_clip(cfg.model);
  EXPECT_NEAR(clip->logit_scale.item<double>(), std::log(1.0 / 0.07), 1e-6);
  ContrastiveTask task(cfg, clip, std::make_shared<const text::BpeTokenizer>(), kCpu);
  {
    at::NoGradGuard no_grad;
    clip->logit_scale.fill_(6.0);
  }
  task.after_step();
  EXPECT_NEAR(clip->logit_scale.item<double>(), std::log(100.0), 1e-6);
  {
    at::NoGradGuard no_grad;
    clip->logit_scale.fill_(-1.0);
  }
  task.after_step();
  EXPECT_EQ(clip->logit_scale.item<double>(), 0.0);
}

TEST(ContrastiveTask, LockedImageTowerIsFrozenAndInEvalMode) {
  auto cfg = clip_recipe();
  cfg.clip.lock_image = true;
  auto clip = models::create_clip(cfg.model);
  ContrastiveTask task(cfg, clip, std::make_shared<const text::BpeTokenizer>(), kCpu);
  task.train_mode();
  EXPECT_FALSE(clip->visual->is_training());
  EXPECT_TRUE(clip->transformer->is_training());
  for (const auto& p : clip->visual->parameters()) EXPECT_FALSE(p.requires_grad());
  for (const auto& g : task.param_groups(cfg.optim)) {
    for (const auto& name : g.names) EXPECT_NE(name.rfind("visual.", 0), 0u) << name << " in " << g.label;
  }
  at::manual_seed(1);
  data::Batch batch{at::randn({3, 3, 32, 32}), at::full({3}, -1, at::kLong), {"a cat", "a dog", "a bag"}};
  task.loss(batch, 0).loss.backward();
  EXPECT_FALSE(clip->visual->proj.grad().defined());
  EXPECT_TRUE(clip->text_projection.grad().defined());
  EXPECT_TRUE(clip->logit_scale.grad().defined());
}

TEST(ContrastiveTask, MixupAndLabelSmoothingAreRefused) {
  auto cfg = clip_recipe();
  cfg.train.mixup.cutmix_alpha = 1.0;
  auto message = error_of([&] {
    ContrastiveTask(cfg, models::create_clip(cfg.model), std::make_shared<const text::BpeTokenizer>(), kCpu);
  });
  EXPECT_NE(message.find("train.mixup"), std::string::npos) << message;
  cfg = clip_recipe();
  cfg.train.label_smoothing = 0.1;
  message = error_of([&] {
    ContrastiveTask(cfg, models::create_clip(cfg.model), std::make_shared<const text::BpeTokenizer>(), kCpu);
  });
  EXPECT_NE(message.find("train.label_smoothing"), std::string::npos) << message;
}

TEST(ClipParamGroups, TowersAndLogitScaleGetTheirOwnLrAndDecay) {
  auto clip = models::create_clip(testing::reduced_clip_config());
  config::OptimConfig optim;
  optim.weight_decay = 0.2;
  config::ClipTrainConfig c;
  c.image_lr_scale = 0.1;
  c.image_weight_decay = 0.05;
  c.text_lr_scale = 0.5;
  c.logit_scale_lr_scale = 2.0;
  const auto groups = build_clip_param_groups(*clip, optim, c);
  std::map<std::string, const ParamGroup*> by_label;
  size_t tensors = 0;
  for (const auto& g : groups) {
    by_label[g.label] = &g;
    tensors += g.names.size();
  }
  EXPECT_EQ(tensors, clip->parameters().size()) << "every parameter in exactly one group";
  ASSERT_EQ(by_label.size(), 5u);
  auto has = [&](const std::string& label, const std::string& name) {
    const auto& names = by_label.at(label)->names;
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  EXPECT_TRUE(has("image.decay", "visual.conv1.weight"));
  EXPECT_TRUE(has("image.no_decay", "visual.ln_pre.weight"));
  EXPECT_TRUE(has("image.no_decay", "visual.class_embedding"));
  EXPECT_TRUE(has("text.decay", "token_embedding.weight"));
  EXPECT_TRUE(has("text.decay", "text_projection"));
  EXPECT_TRUE(has("text.no_decay", "ln_final.bias"));
  EXPECT_TRUE(has("logit_scale", "logit_scale"));
  EXPECT_EQ(by_label.at("image.decay")->lr_scale, 0.1);
  EXPECT_EQ(by_label.at("image.decay")->weight_decay, 0.05);
  EXPECT_EQ(by_label.at("image.no_decay")->weight_decay, 0.0);
  EXPECT_EQ(by_label.at("text.decay")->lr_scale, 0.5);
  EXPECT_EQ(by_label.at("text.decay")->weight_decay, 0.2);
  EXPECT_EQ(by_label.at("logit_scale")->lr_scale, 2.0);
  EXPECT_EQ(by_label.at("logit_scale")->weight_decay, 0.0);

  optim.layer_decay = 0.75;
  const auto message = error_of([&] { build_clip_param_groups(*clip, optim, c); });
  EXPECT_NE(message.find("optim.layer_decay"), std::string::npos) << message;
}

}  // namespace
}  // namespace tessera::train
