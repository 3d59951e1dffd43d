"""Export a Tessera bundle (`tessera export`) to ONNX, through timm / open_clip and torch.onnx.

    python scripts/export_onnx.py BUNDLE OUT_DIR [--opset 17] [--batch 2]

The bundle is loaded into the reference implementation (tests/reference/
timm_bundle_reference.py: timm for ViT / DeiT / Swin, open_clip for CLIP), its weights
checked against tessera.json's SHA-256, and exported with a dynamic batch axis:

  ViT, DeiT, Swin   OUT_DIR/model.onnx          images (B, C, H, W) float32 -> logits (B, classes)
  CLIP              OUT_DIR/image_encoder.onnx  images (B, 3, S, S) float32 -> image_features (B, D), unit length
                    OUT_DIR/text_encoder.onnx   tokens (B, context_length) int64 -> text_features (B, D), unit length
                    OUT_DIR/clip.json           logit_scale (already exponentiated) and context_length;
                                                zero-shot logits = logit_scale * image_features @ text_features.T

The images are what tessera.json's "preprocessing" makes of a picture (resize, center
crop, normalize), copied to OUT_DIR/tessera.json; CLIP's tokens come from
open_clip.tokenize. Needs the Python packages of third_party/versions.sh (torch, timm,
open_clip_torch, onnx). Each exported graph is run once with onnxruntime, when
installed, and compared with PyTorch (the largest difference is printed).
"""
import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from timm_bundle_reference import load_bundle  # noqa: E402


class UnitFeatures(torch.nn.Module):
    """One of CLIP's towers as its own graph: clip.encode_image or clip.encode_text, L2-normalized."""

    def __init__(self, clip, encode):
        super().__init__()
        self.clip = clip
        self.encode = encode

    def forward(self, x):
        return torch.nn.functional.normalize(getattr(self.clip, self.encode)(x), dim=-1)


def export_graph(module, example, path, input_name, output_name, opset):
    # The TorchScript-based exporter: it needs no extra packages and handles timm's Swin.
    # nn.MultiheadAttention's inference fast path (open_clip's attention) has no ONNX
    # export: the plain path is traced instead (same numbers).
    torch.backends.mha.set_fastpath_enabled(False)
    torch.onnx.export(module, (example,), path, dynamo=False, opset_version=opset, input_names=[input_name],
                      output_names=[output_name], dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}})


def check_graph(module, example, path):
    """The largest |onnxruntime - PyTorch| on `example`, or None without onnxruntime."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    with torch.no_grad():
        want = module(example).numpy()
    return float(abs(got - want).max())


def export_bundle(bundle_dir, out_dir, opset=17, batch=2):
    """Writes the ONNX graphs of `bundle_dir` to `out_dir`; returns {file: max |ORT - PyTorch|}."""
    bundle = load_bundle(bundle_dir)
    os.makedirs(out_dir, exist_ok=True)
    shutil.copy(os.path.join(bundle_dir, "tessera.json"), os.path.join(out_dir, "tessera.json"))
    pre = bundle.meta["preprocessing"]
    torch.manual_seed(0)
    images = torch.randn(batch, pre["channels"], *pre["image_size"])
    checks = {}
    with torch.no_grad():
        if not bundle.is_clip:
            path = os.path.join(out_dir, "model.onnx")
            export_graph(bundle.model, images, path, "images", "logits", opset)
            checks["model.onnx"] = check_graph(bundle.model, images, path)
            return checks
        import open_clip
        clip = bundle.model
        image_encoder = UnitFeatures(clip, "encode_image").eval()
        text_encoder = UnitFeatures(clip, "encode_text").eval()
        texts = (["a photo of a cat.", "a diagram of a transformer."] * batch)[:batch]
        tokens = open_clip.tokenize(texts, context_length=clip.context_length)
        path = os.path.join(out_dir, "image_encoder.onnx")
        export_graph(image_encoder, images, path, "images", "image_features", opset)
        checks["image_encoder.onnx"] = check_graph(image_encoder, images, path)
        path = os.path.join(out_dir, "text_encoder.onnx")
        export_graph(text_encoder, tokens, path, "tokens", "text_features", opset)
        checks["text_encoder.onnx"] = check_graph(text_encoder, tokens, path)
        with open(os.path.join(out_dir, "clip.json"), "w") as f:
            json.dump({"logit_scale": float(clip.logit_scale.exp()), "context_length": clip.context_length}, f, indent=2)
    return checks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle")
    parser.add_argument("out_dir")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--batch", type=int, default=2, help="batch of the example input (the axis stays dynamic)")
    args = parser.parse_args()
    for name, diff in export_bundle(args.bundle, args.out_dir, args.opset, args.batch).items():
        note = "onnxruntime not installed: not checked" if diff is None else f"max |onnxruntime - PyTorch| = {diff:.3g}"
        print(f"wrote {os.path.join(args.out_dir, name)} ({note})")


if __name__ == "__main__":
    main()
