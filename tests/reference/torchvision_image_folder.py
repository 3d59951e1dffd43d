"""What torchvision, PIL and Python's csv module make of the files the data tests write,
for tests/unit/image_decode_test.cpp, image_folder_test.cpp, image_text_dataset_test.cpp
and csv_table_test.cpp.

  decode OUT.safetensors FILE...   each file as torchvision's ImageFolder loader sees it,
                                   PIL's Image.open(f).convert("RGB"), saved as uint8
                                   (3, H, W) under its position ("0", "1", ...); prints
                                   {"errors": {position: "ExceptionType: message"}} for
                                   the files PIL refuses.
  folder ROOT...                   torchvision.datasets.ImageFolder(ROOT) for each ROOT:
                                   prints a list of {"classes", "class_to_idx", "samples":
                                   [[path, target]]} or {"error": "ExceptionType: message"}.
  csv SEP FILE [SEP FILE ...]      each file's records as csv.reader(delimiter=SEP) reads
                                   them ("tab" for a tab), blank lines left out as pandas
                                   does; prints [[record, ...], ...], one list per file.
"""
import csv
import json
import sys

import numpy as np


def decode(out_path, files):
    from PIL import Image
    from safetensors.numpy import save_file

    tensors, errors = {}, {}
    for i, path in enumerate(files):
        try:
            with open(path, "rb") as f:
                rgb = np.asarray(Image.open(f).convert("RGB"))  # (H, W, 3)
            tensors[str(i)] = np.ascontiguousarray(rgb.transpose(2, 0, 1))
        except Exception as e:  # PIL raises several types for bad files
            errors[str(i)] = f"{type(e).__name__}: {e}"
    save_file(tensors, out_path)
    print(json.dumps({"errors": errors}))


def folder(roots):
    from torchvision.datasets import ImageFolder

    listings = []
    for root in roots:
        try:
            dataset = ImageFolder(root)
        except Exception as e:
            listings.append({"error": f"{type(e).__name__}: {e}"})
            continue
        listings.append({
            "classes": dataset.classes,
            "class_to_idx": dataset.class_to_idx,
            "samples": [[path, target] for path, target in dataset.samples],
        })
    print(json.dumps(listings))


def read_csv(pairs):
    tables = []
    for sep, path in zip(pairs[0::2], pairs[1::2]):
        delimiter = "\t" if sep == "tab" else sep
        with open(path, newline="", encoding="utf-8-sig") as f:
            tables.append([row for row in csv.reader(f, delimiter=delimiter) if row])
    print(json.dumps(tables))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "decode":
        decode(args[0], args[1:])
    elif command == "folder":
        folder(args)
    elif command == "csv":
        read_csv(args)
    else:
        sys.exit(f"unknown command {command!r}: decode, folder or csv")


if __name__ == "__main__":
    main()
