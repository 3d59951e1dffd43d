#!/usr/bin/env python3
"""Builds an image-caption dataset from Fashion-MNIST for CLIP training (data.dataset: image_text).

  python3 data/make_fashion_mnist_captions.py [--root /usr/share/datasets/fashion-mnist]
      [--out data/fashion-mnist-captions] [--seed 0] [--wrong 0.1] [--limit-train N] [--limit-val N]

Writes, under --out:
  images/train/NNNNNN.png   the 60,000 training images (28x28 grayscale PNG)
  images/val/NNNNNN.png     the 10,000 test images
  train.csv, val.csv        open_clip's CsvDataset layout: columns filepath (relative to the
                            table) and title (the caption), comma-separated, RFC 4180 quoting
  README.txt                how the captions were made, with the settings used

Each image gets one caption, drawn from its class (a seeded random generator, so the output
is the same for the same arguments):
  - a template, one of 14 ("a photo of a {}.", "a {} on a black background.", "{}", ...);
  - the class noun: the class's Fashion-MNIST name ("t-shirt/top", "ankle boot", ...) with
    probability 0.4, otherwise one of its synonyms ("tee", "jumper", "trainers", "purse", ...);
and noise that a model must learn to see through:
  - a colour or style word before the noun with probability 0.3 ("a red sweater"): the
    images are grayscale, so these words carry nothing;
  - a typo in the noun with probability 0.1 (two letters swapped, one dropped or one doubled);
  - a wrong caption with probability --wrong (default 0.1): the caption describes another
    class, drawn uniformly.
The validation captions are made the same way (another seed), noise included.

Needs only the Python standard library (PNG files are written with zlib).
"""
import argparse
import csv
import gzip
import os
import random
import struct
import zlib

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SYNONYMS = [
    ["t-shirt", "tee", "top", "tank top", "tee shirt"],
    ["trousers", "pants", "jeans", "slacks", "chinos"],
    ["sweater", "jumper", "knit pullover", "sweatshirt", "cardigan"],
    ["gown", "frock", "summer dress", "evening dress", "sundress"],
    ["jacket", "overcoat", "parka", "winter coat", "trench coat"],
    ["sandals", "flip-flop", "open shoe", "strappy sandal", "slide"],
    ["button-up shirt", "blouse", "dress shirt", "flannel shirt", "polo shirt"],
    ["sneakers", "trainer", "running shoe", "tennis shoe", "trainers"],
    ["handbag", "purse", "tote", "shoulder bag", "clutch"],
    ["boot", "ankle boots", "bootie", "short boot", "chelsea boot"],
]
TEMPLATES = [
    "a photo of a {}.", "a black and white photo of a {}.", "a {} on a black background.",
    "a small grayscale picture of a {}.", "{}", "a low resolution photo of the {}.", "product photo: {}",
    "my new {}!", "a {} for sale", "an image showing a {}.", "a close-up of a {}.",
    "this {} is on sale, grab it now", "a centered photo of one {}.", "the {}, seen from the front",
]
COLOURS = ["black", "white", "grey", "red", "blue", "navy", "beige", "pink", "striped", "plain", "vintage", "cheap"]
NAME_PROBABILITY = 0.4
COLOUR_PROBABILITY = 0.3
TYPO_PROBABILITY = 0.1


def read_idx(path):
    """The array of an IDX file (raw or .gz) as (dims, bytes)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    ndims = data[3]
    dims = struct.unpack(">" + "I" * ndims, data[4:4 + 4 * ndims])
    body = data[4 + 4 * ndims:]
    count = 1
    for d in dims:
        count *= d
    if len(body) != count:
        raise SystemExit(f"{path}: expected {count} bytes of data, found {len(body)}")
    return dims, body


def find_idx(root, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(root, name)
        if os.path.exists(path):
            return path
    raise SystemExit(f"{root}: no {stem}[.gz] (is this a Fashion-MNIST folder?)")


def png_gray(width, height, pixels):
    """An 8-bit grayscale PNG of `pixels` (row-major bytes)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + pixels[y * width:(y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def typo(word, rng):
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if len(letters) < 3:
        return word
    i = rng.choice(letters[:-1])
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # swap two neighbours
    if kind == 1:
        return word[:i] + word[i + 1:]  # drop one
    return word[:i] + word[i] + word[i:]  # double one


def caption(label, rng, wrong):
    if rng.random() < wrong:
        label = rng.choice([c for c in range(len(CLASS_NAMES)) if c != label])
    noun = CLASS_NAMES[label].lower() if rng.random() < NAME_PROBABILITY else rng.choice(SYNONYMS[label])
    if rng.random() < TYPO_PROBABILITY:
        noun = typo(noun, rng)
    if rng.random() < COLOUR_PROBABILITY:
        noun = rng.choice(COLOURS) + " " + noun
    return rng.choice(TEMPLATES).format(noun)


def write_split(out, split, dims, pixels, labels, limit, rng, wrong):
    count, height, width = dims
    if limit:
        count = min(count, limit)
    folder = os.path.join(out, "images", split)
    os.makedirs(folder, exist_ok=True)
    rows = []
    size = height * width
    for i in range(count):
        name = f"{i:06d}.png"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(png_gray(width, height, pixels[i * size:(i + 1) * size]))
        rows.append((f"images/{split}/{name}", caption(labels[i], rng, wrong)))
    table = os.path.join(out, f"{split}.csv")
    with open(table + ".tmp", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["filepath", "title"])
        writer.writerows(rows)
    os.replace(table + ".tmp", table)  # the table last: a complete table means complete images
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="/usr/share/datasets/fashion-mnist", help="the Fashion-MNIST IDX files")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "fashion-mnist-captions"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--wrong", type=float, default=0.1, help="share of captions describing another class")
    parser.add_argument("--limit-train", type=int, default=0, help="only the first N training images (0: all)")
    parser.add_argument("--limit-val", type=int, default=0, help="only the first N test images (0: all)")
    args = parser.parse_args()
    if not 0.0 <= args.wrong < 1.0:
        raise SystemExit("--wrong must be in [0, 1)")
    os.makedirs(args.out, exist_ok=True)
    written = {}
    for split, prefix, limit, seed in (("train", "train", args.limit_train, args.seed),
                                       ("val", "t10k", args.limit_val, args.seed + 1)):
        dims, pixels = read_idx(find_idx(args.root, f"{prefix}-images-idx3-ubyte"))
        label_dims, labels = read_idx(find_idx(args.root, f"{prefix}-labels-idx1-ubyte"))
        if len(dims) != 3 or label_dims[0] != dims[0]:
            raise SystemExit(f"{args.root}: {prefix} images and labels do not match")
        written[split] = write_split(args.out, split, dims, pixels, labels, limit, random.Random(seed), args.wrong)
    with open(os.path.join(args.out, "README.txt"), "w", encoding="utf-8") as f:
        f.write(f"Fashion-MNIST with captions, made by data/make_fashion_mnist_captions.py from {args.root}\n"
                f"seed {args.seed}, wrong captions {args.wrong}, colour words {COLOUR_PROBABILITY}, "
                f"typos {TYPO_PROBABILITY}, class name (else a synonym) {NAME_PROBABILITY}\n"
                f"train.csv: {written['train']} images, val.csv: {written['val']} images\n")
    print(f"{args.out}: train.csv ({written['train']} images), val.csv ({written['val']} images)")


if __name__ == "__main__":
    main()
