"""Reference values for CLIP training and evaluation, from open_clip and open_clip_train, run
at test time (no downloads: random init, fixed seed).

  step OUT_DIR OVERRIDES_JSON
      open_clip.create_model('ViT-B-32', pretrained=None, **OVERRIDES) with every 0/1-D
      tensor nudged off its init and logit_scale set to log(20); then one training batch:
      images (6, 3, S, S) from torch.manual_seed(1) and the captions of OUT_DIR/captions.json
      (written here), tokenized by open_clip.tokenize to the model's context length, through
      open_clip_train's loss: ClipLoss()(*model(images, tokens)). In OUT_DIR:
        weights.safetensors  the state dict under open_clip's names
        captions.json        the captions, in batch order
        io.safetensors       images, loss, logit_scale_grad (d loss / d logit_scale parameter),
                             i2t_acc, t2i_acc (argmax of logits_per_image over texts / images)

  metrics OUT_FILE
      open_clip_train.train.get_clip_metrics on random unit embeddings (40, 16) whose pairs
      are partly aligned: OUT_FILE (safetensors) holds image_features, text_features and
      {image_to_text,text_to_image}_R@{1,5,10} as float64 scalars named i2t_r1 ... t2i_r10.
"""
import argparse
import json
import math
import os

import torch
import torch.nn.functional as F
import open_clip
from open_clip.loss import ClipLoss
from open_clip_train.train import get_clip_metrics
from safetensors.torch import save_file

CAPTIONS = ["a photo of a t-shirt/top.", "grey tee shirt", "a close-up of a sandal.",
            "the frock, seen from the front", "a navy sandal for sale", "my new sneakers!"]


def step(args):
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None, **json.loads(args.overrides))
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.dim() <= 1:
                p.add_(torch.randn_like(p) * 0.02)
        model.logit_scale.fill_(math.log(20.0))
    model.train()
    size = model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else size
    torch.manual_seed(1)
    images = torch.randn(len(CAPTIONS), 3, size, size)
    tokens = open_clip.tokenize(CAPTIONS, context_length=model.context_length)
    image_features, text_features, logit_scale = model(images, tokens)
    loss = ClipLoss()(image_features, text_features, logit_scale)
    loss.backward()
    with torch.no_grad():
        logits = logit_scale * image_features @ text_features.T
        target = torch.arange(len(CAPTIONS))
        i2t = (logits.argmax(1) == target).float().mean()
        t2i = (logits.argmax(0) == target).float().mean()
    os.makedirs(args.out, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()},
              os.path.join(args.out, "weights.safetensors"))
    with open(os.path.join(args.out, "captions.json"), "w") as f:
        json.dump(CAPTIONS, f)
    save_file({"images": images, "loss": loss.detach(), "logit_scale_grad": model.logit_scale.grad.reshape(()),
               "i2t_acc": i2t, "t2i_acc": t2i}, os.path.join(args.out, "io.safetensors"))


def metrics(args):
    torch.manual_seed(0)
    images = F.normalize(torch.randn(40, 16), dim=-1)
    texts = F.normalize(images + 0.9 * torch.randn(40, 16), dim=-1)  # noisy pairs: ranks spread over 1..40
    m = get_clip_metrics(images, texts, torch.tensor(1.0))
    out = {"image_features": images, "text_features": texts}
    for direction, short in (("image_to_text", "i2t"), ("text_to_image", "t2i")):
        for k in (1, 5, 10):
            out[f"{short}_r{k}"] = torch.tensor(float(m[f"{direction}_R@{k}"]), dtype=torch.float64)
    save_file(out, args.out)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("step")
    s.add_argument("out")
    s.add_argument("overrides")
    m = sub.add_parser("metrics")
    m.add_argument("out")
    args = parser.parse_args()
    {"step": step, "metrics": metrics}[args.command](args)


if __name__ == "__main__":
    main()
