// The DeiT distillation loss (Touvron et al., 2021): the class head learns from the
// labels, the distillation head from a teacher's outputs.
//
//   loss = (1 - alpha) * base_loss + alpha * distill
//   soft: distill = KL(softmax(teacher / tau) || softmax(student / tau)) * tau^2, summed
//         and divided by the logits' element count (DeiT's reference) or by the batch
//         size (timm's "batchmean"): the two differ by a factor of the class count,
//         so a recipe moving between them rescales alpha.
//   hard: distill = cross-entropy of the student against the teacher's argmax.
#pragma once

#include <ATen/ATen.h>

#include "tessera/config/recipe.h"

namespace tessera::train {

// The recipe's enums (distill.type, distill.normalization).
using DistillType = config::DistillType;
using KlNormalization = config::KlNormalization;

struct DistillationOptions {
  DistillType type = DistillType::Soft;
  double alpha = 0.5;  // weight of the distillation term
  double tau = 1.0;    // softmax temperature of the soft loss
  KlNormalization normalization = KlNormalization::SumOverNumel;
};

// The distillation term alone, from the student's distillation-head logits and the
// teacher's logits (B, C); the teacher's are treated as constants.
at::Tensor distillation_term(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                             const DistillationOptions& options);

// (1 - alpha) * base_loss + alpha * distillation_term(...); base_loss alone for None.
at::Tensor distillation_loss(const at::Tensor& base_loss, const at::Tensor& student_logits,
                             const at::Tensor& teacher_logits, const DistillationOptions& options);

}  // namespace tessera::train
