// The DeiT distillation loss (see distillation_loss.h).
#include "tessera/train/distillation_loss.h"

#include <c10/util/Exception.h>

namespace tessera::train {

at::Tensor distillation_term(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                             const DistillationOptions& options) {
  TORCH_CHECK(student_logits.dim() == 2 && student_logits.sizes() == teacher_logits.sizes(),
              "distillation: student and teacher logits must both be (B, C), got ", student_logits.sizes(), " and ",
              teacher_logits.sizes());
  const at::Tensor teacher = teacher_logits.detach().to(at::kFloat);
  const at::Tensor student = student_logits.to(at::kFloat);
  switch (options.type) {
    case DistillType::None:
      return at::zeros({}, student.options());
    case DistillType::Hard:
      return at::cross_entropy_loss(student, teacher.argmax(1));
    case DistillType::Soft: {
      const double tau = options.tau;
      const at::Tensor log_p_student = at::log_softmax(student / tau, 1);
      const at::Tensor log_p_teacher = at::log_softmax(teacher / tau, 1);
      // KL(teacher || student) = sum p_t (log p_t - log p_s), with p_t from its log.
      const at::Tensor kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum();
      const double denominator = options.normalization == KlNormalization::SumOverNumel
                                     ? static_cast<double>(student.numel())
                                     : static_cast<double>(student.size(0));
      return kl * (tau * tau) / denominator;
    }
  }
  TORCH_CHECK(false, "distillation: unknown type");
}

at::Tensor distillation_loss(const at::Tensor& base_loss, const at::Tensor& student_logits,
                             const at::Tensor& teacher_logits, const DistillationOptions& options) {
  if (options.type == DistillType::None) return base_loss;
  return base_loss * (1.0 - options.alpha) +
         distillation_term(student_logits, teacher_logits, options) * options.alpha;
}

}  // namespace tessera::train
