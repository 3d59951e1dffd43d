// The distillation and CLIP losses against the DeiT reference formulas, timm's
// batchmean variant and open_clip's ClipLoss, computed in Python at test time.
#include <gtest/gtest.h>

#include "reference_runner.h"
#include "tessera/train/clip_loss.h"
#include "tessera/train/contrastive_task.h"
#include "tessera/train/distillation_loss.h"

namespace {

using namespace tessera::train;
using tessera::testing::max_abs_diff;

std::map<std::string, at::Tensor> reference() {
  const auto out = tessera::testing::scratch_dir() / "losses.safetensors";
  tessera::testing::run_reference_script("loss_reference.py", "'" + out.string() + "'");
  return tessera::testing::read_tensors(out);
}

TEST(DistillationLoss, MatchesDeitAndTimmFormulas) {
  auto ref = reference();
  ASSERT_FALSE(ref.empty());
  DistillationOptions soft{DistillType::Soft, 0.25, 3.0, KlNormalization::SumOverNumel};
  auto student_dist = ref.at("student_dist").clone().requires_grad_(true);
  auto term = distillation_term(student_dist, ref.at("teacher"), soft);
  term.backward();
  const double soft_err = max_abs_diff(term, ref.at("deit_soft"));
  const double grad_err = max_abs_diff(student_dist.grad(), ref.at("deit_soft_grad"));
  EXPECT_LE(soft_err, 1e-6);
  EXPECT_LE(grad_err, 1e-6);

  auto batchmean = soft;
  batchmean.normalization = KlNormalization::BatchMean;
  const double batchmean_err =
      max_abs_diff(distillation_term(ref.at("student_dist"), ref.at("teacher"), batchmean), ref.at("batchmean_soft"));
  EXPECT_LE(batchmean_err, 1e-6);

  auto hard = soft;
  hard.type = DistillType::Hard;
  const double hard_err = max_abs_diff(distillation_term(ref.at("student_dist"), ref.at("teacher"), hard), ref.at("hard"));
  EXPECT_LE(hard_err, 1e-6);

  const auto base = at::cross_entropy_loss(ref.at("student"), ref.at("labels"));
  const double total_err =
      max_abs_diff(distillation_loss(base, ref.at("student_dist"), ref.at("teacher"), soft), ref.at("deit_total"));
  EXPECT_LE(total_err, 1e-6);

  const double hard_total_err = max_abs_diff(
      distillation_loss(base, ref.at("student_dist"), ref.at("teacher"), hard), ref.at("deit_total_hard"));
  EXPECT_LE(hard_total_err, 1e-6);
  const double batchmean_total_err = max_abs_diff(
      distillation_loss(base, ref.at("student_dist"), ref.at("teacher"), batchmean), ref.at("batchmean_total"));
  EXPECT_LE(batchmean_total_err, 1e-6);

  DistillationOptions none{DistillType::None};
  EXPECT_TRUE(at::equal(distillation_loss(base, ref.at("student_dist"), ref.at("teacher"), none), base));
  std::printf("max abs error: soft %.3g (grad %.3g), batchmean %.3g, hard %.3g, total %.3g (hard %.3g, batchmean %.3g)\n",
              soft_err, grad_err, batchmean_err, hard_err, total_err, hard_total_err, batchmean_total_err);
}

TEST(DistillationLoss, TeacherGetsNoGradientAndShapesMustAgree) {
  auto student = at::randn({4, 5}).requires_grad_(true);
  auto teacher = at::randn({4, 5}).requires_grad_(true);
  distillation_term(student, teacher, {}).backward();
  EXPECT_TRUE(student.grad().defined());
  EXPECT_FALSE(teacher.grad().defined());
  EXPECT_THROW(distillation_term(at::randn({4, 5}), at::randn({4, 6}), {}), c10::Error);
}

TEST(ClipLoss, MatchesOpenClip) {
  auto ref = reference();
  ASSERT_FALSE(ref.empty());
  auto image = ref.at("image_features").clone().requires_grad_(true);
  auto result = clip_loss(image, ref.at("text_features"), ref.at("logit_scale"));
  result.loss.backward();
  const double loss_err = max_abs_diff(result.loss, ref.at("clip_loss"));
  const double grad_err = max_abs_diff(image.grad(), ref.at("clip_grad_image"));
  EXPECT_LE(loss_err, 1e-6);
  EXPECT_LE(grad_err, 1e-6);
  // At the largest scale training allows: the learnable log scale clamped to ln(100) as
  // ContrastiveTask::after_step does, exponentiated; in float64 as the reference.
  auto log_scale = at::scalar_tensor(6.0);
  log_scale.clamp_(0.0, max_logit_scale());
  EXPECT_LE(max_abs_diff(log_scale, ref.at("logit_scale_max")), 1e-7);
  const double max_err =
      max_abs_diff(clip_loss(ref.at("image_features").to(at::kDouble), ref.at("text_features").to(at::kDouble),
                             log_scale.to(at::kDouble).exp())
                       .loss,
                   ref.at("clip_loss_max"));
  EXPECT_LE(max_err, 1e-6);
  std::printf("clip loss max abs error %.3g, image-feature gradient %.3g, at scale 100 %.3g\n", loss_err, grad_err,
              max_err);

  // In-batch retrieval accuracy, counted directly from the logits.
  const auto logits = result.logits_per_image;
  double i2t = 0, t2i = 0;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    i2t += logits[i].argmax().item<int64_t>() == i;
    t2i += logits.select(1, i).argmax().item<int64_t>() == i;
  }
  EXPECT_FLOAT_EQ(result.image_to_text_acc.item<float>(), i2t / logits.size(0));
  EXPECT_FLOAT_EQ(result.text_to_image_acc.item<float>(), t2i / logits.size(0));
  EXPECT_GT(i2t, 0);  // the script plants one near match
}

TEST(ClipLoss, PerfectAlignmentGivesLowLossAndFullAccuracy) {
  auto features = at::eye(4);
  auto result = clip_loss(features, features, at::scalar_tensor(100.0));
  EXPECT_LT(result.loss.item<double>(), 1e-6);
  EXPECT_EQ(result.image_to_text_acc.item<float>(), 1.0f);
  EXPECT_EQ(result.text_to_image_acc.item<float>(), 1.0f);
}

}  // namespace
