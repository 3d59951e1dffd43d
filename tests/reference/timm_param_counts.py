"""timm's parameter count of each named model, for tests/unit/registry_param_count_test.cpp.

Models are built on the meta device, so even the largest costs no memory or time.
Prints one JSON object: {name: count, ...}, with null for a name timm does not have.

Usage: python timm_param_counts.py NAME [NAME ...]
"""
import json
import sys

import torch
import timm


def main():
    counts = {}
    for name in sys.argv[1:]:
        if not timm.is_model(name):
            counts[name] = None
            continue
        with torch.device("meta"):
            model = timm.create_model(name, pretrained=False)
        counts[name] = sum(p.numel() for p in model.parameters())
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
