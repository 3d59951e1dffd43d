// DeiT's distillation through attention (Touvron et al., 2021): the student's class head
// learns from the labels (or mixup's soft targets), its distillation head from a frozen
// teacher that sees the same mixed images, in eval mode, without gradients, under the
// same autocast. loss = (1 - alpha) · label loss + alpha · distillation term
// (distillation_loss.h). The teacher's time is measured apart from the student's.
#pragma once

#include "tessera/train/classification_task.h"
#include "tessera/train/distillation_loss.h"

namespace tessera::train {

class DistillationTask : public ClassificationTask {
 public:
  // `student` must have a distillation head (deit_*_distilled_*); `teacher` must predict
  // the same classes. Both are moved to `device`; the teacher is put in eval mode and
  // its parameters stop requiring gradients. Throws tessera::Error naming the key to change.
  DistillationTask(const config::RecipeConfig& config, models::ImageClassifier student,
                   models::ImageClassifier teacher, c10::Device device);

  nn::AttentionShapes attention_shapes() const override;
  TaskLoss loss(const data::Batch& batch, int64_t micro_batch) override;
  // teacher_ms_per_step and teacher_images_per_second (teacher forwards alone) since the last call.
  std::vector<Metric> take_epoch_stats(int64_t steps, int64_t images) override;
  std::vector<std::string> describe() const override;

 private:
  // The teacher's logits (B, classes) for `images`: inference mode, eval mode, autocast.
  at::Tensor teacher_logits(const at::Tensor& images);

  models::ImageClassifier teacher_;
  DistillationOptions options_;
  double teacher_seconds_ = 0.0;  // since the last take_epoch_stats
};

}  // namespace tessera::train
