"""Inspection model speed in PyTorch eager on CPU, for every backbone.

For each backbone the full multi-view model (backbone + catalog-conditioned heads + fusion) runs
in inference mode on random inputs at the default model input size (128 px, 6 views, 4 classes):

* ``images_per_s``: throughput over batches of 8 items (48 view images);
* ``item_p50_ms`` / ``item_p99_ms``: latency of one item (6 views) per call.

Writes ``benchmarks/results/vision_speed.json`` as ``{backbone: {"images_per_s", "item_p50_ms",
"item_p99_ms"}}``. Other processes on the machine inflate the figures; the load average is printed.

    python benchmarks/vision_speed.py [--threads 2] [--image-size 128] [--repeats 60]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from kernels.io import write_json
from vision.catalog import REF_DIM
from vision.model import InspectionNet, ModelSpec
from vision.schema import BACKBONES

RESULT = Path(__file__).parent / "results" / "vision_speed.json"
VIEWS, CLASSES, BATCH_ITEMS = 6, 4, 8


def measure(backbone: str, image_size: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = InspectionNet(
        ModelSpec(backbone=backbone, width=64, image_size=image_size), CLASSES, VIEWS
    ).eval()

    def inputs(items: int):
        return (
            torch.rand(items, VIEWS, 3, image_size, image_size),
            torch.ones(items, VIEWS),
            torch.rand(items, REF_DIM),
        )

    batch, single = inputs(BATCH_ITEMS), inputs(1)
    with torch.inference_mode():
        for _ in range(3):  # warm-up: oneDNN picks kernels on the first calls
            model(*batch)
            model(*single)
        rounds = max(3, repeats // 6)
        start = time.perf_counter()
        for _ in range(rounds):
            model(*batch)
        throughput = rounds * BATCH_ITEMS * VIEWS / (time.perf_counter() - start)
        latencies = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(*single)
            latencies.append((time.perf_counter() - t0) * 1000)
    return {
        "images_per_s": round(float(throughput), 1),
        "item_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "item_p99_ms": round(float(np.percentile(latencies, 99)), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=60, help="single-item calls per backbone")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"PyTorch {torch.__version__} eager, CPU ({platform.processor() or platform.machine()}), "
        f"{args.threads} threads, {args.image_size}px, {VIEWS} views/item, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    results = {}
    print(f"{'backbone':<20} {'images/s':>10} {'item p50 ms':>12} {'item p99 ms':>12}")
    for backbone in BACKBONES:
        row = measure(backbone, args.image_size, args.repeats)
        results[backbone] = row
        print(
            f"{backbone:<20} {row['images_per_s']:>10.1f} {row['item_p50_ms']:>12.2f} "
            f"{row['item_p99_ms']:>12.2f}",
            flush=True,
        )
    write_json(results, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
