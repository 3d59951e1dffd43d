"""An open_clip checkpoint and its outputs, for the convert / pretrained-loading tests
(run at test time; no downloads: a reduced custom model, random init, fixed seed).

  open_clip_export.py OUT_DIR OVERRIDES_JSON [--model NAME] [--seed S] [--images B]
                      [--image-size S2] [--context-length L2]

open_clip.create_model(NAME, pretrained=None, **OVERRIDES) with every 0/1-D tensor nudged
off its init (so biases and norms are covered), then in OUT_DIR:
  weights.safetensors         its state dict under open_clip's names
  module_weights.safetensors  the same names with DDP's "module." prefix
  io.safetensors              images (B, 3, S, S) from torch.manual_seed(seed + 1), tokens
                              (open_clip.tokenize of fixed captions), image_features,
                              text_features (not normalized), logit_scale (exp'd), logits
With --image-size S2 / --context-length L2, a second model identical but for
vision_cfg.image_size / text_cfg.context_length gets weights.safetensors through
open_clip.load_checkpoint (which resizes the position embeddings its own way), and
io_image_S2.safetensors / io_context_L2.safetensors hold the same outputs from it, at
its size, plus the resized embedding (visual_positional_embedding / positional_embedding).
"""
import argparse
import copy
import json
import os

import torch
import open_clip
from safetensors.torch import save_file

CAPTIONS = ["a photo of a cat", "a diagram of a transformer, drawn by hand!", "two dogs playing in the snow"]


def nudge(model):
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.dim() <= 1:
                p.add_(torch.randn_like(p) * 0.02)


def outputs(model, images):
    tokens = open_clip.tokenize(CAPTIONS, context_length=model.context_length)
    with torch.no_grad():
        image_features = model.encode_image(images)
        text_features = model.encode_text(tokens)
        img_n, txt_n, logit_scale = model(images, tokens)
    return {"images": images, "tokens": tokens, "image_features": image_features, "text_features": text_features,
            "logit_scale": logit_scale.reshape(1), "logits": logit_scale * img_n @ txt_n.T}


def save(tensors, path):
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, path)


def resized_model(args, overrides, cfg_key, field, value, weights):
    changed = copy.deepcopy(overrides)
    changed.setdefault(cfg_key, {})[field] = value
    torch.manual_seed(args.seed + 7)  # any init: load_checkpoint replaces every tensor
    model = open_clip.create_model(args.model, pretrained=None, **changed)
    open_clip.load_checkpoint(model, weights)  # strict; resizes position embeddings
    return model.eval()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("overrides", nargs="?", default="{}")
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--context-length", type=int)
    args = parser.parse_args()
    overrides = json.loads(args.overrides)
    os.makedirs(args.out_dir, exist_ok=True)

    torch.manual_seed(args.seed)
    model = open_clip.create_model(args.model, pretrained=None, **overrides)
    nudge(model)
    model.eval()
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    weights = os.path.join(args.out_dir, "weights.safetensors")
    save_file(state, weights)
    save_file({"module." + k: v for k, v in state.items()}, os.path.join(args.out_dir, "module_weights.safetensors"))

    size = model.visual.image_size[0]
    torch.manual_seed(args.seed + 1)
    save(outputs(model, torch.randn(args.images, 3, size, size)), os.path.join(args.out_dir, "io.safetensors"))

    if args.image_size:
        resized = resized_model(args, overrides, "vision_cfg", "image_size", args.image_size, weights)
        torch.manual_seed(args.seed + 2)
        io = outputs(resized, torch.randn(args.images, 3, args.image_size, args.image_size))
        io["visual_positional_embedding"] = resized.visual.positional_embedding
        save(io, os.path.join(args.out_dir, f"io_image_{args.image_size}.safetensors"))
    if args.context_length:
        resized = resized_model(args, overrides, "text_cfg", "context_length", args.context_length, weights)
        torch.manual_seed(args.seed + 1)
        io = outputs(resized, torch.randn(args.images, 3, size, size))
        io["positional_embedding"] = resized.positional_embedding
        save(io, os.path.join(args.out_dir, f"io_context_{args.context_length}.safetensors"))
    print(json.dumps({"params": sum(p.numel() for p in model.parameters()), "tensors": len(state)}))


if __name__ == "__main__":
    main()
