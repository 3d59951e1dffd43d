"""ONNX Runtime outputs of bundles exported with scripts/export_onnx.py, for the tests.

    onnx_reference.py JOBS_JSON

JOBS_JSON is a list of {"bundle", "inputs", "out", "onnx_dir"} plus "labels" and
"prompts" for CLIP. Each bundle is exported to onnx_dir, then onnxruntime runs the
graphs on the "inputs" tensor of the safetensors file `inputs` (images preprocessed by
`tessera predict --save-tensors`); `out` receives "logits": for classifiers the graph's
output, for CLIP logit_scale * image_features @ class embeddings, the class embeddings
being open_clip's zero-shot classifier computed with the text encoder graph.
"""
import json
import os
import sys

import numpy as np
import onnxruntime
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from export_onnx import export_bundle  # noqa: E402

DEFAULT_PROMPT = "a photo of a {}."


def session(path):
    return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])


def clip_logits(onnx_dir, images, labels, prompts):
    import open_clip
    with open(os.path.join(onnx_dir, "clip.json")) as f:
        clip = json.load(f)
    texts = [p.replace("{}", label) for label in labels for p in prompts]
    tokens = open_clip.tokenize(texts, context_length=clip["context_length"]).numpy()
    text = session(os.path.join(onnx_dir, "text_encoder.onnx")).run(None, {"tokens": tokens})[0]
    classes = text.reshape(len(labels), len(prompts), -1).mean(1)
    classes /= np.linalg.norm(classes, axis=-1, keepdims=True)
    image = session(os.path.join(onnx_dir, "image_encoder.onnx")).run(None, {"images": images})[0]
    return clip["logit_scale"] * image @ classes.T


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    report = []
    for job in jobs:
        checks = export_bundle(job["bundle"], job["onnx_dir"])
        images = load_file(job["inputs"])["inputs"].numpy()
        if os.path.exists(os.path.join(job["onnx_dir"], "clip.json")):
            logits = clip_logits(job["onnx_dir"], images, job["labels"], job.get("prompts") or [DEFAULT_PROMPT])
        else:
            logits = session(os.path.join(job["onnx_dir"], "model.onnx")).run(None, {"images": images})[0]
        save_file({"logits": torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32))}, job["out"])
        report.append({"bundle": job["bundle"], "export_checks": checks})
    print(json.dumps(report))


if __name__ == "__main__":
    main()
