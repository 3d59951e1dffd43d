"""Reference outputs from open_clip, run at test time (no downloads: random init, fixed seed).

  model NAME OUT_DIR OVERRIDES_JSON [--images B] [--texts T] [--seed S] [--grad]
      open_clip.create_model(NAME, pretrained=None, **OVERRIDES) with every 0/1-D tensor
      nudged off its init (so biases and norms are covered), its state dict under
      open_clip's names in OUT_DIR/weights.safetensors, and in OUT_DIR/io.safetensors:
        images          (B, 3, S, S) float32 from torch.manual_seed(seed + 1)
        tokens          (T, context_length) int64, open_clip.tokenize of fixed captions (T <= 3)
        image_features  encode_image(images), not normalized
        text_features   encode_text(tokens), not normalized
        logit_scale     forward()'s logit_scale (already exp'd)
        logits          logit_scale * normalize(image) @ normalize(text).T
        grad_weight, image_grad (with --grad)  d(sum(logits * grad_weight)) / d(images)

  tokenize STRINGS_JSON OUT_FILE [--no-fix-encoding]
      ids of each string of the JSON list, saved to OUT_FILE (safetensors):
        tokens   open_clip.tokenize(strings): (N, 77) int64, checked equal to
                 open_clip.get_tokenizer('ViT-B-32')(strings)
        ids      the tokenizer's encode() of every string, concatenated (no start/end)
        offsets  (N + 1) int64: string i's ids are ids[offsets[i]:offsets[i+1]]
      --no-fix-encoding runs ftfy without its mojibake repair, the one part of ftfy's
      cleaning that Tessera leaves out.

  params NAME [NAME ...]
      prints {"NAME": parameter count} as JSON, built on the meta device.
"""
import argparse
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


def run_model(args):
    overrides = json.loads(args.overrides)
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    model = open_clip.create_model(args.name, pretrained=None, **overrides)
    nudge(model)
    model.eval()
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(args.out_dir, "weights.safetensors"))

    size = model.visual.image_size[0]
    torch.manual_seed(args.seed + 1)
    images = torch.randn(args.images, 3, size, size)
    tokens = open_clip.tokenize(CAPTIONS[:args.texts], context_length=model.context_length)
    io = {"images": images, "tokens": tokens}

    x = images.clone().requires_grad_(args.grad)
    with torch.set_grad_enabled(args.grad):
        image_features = model.encode_image(x)
        text_features = model.encode_text(tokens)
        img_n, txt_n, logit_scale = model(x, tokens)
        logits = logit_scale * img_n @ txt_n.T
    io["image_features"] = image_features.detach()
    io["text_features"] = text_features.detach()
    io["logit_scale"] = logit_scale.detach().reshape(1)
    io["logits"] = logits.detach()
    if args.grad:
        torch.manual_seed(args.seed + 2)
        w = torch.randn_like(logits)
        (logits * w).sum().backward()
        io["grad_weight"] = w
        io["image_grad"] = x.grad.detach()
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(args.out_dir, "io.safetensors"))
    print(json.dumps({"params": sum(p.numel() for p in model.parameters())}))


def run_tokenize(args):
    with open(args.strings, encoding="utf-8") as f:
        strings = json.load(f)
    if args.no_fix_encoding:
        import ftfy
        import open_clip.tokenizer as tok

        class NoMojibakeFtfy:
            @staticmethod
            def fix_text(text):
                return ftfy.fix_text(text, fix_encoding=False)

        tok.ftfy = NoMojibakeFtfy
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    tokens = open_clip.tokenize(strings)
    assert torch.equal(tokens, tokenizer(strings)), "tokenize and get_tokenizer disagree"
    ids, offsets = [], [0]
    for s in strings:
        ids.extend(tokenizer.encode(s))
        offsets.append(len(ids))
    save_file({"tokens": tokens.contiguous(),
               "ids": torch.tensor(ids, dtype=torch.int64),
               "offsets": torch.tensor(offsets, dtype=torch.int64)}, args.out_file)


def run_params(args):
    counts = {}
    for name in args.names:
        with torch.device("meta"):
            model = open_clip.create_model(name, pretrained=None, device="meta")
        counts[name] = sum(p.numel() for p in model.parameters())
    print(json.dumps(counts))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("model")
    m.add_argument("name")
    m.add_argument("out_dir")
    m.add_argument("overrides", nargs="?", default="{}")
    m.add_argument("--images", type=int, default=2)
    m.add_argument("--texts", type=int, default=3)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--grad", action="store_true")
    t = sub.add_parser("tokenize")
    t.add_argument("strings")
    t.add_argument("out_file")
    t.add_argument("--no-fix-encoding", action="store_true")
    p = sub.add_parser("params")
    p.add_argument("names", nargs="+")
    args = parser.parse_args()
    {"model": run_model, "tokenize": run_tokenize, "params": run_params}[args.command](args)


if __name__ == "__main__":
    main()
