"""The torchvision side of scripts/bench_loader.sh: images per second of a
torch.utils.data.DataLoader over CIFAR-10 binary files with torchvision transforms,
the way a PyTorch user builds it (torchvision.datasets.CIFAR10 hands PIL images to the
transforms), or with the transforms on uint8 tensors (--backend tensor, transforms.v2).

  python bench_loader_torchvision.py --root DIR --pipeline crop32|rrc224 --workers N
      [--batch 128] [--batches 50] [--warmup 5] [--backend pil|tensor]

Prints one JSON line (images_per_second, ...), as `tessera bench-data --json` does.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2


class Cifar10Binary(torch.utils.data.Dataset):
    """The training batches of the binary CIFAR-10 release, as torchvision's CIFAR10
    keeps its python release: one (N, 32, 32, 3) uint8 array, a PIL image per item."""

    def __init__(self, root, backend):
        records = []
        for i in range(1, 6):
            raw = np.fromfile(os.path.join(root, f"data_batch_{i}.bin"), dtype=np.uint8)
            records.append(raw.reshape(-1, 3073))
        records = np.concatenate(records)
        self.labels = records[:, 0].astype(np.int64)
        images = records[:, 1:].reshape(-1, 3, 32, 32)
        self.backend = backend
        if backend == "pil":
            self.images = np.ascontiguousarray(images.transpose(0, 2, 3, 1))  # (N, H, W, C)
        else:
            self.images = torch.from_numpy(np.ascontiguousarray(images))  # (N, C, H, W)
        self.transform = None

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = Image.fromarray(self.images[i]) if self.backend == "pil" else self.images[i]
        return self.transform(image), self.labels[i]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--pipeline", choices=["crop32", "rrc224"], required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--batches", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--backend", choices=["pil", "tensor"], default="pil")
    a = p.parse_args()
    torch.set_num_threads(1)

    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    to_float = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    if a.pipeline == "crop32":
        geometry = [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()]
    else:
        geometry = [v2.RandomResizedCrop(224, antialias=True), v2.RandomHorizontalFlip()]
    dataset = Cifar10Binary(a.root, a.backend)
    dataset.transform = v2.Compose(geometry + to_float)
    loader = torch.utils.data.DataLoader(dataset, batch_size=a.batch, shuffle=True, drop_last=True,
                                         num_workers=a.workers, persistent_workers=a.workers > 0)

    batches = iter(loader)

    def next_batch():
        nonlocal batches
        try:
            return next(batches)
        except StopIteration:
            batches = iter(loader)
            return next(batches)

    for _ in range(a.warmup):
        next_batch()
    images = 0
    start = time.perf_counter()
    for _ in range(a.batches):
        images += next_batch()[0].shape[0]
    seconds = time.perf_counter() - start
    print(json.dumps({"framework": f"torchvision-{a.backend}", "images": images, "seconds": seconds,
                      "images_per_second": images / seconds, "workers": a.workers, "batch_size": a.batch}))


if __name__ == "__main__":
    main()
