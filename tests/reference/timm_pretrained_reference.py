"""timm's own pretrained loading and pos_embed resampling, run at test time for the
C++ loader's tests (tests/unit/pretrained_test.cpp). No downloads: random init, fixed seed.

  load CASES
      CASES is a JSON list of [name, out_dir, source_kwargs, target_kwargs] (kwargs as
      objects). For each, builds name with source_kwargs (1-D parameters nudged off their
      init, as in timm_reference.py) and saves its state dict to out_dir/source.safetensors;
      then builds name with target_kwargs (another num_classes / img_size ...) the way a
      user starts from that file, timm.create_model(..., pretrained=True,
      pretrained_cfg_overlay={"file": ...}), and saves the result to out_dir/loaded.safetensors.

  resample OUT_FILE CASES
      CASES is a JSON list of [prefix, old_h, old_w, new_h, new_w, dim]. For case i, a random
      pos_embed (1, prefix + old_h*old_w, dim) as "input_i" and timm.layers.resample_abs_pos_embed
      of it to new_h x new_w with timm's defaults as "output_i".
"""
import json
import os
import sys

import torch
import timm
from safetensors.torch import save_file
from timm.layers import resample_abs_pos_embed


def load(name, out_dir, source_kwargs, target_kwargs):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    source = timm.create_model(name, pretrained=False, **source_kwargs)
    with torch.no_grad():
        for p in source.parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.02)
    source_file = os.path.join(out_dir, "source.safetensors")
    save_file({k: v.detach().contiguous() for k, v in source.state_dict().items()}, source_file)

    torch.manual_seed(1)
    target = timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": source_file}, **target_kwargs)
    save_file({k: v.detach().contiguous() for k, v in target.state_dict().items()},
              os.path.join(out_dir, "loaded.safetensors"))


def resample(out_file, cases):
    torch.manual_seed(0)
    tensors = {}
    for i, (prefix, old_h, old_w, new_h, new_w, dim) in enumerate(cases):
        pos_embed = torch.randn(1, prefix + old_h * old_w, dim)
        output = resample_abs_pos_embed(pos_embed, new_size=[new_h, new_w], old_size=[old_h, old_w],
                                        num_prefix_tokens=prefix)
        tensors[f"input_{i}"] = pos_embed
        tensors[f"output_{i}"] = output.contiguous()
    save_file(tensors, out_file)


def main():
    if sys.argv[1] == "load":
        for name, out_dir, source_kwargs, target_kwargs in json.loads(sys.argv[2]):
            load(name, out_dir, source_kwargs, target_kwargs)
    elif sys.argv[1] == "resample":
        resample(sys.argv[2], json.loads(sys.argv[3]))
    else:
        sys.exit(f"unknown mode {sys.argv[1]!r}: load or resample")


if __name__ == "__main__":
    main()
