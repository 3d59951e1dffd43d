"""Reference outputs of the auto-augment ops, run at test time (tests/unit/augment_ops_test.cpp).

Each case applies one op to one of the test's uint8 images with the reference library:
  tv         torchvision.transforms.v2.functional.<op> on a PIL image (PIL semantics:
             F.adjust_* call ImageEnhance, F.posterize & co. call ImageOps, F.affine /
             F.rotate call Image.transform / Image.rotate)
  pil        PIL itself: Image.transform(AFFINE, matrix) and Image.rotate, with the
             bilinear / bicubic resampling timm picks
  timm       timm's AugmentOp(name, prob=1, magnitude) from timm/data/auto_augment.py (loaded
             without `import timm`), its random sign scripted by the case
  ta         torchvision's v2.TrivialAugmentWide op at a given bin and sign (its own
             magnitude table and _apply_image_or_video_transform) on a PIL image
  ta_tensor  the same on the uint8 tensor (torchvision's tensor backend), for measuring
             how far the PIL semantics are from it

Inputs (safetensors IN): uint8 images (C, H, W), C = 1 ('L') or 3 ('RGB').
Cases (JSON file): [{"id", "image", "kind", "op", "args"}, ...].
Output (safetensors OUT): one uint8 (C, H, W) tensor per case id, and
"ta_magnitudes.<op>" (float64 copies of torchvision's float32 magnitude tables).

Usage: python torchvision_augment_ops.py IN CASES_JSON OUT
"""
import json
import os
import sys

import numpy
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from torchvision.transforms import InterpolationMode
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F


# timm's own auto_augment.py without `import timm` (seconds per test); it needs only PIL
# and numpy. The loader is timm_mixup.py's.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timm_mixup import timm_module  # noqa: E402

timm_aa = timm_module("data/auto_augment.py", "timm_data_auto_augment")

PIL_RESAMPLE = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
                "bicubic": Image.Resampling.BICUBIC}
TV_INTERPOLATION = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR,
                    "bicubic": InterpolationMode.BICUBIC}


class ScriptedRandom:
    """Python's `random` as timm's auto_augment module sees it: random() hands out the
    case's numbers in order; any other draw (or a number left over) is an error."""

    def __init__(self, numbers):
        self.numbers = list(numbers)

    def random(self):
        if not self.numbers:
            raise AssertionError("timm drew more random() numbers than the case gave")
        return self.numbers.pop(0)

    def __getattr__(self, name):
        raise AssertionError(f"timm called random.{name}, which the case does not script")


def to_pil(image):
    """(C, H, W) uint8 → PIL 'L' or 'RGB'."""
    array = image.numpy()
    pil = Image.fromarray(array[0] if array.shape[0] == 1 else numpy.ascontiguousarray(array.transpose(1, 2, 0)))
    assert pil.mode == ("L" if array.shape[0] == 1 else "RGB")
    return pil


def from_pil(pil):
    array = numpy.asarray(pil)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(numpy.array(array, copy=True, order="C"))  # PIL's buffer is read-only


def pil_fill(fill, channels):
    """A fill for PIL / torchvision: an int for 'L', a tuple for 'RGB'."""
    return fill[0] if channels == 1 else tuple(fill)


def run_tv(image, op, args):
    args = dict(args)
    if "interpolation" in args:
        args["interpolation"] = TV_INTERPOLATION[args["interpolation"]]
    if "fill" in args:
        args["fill"] = pil_fill(args["fill"], image.shape[0])
    return from_pil(getattr(F, op)(to_pil(image), **args))


def run_pil(image, op, args):
    pil = to_pil(image)
    fill = pil_fill(args["fill"], image.shape[0])
    resample = PIL_RESAMPLE[args["interpolation"]]
    if op == "transform":
        out = pil.transform(pil.size, Image.Transform.AFFINE, tuple(args["matrix"]), resample, fillcolor=fill)
    elif op == "rotate":
        out = pil.rotate(args["angle"], resample, fillcolor=fill)
    else:
        raise ValueError(f"unknown pil op {op}")
    return from_pil(out)


def run_timm(image, op, args):
    channels = image.shape[0]
    hparams = {"img_mean": pil_fill(args["fill"], channels), "interpolation": PIL_RESAMPLE[args["interpolation"]],
               "magnitude_std": 0}
    if "magnitude_max" in args:
        hparams["magnitude_max"] = args["magnitude_max"]
    random = ScriptedRandom([0.75] if args["negate"] else [0.25] if args["signed"] else [])
    timm_aa.random = random
    out = timm_aa.AugmentOp(op, prob=1.0, magnitude=args["magnitude"], hparams=hparams)(to_pil(image))
    if random.numbers:
        raise AssertionError(f"timm did not draw the sign the case scripted for {op}")
    return from_pil(out)


def run_ta(image, op, args, tensor):
    channels = image.shape[0]
    fill = args["fill"][0] if channels == 1 else list(args["fill"])
    ta = v2.TrivialAugmentWide(interpolation=InterpolationMode.NEAREST, fill=fill)
    magnitudes_fn, signed = ta._AUGMENTATION_SPACE[op]
    magnitudes = magnitudes_fn(ta.num_magnitude_bins, image.shape[1], image.shape[2])
    magnitude = 0.0 if magnitudes is None else float(magnitudes[args["bin"]])
    if signed and args["negate"]:
        magnitude *= -1
    out = ta._apply_image_or_video_transform(image.clone() if tensor else to_pil(image), op, magnitude,
                                             interpolation=ta.interpolation, fill=ta._fill)
    return out if tensor else from_pil(out)


def main():
    torch.set_num_threads(1)  # tiny images: a thread pool only adds seconds on a busy machine
    in_path, cases_path, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
    images = load_file(in_path)
    with open(cases_path) as f:
        cases = json.load(f)
    out = {}
    for case in cases:
        image, kind, op, args = images[case["image"]], case["kind"], case["op"], case["args"]
        if kind == "tv":
            result = run_tv(image, op, args)
        elif kind == "pil":
            result = run_pil(image, op, args)
        elif kind == "timm":
            result = run_timm(image, op, args)
        elif kind == "ta" or kind == "ta_tensor":
            result = run_ta(image, op, args, tensor=kind == "ta_tensor")
        else:
            raise ValueError(f"unknown kind {kind}")
        assert result.dtype == torch.uint8 and result.shape == image.shape, (case["id"], result.shape)
        out[case["id"]] = result.contiguous()
    ta = v2.TrivialAugmentWide()
    for name, (magnitudes_fn, _) in ta._AUGMENTATION_SPACE.items():
        magnitudes = magnitudes_fn(ta.num_magnitude_bins, 1, 1)
        if magnitudes is not None:
            out[f"ta_magnitudes.{name}"] = magnitudes.to(torch.float64).contiguous()
    save_file(out, out_path)


if __name__ == "__main__":
    main()
