"""The Python side of scripts/bench_vit_ti.sh: one ViT-Ti training (or inference) step
in timm + PyTorch eager, timed step by step like `tessera bench`.

The model is timm.create_model('vit_tiny_patch16_224', img_size=32, patch_size=4,
num_classes=10): ViT-Ti (192 wide, 12 blocks, 3 heads) on 32x32 images cut into 4x4
patches (64 tokens + the class token, the usual CIFAR setting), 10 classes. A train step
is forward, cross-entropy, backward, torch.optim.AdamW step (lr 1e-3, weight decay 0.05
on >= 2-D tensors, none on biases / norms / tokens, as Tessera's param groups), zero_grad.
bf16 runs the forward under torch.autocast('cpu', dtype=torch.bfloat16), weights fp32.

Prints one JSON object with the same fields as `tessera bench --json`.
"""
import argparse
import json
import time

import numpy as np
import timm
import torch
import torch.nn.functional as F


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--img-size", type=int, default=32)
    parser.add_argument("--patch-size", type=int, default=4)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=args.img_size,
                              patch_size=args.patch_size, num_classes=args.num_classes)
    images = torch.randn(args.batch, 3, args.img_size, args.img_size)
    labels = torch.randint(args.num_classes, (args.batch,))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    if args.mode == "train":
        model.train()
        decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and n not in model.no_weight_decay()]
        no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or n in model.no_weight_decay()]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)

        def step():
            with autocast:
                logits = model(images)
            loss = F.cross_entropy(logits.float(), labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            loss.item()
    else:
        model.eval()

        def step():
            with torch.inference_mode(), autocast:
                model(images).sum().item()

    for _ in range(args.warmup):
        step()
    seconds = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    rates = args.batch / np.array(seconds)
    print(json.dumps({
        "framework": "timm", "timm": timm.__version__, "torch": torch.__version__,
        "model": "vit_tiny_patch16_224", "params": sum(p.numel() for p in model.parameters()),
        "mode": args.mode, "precision": args.precision, "device": "cpu", "threads": torch.get_num_threads(),
        "batch": args.batch, "img_size": args.img_size, "num_classes": args.num_classes,
        "warmup": args.warmup, "steps": args.steps,
        "images_per_second": {"median": float(np.percentile(rates, 50)), "p10": float(np.percentile(rates, 10)),
                              "p90": float(np.percentile(rates, 90))},
        "step_seconds": seconds}))


if __name__ == "__main__":
    main()
