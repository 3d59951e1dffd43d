"""Reference values of the distillation and CLIP losses, run at test time.

  loss_reference.py OUT_FILE
      writes OUT_FILE (safetensors), from torch.manual_seed(0):
        student, student_dist, teacher   (8, 10) logits; labels (8) int64
        deit_soft       DeiT's soft term: F.kl_div(log_softmax(s/T), log_softmax(t/T),
                        reduction='sum', log_target=True) * T*T / s.numel(), T = 3
        deit_soft_grad  its gradient with respect to student_dist
        batchmean_soft  timm's TokenDistillationTask term: the same with reduction='batchmean'
        hard            F.cross_entropy(s, t.argmax(1))
        deit_total      DeiT's DistillationLoss: base * (1 - alpha) + soft * alpha, alpha = 0.25,
                        base = F.cross_entropy(student, labels)
        deit_total_hard the same with the hard term
        batchmean_total timm's combination with the batchmean soft term
        image_features, text_features   (6, 16) L2-normalized; logit_scale (exp'd)
        clip_loss       open_clip.loss.ClipLoss()(image_features, text_features, logit_scale)
        clip_grad_image its gradient with respect to image_features
        clip_loss_max   ClipLoss at the largest scale training allows (exp(ln 100) = 100), in
                        float64 (at this scale float32 rounding alone exceeds 1e-6)
        logit_scale_max the clamped learnable scale: torch.tensor(6.0).clamp(0, log(100)), as
                        open_clip_train clamps after each step
"""
import math
import sys

import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss
from safetensors.torch import save_file

TAU = 3.0
ALPHA = 0.25


def main(out_file):
    torch.manual_seed(0)
    student = torch.randn(8, 10) * 2
    student_dist = torch.randn(8, 10, requires_grad=True)
    teacher = torch.randn(8, 10) * 3
    labels = torch.randint(0, 10, (8,))

    log_s = F.log_softmax(student_dist / TAU, dim=1)
    log_t = F.log_softmax(teacher / TAU, dim=1)
    deit_soft = F.kl_div(log_s, log_t, reduction='sum', log_target=True) * (TAU * TAU) / student_dist.numel()
    deit_soft.backward()
    batchmean_soft = F.kl_div(log_s, log_t, reduction='batchmean', log_target=True) * (TAU * TAU)
    hard = F.cross_entropy(student_dist, teacher.argmax(dim=1))
    base = F.cross_entropy(student, labels)
    deit_total = base * (1 - ALPHA) + deit_soft * ALPHA
    deit_total_hard = base * (1 - ALPHA) + hard * ALPHA
    batchmean_total = base * (1 - ALPHA) + batchmean_soft * ALPHA

    image = F.normalize(torch.randn(6, 16), dim=-1).requires_grad_(True)
    text = F.normalize(torch.randn(6, 16), dim=-1)
    text[2] = image[2].detach() * 0.9 + text[2] * 0.1  # a near match, so accuracy is not trivially 0
    scale = torch.tensor(1 / 0.07)
    clip = ClipLoss()(image, text, scale)
    clip.backward()
    logit_scale_max = torch.tensor(6.0).clamp(0, math.log(100))
    clip_max = ClipLoss()(image.detach().double(), text.double(), logit_scale_max.double().exp())

    save_file({
        'student': student, 'student_dist': student_dist.detach(), 'teacher': teacher, 'labels': labels,
        'deit_soft': deit_soft.detach(), 'deit_soft_grad': student_dist.grad,
        'batchmean_soft': batchmean_soft.detach(), 'hard': hard.detach(), 'deit_total': deit_total.detach(),
        'image_features': image.detach(), 'text_features': text.contiguous(), 'logit_scale': scale,
        'clip_loss': clip.detach(), 'clip_grad_image': image.grad,
        'deit_total_hard': deit_total_hard.detach(), 'batchmean_total': batchmean_total.detach(),
        'clip_loss_max': clip_max.detach(), 'logit_scale_max': logit_scale_max,
    }, out_file)


if __name__ == '__main__':
    main(sys.argv[1])
