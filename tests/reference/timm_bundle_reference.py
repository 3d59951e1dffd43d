"""Loading a Tessera bundle (`tessera export`) into Python timm / open_clip.

A bundle is a folder with model.safetensors (timm's / open_clip's parameter names) and
tessera.json (the architecture as the reference constructor's arguments, the class
names and the evaluation preprocessing). As a library:

    sys.path.insert(0, "tests/reference")
    from timm_bundle_reference import load_bundle
    bundle = load_bundle("my_bundle")                  # checks the weights' SHA-256
    x = torch.stack([bundle.transform(Image.open(p)) for p in paths])
    logits = bundle.logits(x)                          # CLIP: bundle.logits(x, labels=[...])

From the command line:

    predict BUNDLE IMAGE... [--labels a,b,c] [--prompt "a photo of a {}."] [--top-k 5]
        the top-k classes of each image, preprocessed with timm's transforms (PIL) as
        tessera.json says: resize the shorter side to size / crop_pct, center crop,
        normalize. (Tessera decodes and resizes with OpenCV: pixels may differ slightly.)

    compare JOBS_JSON
        for the tests: JOBS_JSON is a list of {"bundle", "inputs", "out"} plus optional
        "labels", "prompts" (CLIP) and "images". "inputs" is a safetensors file whose
        "inputs" tensor holds preprocessed images (`tessera predict --save-tensors`);
        "out" receives "logits" (the reference model on those inputs) and, with "images",
        "python_inputs" / "python_logits" (the same files preprocessed here).
"""
import argparse
import hashlib
import importlib
import json
import os
import sys

import torch
from PIL import Image
from safetensors.torch import load_file, save_file

DEFAULT_PROMPT = "a photo of a {}."


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_module(reference):
    """The timm / open_clip module tessera.json's "reference" section describes."""
    kwargs = dict(reference["kwargs"])
    if reference["library"] == "open_clip":
        from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
        return CLIP(embed_dim=kwargs["embed_dim"], vision_cfg=CLIPVisionCfg(**kwargs["vision_cfg"]),
                    text_cfg=CLIPTextCfg(**kwargs["text_cfg"]), quick_gelu=kwargs["quick_gelu"])
    module = importlib.import_module(reference["module"])
    for key in ("depths", "num_heads"):  # timm's Swin takes tuples
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])
    return getattr(module, reference["class"])(**kwargs)


def eval_transform(pre):
    """timm's evaluation transform from tessera.json's "preprocessing" (a PIL image in)."""
    import timm.data
    height, width = pre["image_size"]
    channels = pre["channels"]
    per_channel = lambda v: tuple(v) * channels if len(v) == 1 else tuple(v)
    tf = timm.data.create_transform(input_size=(channels, height, width), is_training=False,
                                    interpolation=pre["interpolation"], crop_pct=pre["crop_pct"],
                                    crop_mode="center", mean=per_channel(pre["mean"]), std=per_channel(pre["std"]))
    mode = "L" if channels == 1 else "RGB"
    return lambda image: tf(image.convert("RGB").convert(mode))


class Bundle:
    def __init__(self, path, device="cpu"):
        with open(os.path.join(path, "tessera.json")) as f:
            self.meta = json.load(f)
        if self.meta.get("format") != "tessera-bundle" or self.meta.get("format_version") != 1:
            raise ValueError(f"{path}: not a version-1 Tessera bundle")
        weights = os.path.join(path, "model.safetensors")
        if sha256_of(weights) != self.meta["weights"]["sha256"]:
            raise ValueError(f"{weights}: SHA-256 differs from tessera.json (changed or corrupted)")
        self.model = build_module(self.meta["reference"])
        state = load_file(weights)
        self.model.load_state_dict(state, strict=True)  # fp16 / bf16 files are cast to the module's fp32
        self.model.eval().to(device)
        self.device = device
        self.is_clip = self.meta["family"] == "clip"
        self.classes = self.meta["classes"]
        self.transform = eval_transform(self.meta["preprocessing"])

    @torch.no_grad()
    def class_embeddings(self, labels, prompts=(DEFAULT_PROMPT,)):
        """open_clip's zero-shot classifier: per label, the mean of its prompts' unit text embeddings, renormalized."""
        import open_clip
        texts = [p.replace("{}", label) if "{}" in p else f"{p} {label}" for label in labels for p in prompts]
        tokens = open_clip.tokenize(texts, context_length=self.model.context_length).to(self.device)
        emb = torch.nn.functional.normalize(self.model.encode_text(tokens), dim=-1)
        emb = emb.view(len(labels), len(prompts), -1).mean(1)
        return torch.nn.functional.normalize(emb, dim=-1)

    @torch.no_grad()
    def logits(self, inputs, labels=None, prompts=(DEFAULT_PROMPT,)):
        inputs = inputs.to(self.device, torch.float32)
        if not self.is_clip:
            return self.model(inputs).float().cpu()
        classes = self.class_embeddings(labels or self.classes, prompts)
        image = torch.nn.functional.normalize(self.model.encode_image(inputs), dim=-1)
        return (self.model.logit_scale.exp() * image @ classes.T).float().cpu()


def load_bundle(path, device="cpu"):
    return Bundle(path, device)


def preprocess_files(bundle, paths):
    return torch.stack([bundle.transform(Image.open(p)) for p in paths])


def run_predict(args):
    bundle = load_bundle(args.bundle)
    labels = [s.strip() for s in args.labels.split(",")] if args.labels else bundle.classes
    prompts = args.prompt or [DEFAULT_PROMPT]
    probs = bundle.logits(preprocess_files(bundle, args.images), labels, prompts).softmax(-1)
    for path, row in zip(args.images, probs):
        print(path)
        values, indices = row.topk(min(args.top_k, row.numel()))
        for rank, (p, i) in enumerate(zip(values.tolist(), indices.tolist()), 1):
            print(f"  {rank:>2}  {labels[i]:<24} {p:.4f}")


def run_compare(args):
    with open(args.jobs) as f:
        jobs = json.load(f)
    summary = []
    for job in jobs:
        bundle = load_bundle(job["bundle"])
        labels = job.get("labels") or None
        prompts = job.get("prompts") or [DEFAULT_PROMPT]
        inputs = load_file(job["inputs"])["inputs"]
        out = {"logits": bundle.logits(inputs, labels, prompts)}
        if job.get("images"):
            py_inputs = preprocess_files(bundle, job["images"])
            out["python_inputs"] = py_inputs
            out["python_logits"] = bundle.logits(py_inputs, labels, prompts)
        save_file({k: v.contiguous() for k, v in out.items()}, job["out"])
        summary.append({"bundle": job["bundle"], "class": bundle.meta["reference"]["class"]})
    print(json.dumps(summary))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict")
    p.add_argument("bundle")
    p.add_argument("images", nargs="+")
    p.add_argument("--labels")
    p.add_argument("--prompt", action="append")
    p.add_argument("--top-k", type=int, default=5)
    c = sub.add_parser("compare")
    c.add_argument("jobs")
    args = parser.parse_args()
    {"predict": run_predict, "compare": run_compare}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
