"""Reference output of timm's Mixup / CutMix on given random numbers, run at test time.

timm draws its randomness from numpy (np.random.rand / beta / randint). This script
replaces the numpy that timm.data.mixup sees by one whose np.random hands out the
numbers the test chose, in the order timm asks for them, then runs the real
timm.data.Mixup and timm.loss.SoftTargetCrossEntropy on the test's batch. A call timm
makes that the numbers do not cover, a number left over or a randint value outside the
range timm asks for is an error: the test must describe timm's draws exactly.

Inputs (safetensors IN): images (B, C, H, W) float32, labels (B) int64, logits (B, K) float32.
Spec (JSON): Mixup's arguments (mixup_alpha, cutmix_alpha, cutmix_minmax, prob,
switch_prob, mode, correct_lam, label_smoothing, num_classes) and "draws": one per
decision (1 in batch mode, B in elem mode, B/2 in pair mode), each
{apply, use_cutmix, lam, centre_y, centre_x, cut_h, cut_w, top, left}
(the fields of Tessera's MixDraw).
Output (safetensors OUT): images, targets (B, K), loss (scalar).

Usage: python timm_mixup.py IN OUT SPEC_JSON
"""
import importlib.util
import json
import os
import sys

import numpy
from safetensors.torch import load_file, save_file


def timm_module(relative_path, name):
    """One of timm's own source files, loaded without `import timm` (whose __init__
    imports every model: seconds per test). These two files need only torch and numpy."""
    (timm_dir,) = importlib.util.find_spec("timm").submodule_search_locations
    spec = importlib.util.spec_from_file_location(name, os.path.join(timm_dir, relative_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


timm_mixup = timm_module("data/mixup.py", "timm_data_mixup")
SoftTargetCrossEntropy = timm_module("loss/cross_entropy.py", "timm_loss_cross_entropy").SoftTargetCrossEntropy


class ScriptedRandom:
    """np.random with queued answers: rand, beta and randint each pop their own queue."""

    def __init__(self, rand, beta, randint):
        self.queues = {"rand": list(rand), "beta": list(beta), "randint": list(randint)}

    def _pop(self, kind, size):
        queue = self.queues[kind]
        count = 1 if size is None else int(numpy.prod(size))
        if len(queue) < count:
            raise AssertionError(f"timm asked for {count} more {kind} number(s) than the test gave")
        values, self.queues[kind] = queue[:count], queue[count:]
        return values[0] if size is None else numpy.array(values).reshape(size)

    def rand(self, *size):
        value = self._pop("rand", size if size else None)
        return numpy.float64(value) if not size else value.astype(numpy.float64)

    def beta(self, a, b, size=None):
        value = self._pop("beta", size)
        return numpy.float64(value) if size is None else value.astype(numpy.float64)

    def randint(self, low, high=None, size=None):
        value = self._pop("randint", size)
        lo, hi = (0, low) if high is None else (low, high)
        if not (lo <= value < hi):
            raise AssertionError(f"randint value {value} is outside [{lo}, {hi})")
        return numpy.int64(value)

    def check_used(self):
        left = {k: v for k, v in self.queues.items() if v}
        if left:
            raise AssertionError(f"timm did not use these numbers: {left}")


class ScriptedNumpy:
    """numpy, except for np.random."""

    def __init__(self, random):
        self.random = random

    def __getattr__(self, name):
        return getattr(numpy, name)


def below(p):
    """A uniform number that is < p (the event happens)."""
    assert p > 0, "an event of probability 0 cannot happen"
    return p / 2


def not_below(p):
    """A uniform number that is >= p (the event does not happen)."""
    assert p < 1, "an event of probability 1 cannot fail"
    return (1 + p) / 2


def box_numbers(draw, minmax):
    """The randint answers of one cutmix box, in timm's order."""
    if minmax is not None:
        return [draw["cut_h"], draw["cut_w"], draw["top"], draw["left"]]
    return [draw["centre_y"], draw["centre_x"]]


def queues(spec):
    """rand / beta / randint answers in the order timm's Mixup asks for them."""
    mixup_on = spec["mixup_alpha"] > 0
    minmax = spec["cutmix_minmax"]
    cutmix_on = spec["cutmix_alpha"] > 0 or minmax is not None
    prob, switch = spec["prob"], spec["switch_prob"]
    draws = spec["draws"]
    rand, beta, randint = [], [], []
    if spec["mode"] == "batch":
        (d,) = draws
        rand.append(below(prob) if d["apply"] else not_below(prob))
        if d["apply"]:
            if mixup_on and cutmix_on:
                rand.append(below(switch) if d["use_cutmix"] else not_below(switch))
            beta.append(d["lam"])
            cutmix = cutmix_on and (not mixup_on or d["use_cutmix"])
            if cutmix and d["lam"] != 1.0:
                randint += box_numbers(d, minmax)
        return rand, beta, randint
    # elem / pair: vectorised draws over the decisions, then boxes element by element.
    if mixup_on and cutmix_on:
        rand += [below(switch) if d["use_cutmix"] else not_below(switch) for d in draws]
        beta += [d["lam"] for d in draws]  # cutmix's λs ...
        beta += [d["lam"] for d in draws]  # ... and mixup's: np.where picks one per element
    else:
        beta += [d["lam"] for d in draws]
    rand += [below(prob) if d["apply"] else not_below(prob) for d in draws]
    for d in draws:
        cutmix = cutmix_on and (not mixup_on or d["use_cutmix"])
        if d["apply"] and cutmix and numpy.float32(d["lam"]) != 1.0:
            randint += box_numbers(d, minmax)
    return rand, beta, randint


def main():
    in_path, out_path, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    tensors = load_file(in_path)
    random = ScriptedRandom(*queues(spec))
    timm_mixup.np = ScriptedNumpy(random)

    mixup = timm_mixup.Mixup(
        mixup_alpha=spec["mixup_alpha"], cutmix_alpha=spec["cutmix_alpha"],
        cutmix_minmax=spec["cutmix_minmax"], prob=spec["prob"], switch_prob=spec["switch_prob"],
        mode=spec["mode"], correct_lam=spec["correct_lam"], label_smoothing=spec["label_smoothing"],
        num_classes=spec["num_classes"])
    images, targets = mixup(tensors["images"].clone(), tensors["labels"])
    random.check_used()
    loss = SoftTargetCrossEntropy()(tensors["logits"], targets)
    save_file({"images": images.contiguous(), "targets": targets.contiguous(), "loss": loss.reshape(())},
              out_path)


if __name__ == "__main__":
    main()
