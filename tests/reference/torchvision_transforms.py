"""Reference outputs of torchvision's (and timm's eval) image transforms on uint8 tensors,
run at test time: the C++ per-sample pipeline (src/tessera/data/sample_transform.h and
its parts) must agree with them.

Inputs (safetensors IN): uint8 images (C, H, W) by name.
Spec (JSON file SPEC): a list of jobs {"name", "input", "ops": [op, ...]}; each job runs
its ops in order on the named input and writes the result under its name. Ops:
  {"op": "resize", "size": [h, w] | s, "interpolation": "nearest" | "bilinear" | "bicubic"}
      F.resize(..., antialias=True); an int s resizes the shorter side (torchvision's Resize(int))
  {"op": "resized_crop", "top", "left", "height", "width", "size": [h, w], "interpolation"}
  {"op": "center_crop", "size": [h, w]}
  {"op": "pad_crop", "padding": p, "top", "left", "size": [h, w]}
      RandomCrop(size, padding=p) with its corner given: F.pad with zeros, then F.crop
  {"op": "hflip"}
  {"op": "brightness" | "contrast" | "saturation" | "hue", "factor"}    F.adjust_*
  {"op": "grayscale", "channels": 1 | 3}                                F.rgb_to_grayscale
  {"op": "to_rgb"}                                                      F.grayscale_to_rgb
  {"op": "normalize", "mean": [...], "std": [...]}
      ToTensor's img.float().div(255) (what timm's ToTensor does to uint8), then F.normalize
  {"op": "timm_eval", "img_size": s | [h, w], "crop_pct", "interpolation"}
      the geometric steps of timm's transforms_imagenet_eval (its Resize / ResizeKeepRatio
      and CenterCrop) with their sizes, run by the v2 kernels on the tensor
  {"op": "rrc_boxes", "count", "scale": [lo, hi], "ratio": [lo, hi], "seed"}
      `count` draws of torchvision's RandomResizedCrop box for the image's size, as
      (count, 4) int64 rows (top, left, height, width): for comparing distributions
  {"op": "timm_erasing", "count", "probability", "min_area", "max_area", "min_aspect",
   "min_count", "max_count", "seed"}
      timm's RandomErasing ('const' mode) run `count` times on an image of ones of the
      image's shape: the share of values each run erased, (count,) float64
Output (safetensors OUT): one tensor per job, and "native_uint8_resize" (int64 [2]):
whether this machine's torch resizes uint8 images itself for bilinear and bicubic
(fixed-point weights, as PIL) rather than in float (torch does on AVX2 / AVX512 / arm64).

Usage: python torchvision_transforms.py IN SPEC OUT
"""
import json
import sys

import torch
import torchvision.transforms.v2.functional as F
from safetensors.torch import load_file, save_file
from torchvision.transforms import InterpolationMode

MODES = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR,
         "bicubic": InterpolationMode.BICUBIC}


def timm_eval_geometry(img, op):
    """timm's transforms_imagenet_eval built for the job, its geometric steps run with
    the v2 kernels on the uint8 tensor (timm's own steps would take torchvision's v1
    tensor path, which resizes in float): the sizes are timm's, the pixels torchvision's."""
    from timm.data.transforms_factory import transforms_imagenet_eval
    size = op["img_size"]
    pipeline = transforms_imagenet_eval(img_size=tuple(size) if isinstance(size, list) else size,
                                        crop_pct=op["crop_pct"], interpolation=op["interpolation"])
    for step in pipeline.transforms:
        name = type(step).__name__
        if name in ("MaybeToTensor", "ToTensor", "Normalize"):
            continue
        if name == "Resize":
            img = F.resize(img, step.size, interpolation=step.interpolation, antialias=True)
        elif name == "ResizeKeepRatio":
            size = step.get_params(img, step.size, step.longest)
            img = F.resize(img, size, interpolation=step.interpolation, antialias=True)
        elif name == "CenterCrop":
            img = F.center_crop(img, step.size)
        else:
            raise AssertionError(f"unexpected timm eval step {name}")
    return img


def apply(img, op):
    kind = op["op"]
    if kind == "resize":
        return F.resize(img, op["size"], interpolation=MODES[op["interpolation"]], antialias=True)
    if kind == "resized_crop":
        return F.resized_crop(img, op["top"], op["left"], op["height"], op["width"], op["size"],
                              interpolation=MODES[op["interpolation"]], antialias=True)
    if kind == "center_crop":
        return F.center_crop(img, op["size"])
    if kind == "pad_crop":
        padded = F.pad(img, [op["padding"]], fill=0)
        return F.crop(padded, op["top"], op["left"], op["size"][0], op["size"][1])
    if kind == "hflip":
        return F.horizontal_flip(img)
    if kind == "brightness":
        return F.adjust_brightness(img, op["factor"])
    if kind == "contrast":
        return F.adjust_contrast(img, op["factor"])
    if kind == "saturation":
        return F.adjust_saturation(img, op["factor"])
    if kind == "hue":
        return F.adjust_hue(img, op["factor"])
    if kind == "grayscale":
        return F.rgb_to_grayscale(img, num_output_channels=op["channels"])
    if kind == "to_rgb":
        return F.grayscale_to_rgb(img)
    if kind == "normalize":
        return F.normalize(img.float().div(255), op["mean"], op["std"])
    if kind == "timm_eval":
        return timm_eval_geometry(img, op)
    if kind == "rrc_boxes":
        from torchvision.transforms.v2 import RandomResizedCrop
        torch.manual_seed(op["seed"])
        rrc = RandomResizedCrop(size=1, scale=op["scale"], ratio=op["ratio"])
        boxes = [rrc.make_params([img]) for _ in range(op["count"])]
        return torch.tensor([[b["top"], b["left"], b["height"], b["width"]] for b in boxes], dtype=torch.int64)
    if kind == "timm_erasing":
        import random
        from timm.data.random_erasing import RandomErasing
        random.seed(op["seed"])
        erase = RandomErasing(probability=op["probability"], min_area=op["min_area"], max_area=op["max_area"],
                              min_aspect=op["min_aspect"], mode="const", min_count=op["min_count"],
                              max_count=op["max_count"], device="cpu")
        shares = [1.0 - erase(torch.ones(img.shape)).mean().item() for _ in range(op["count"])]
        return torch.tensor(shares, dtype=torch.float64)
    raise ValueError(f"unknown op {kind!r}")


def main():
    in_path, spec_path, out_path = sys.argv[1:4]
    images = load_file(in_path)
    with open(spec_path) as f:
        jobs = json.load(f)
    torch.set_num_threads(1)
    out = {}
    for job in jobs:
        img = images[job["input"]]
        for op in job["ops"]:
            img = apply(img, op)
        out[job["name"]] = img.contiguous().clone()  # ops may return their input: one tensor per job
    from torchvision.transforms.v2.functional._geometry import _do_native_uint8_resize_on_cpu
    out["native_uint8_resize"] = torch.tensor([_do_native_uint8_resize_on_cpu(MODES[m]) for m in ("bilinear", "bicubic")])
    save_file(out, out_path)


if __name__ == "__main__":
    main()
