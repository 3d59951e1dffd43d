"""Runs timm_reference.py for several models in one Python process, so a test file pays
for one import of torch and timm instead of one per model.

Usage: python timm_reference_batch.py '[["NAME", "OUT_DIR", "{kwargs}", "batch", "seed"], ...]'
(each inner list is exactly the arguments timm_reference.py takes).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timm_reference  # noqa: E402


def main():
    for args in json.loads(sys.argv[1]):
        sys.argv = ["timm_reference.py", *args]
        timm_reference.main()


if __name__ == "__main__":
    main()
