"""Reference outputs from timm, run at test time (no downloads: random init, fixed seed).

Builds `timm.create_model(name, pretrained=False, **kwargs)`, saves its state dict under
timm's own names to <out>/weights.safetensors, and the input, the outputs and the
input's gradient to <out>/io.safetensors:

  input        (B, C, H, W) float32, from torch.manual_seed(seed + 1)
  eval_out     model.eval()(input)                   (DeiT distilled: mean of both heads)
  train_out    model.train()(input) with dropout off (DeiT distilled: head, then head_dist
               as train_out_dist)
  input_grad   d(sum(eval_out * w))/d(input) with w a fixed random tensor (w saved as grad_weight)

Usage: python timm_reference.py NAME OUT_DIR '{"img_size": 96, "num_classes": 10}' [batch] [seed]
"""
import json
import os
import sys

import torch
import timm
from safetensors.torch import save_file


def main():
    name, out_dir = sys.argv[1], sys.argv[2]
    kwargs = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    os.makedirs(out_dir, exist_ok=True)

    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False, **kwargs)
    # Non-zero biases and norm affines, so the comparison covers every parameter.
    with torch.no_grad():
        for param_name, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.02)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(out_dir, "weights.safetensors"))

    cfg = model.pretrained_cfg if hasattr(model, "pretrained_cfg") else {}
    chans = kwargs.get("in_chans", 3)
    size = kwargs.get("img_size", cfg.get("input_size", (3, 224, 224))[-1])
    torch.manual_seed(seed + 1)
    x = torch.randn(batch, chans, size, size)
    io = {"input": x}

    model.eval()
    xg = x.clone().requires_grad_(True)
    out = model(xg)
    io["eval_out"] = out.detach()
    w = torch.randn_like(out)
    (out * w).sum().backward()
    io["grad_weight"] = w
    io["input_grad"] = xg.grad.detach()

    model.train()
    if hasattr(model, "set_distilled_training"):  # DeiT: both heads while training
        model.set_distilled_training(True)
    for m in model.modules():  # dropout and drop path off: outputs are deterministic
        if isinstance(m, torch.nn.Dropout) or type(m).__name__ == "DropPath":
            m.eval()
    with torch.no_grad():
        train_out = model(x)
    if isinstance(train_out, tuple):
        io["train_out"], io["train_out_dist"] = train_out[0], train_out[1]
    else:
        io["train_out"] = train_out
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out_dir, "io.safetensors"))
    print(json.dumps({"params": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
