"""Cross-checks Tessera's safetensors code against the reference `safetensors` package.

Run by tests/unit/safetensors_test.cpp:

  write FILE EXPECTED_DIR   save tensors with safetensors.torch.save_file; put each
                            tensor's raw bytes in EXPECTED_DIR/<name>.bin, its dtype and
                            shape in EXPECTED_DIR/manifest.txt, the metadata in
                            EXPECTED_DIR/metadata.json, for the C++ side to compare.
  check FILE                load a file Tessera wrote with safetensors.torch.load_file and
                            compare it with formula_tensors() below (the C++ test builds
                            the same tensors); exit 1 on any difference.
"""
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}

# What the C++ test writes in CppWrittenFileLoadsInPython; keep the two in step.
EXPECTED_METADATA = {"format": "pt", "arch": "vit_tiny_patch16_224", "note": "\u00fcn\u00efc\u00f8d\u00e9 \u2713", "empty": ""}


def formula(kind, dtype, shape):
    n = 1
    for d in shape:
        n *= d
    i = torch.arange(n, dtype=torch.int64)
    if kind == "float":
        t = (i.to(torch.float64) - 5) * 0.375
    elif kind == "int":
        t = i * 7 - 40
    elif kind == "uint":
        t = i * 20
    elif kind == "bool":
        t = i % 3 == 0
    else:
        raise ValueError(kind)
    return t.to(dtype).reshape(shape)


def formula_tensors():
    """Mirror of formula_tensors() in tests/unit/safetensors_test.cpp."""
    t = {
        "f64": formula("float", torch.float64, (2, 3)),
        "f32": formula("float", torch.float32, (3, 4)),
        "f16": formula("float", torch.float16, (12,)),
        "bf16": formula("float", torch.bfloat16, (2, 2, 3)),
        "odd_u8": formula("uint", torch.uint8, (3,)),
        "unaligned_f64": formula("float", torch.float64, (5,)),
        "i64": formula("int", torch.int64, (2, 6)),
        "i32": formula("int", torch.int32, (12,)),
        "i16": formula("int", torch.int16, (3, 4)),
        "i8": formula("int", torch.int8, (4, 3)),
        "u8": formula("uint", torch.uint8, (12,)),
        "bool": formula("bool", torch.bool, (3, 4)),
        "scalar": formula("float", torch.float32, ()),
        "empty": formula("float", torch.float32, (0, 3)),
        # The C++ side saves a transposed (non-contiguous) view of f32.
        "transposed": formula("float", torch.float32, (3, 4)).t().contiguous(),
        "special": torch.tensor([float("inf"), float("-inf"), float("nan"), -0.0, 1e-45, 3.4e38],
                                dtype=torch.float32),
        "i64_extremes": torch.tensor([-(2**63), 2**63 - 1, -1], dtype=torch.int64),
    }
    return t


def raw_bytes(t):
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def write(path, expected_dir):
    torch.manual_seed(0)
    tensors = {
        "blocks.0.attn.qkv.weight": torch.randn(12, 4),
        "blocks.0.attn.qkv.bias": torch.randn(12).to(torch.float16),
        "pos_embed": torch.randn(1, 5, 4).to(torch.bfloat16),
        "head.weight": torch.randn(3, 4, dtype=torch.float64),
        "num_batches_tracked": torch.tensor(123456789012, dtype=torch.int64),
        "labels": torch.randint(-(2**31), 2**31 - 1, (7,), dtype=torch.int32),
        "short": torch.randint(-(2**15), 2**15 - 1, (2, 3), dtype=torch.int16),
        "tiny": torch.randint(-128, 127, (5,), dtype=torch.int8),
        "pixels": torch.randint(0, 255, (2, 2, 3), dtype=torch.uint8),
        "mask": torch.rand(9) > 0.5,
        "empty": torch.zeros(0, 4),
        "special": torch.tensor([float("inf"), float("-inf"), float("nan"), -0.0], dtype=torch.float16),
    }
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    os.makedirs(expected_dir, exist_ok=True)
    save_file(tensors, path, metadata=EXPECTED_METADATA)
    with open(os.path.join(expected_dir, "manifest.txt"), "w") as manifest:
        for name, t in tensors.items():
            shape = ",".join(str(d) for d in t.shape) or "-"
            manifest.write(f"{name} {DTYPE_NAMES[t.dtype]} {shape}\n")
            with open(os.path.join(expected_dir, name + ".bin"), "wb") as f:
                f.write(raw_bytes(t))
    with open(os.path.join(expected_dir, "metadata.json"), "w", encoding="utf-8") as f:
        json.dump(EXPECTED_METADATA, f, ensure_ascii=False)
    return 0


def check(path):
    loaded = load_file(path)
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata()
    expected = formula_tensors()
    errors = []
    if metadata != EXPECTED_METADATA:
        errors.append(f"metadata {metadata!r} != {EXPECTED_METADATA!r}")
    if sorted(loaded) != sorted(expected):
        errors.append(f"names {sorted(loaded)} != {sorted(expected)}")
    for name, want in expected.items():
        got = loaded.get(name)
        if got is None:
            continue
        if got.dtype != want.dtype or tuple(got.shape) != tuple(want.shape):
            errors.append(f"{name}: {got.dtype} {tuple(got.shape)} != {want.dtype} {tuple(want.shape)}")
        elif raw_bytes(got) != raw_bytes(want):
            errors.append(f"{name}: values differ: {got.flatten()[:8].tolist()} vs {want.flatten()[:8].tolist()}")
    for e in errors:
        print("mismatch:", e, file=sys.stderr)
    if not errors:
        print(f"ok: {len(expected)} tensors and metadata match")
    return 1 if errors else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "write":
        return write(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
