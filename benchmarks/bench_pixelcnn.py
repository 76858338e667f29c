"""PixelCNN sampling: the cached sampler against naive sampling, 64 MNIST-sized images.

    .venv/bin/python benchmarks/bench_pixelcnn.py [--naive-pixels 56]

Both samplers run in float64 from the same pre-drawn uniforms. The naive one
runs the whole network once per pixel; timing all 784 of its passes would take
long, so it draws the first ``--naive-pixels`` pixels (two rows by default) and
its time per pixel is extrapolated to 784 pixels (every pass costs the same).
Those pixels must equal the cached sampler's. Uses the pretrained
``pixelcnn/mnist`` weights when installed, else the default config untrained.
Results go to ``bench-results/pixelcnn.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import genzoo_core

OUT = Path(__file__).resolve().parents[1] / "bench-results" / "pixelcnn.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-pixels", type=int, default=56)
    parser.add_argument("-n", type=int, default=64)
    args = parser.parse_args()
    spec = genzoo_core.get_spec("pixelcnn")
    model = genzoo_core.load("pixelcnn") if spec.weights else genzoo_core.create("pixelcnn")
    pixels = int(np.prod(model.config["image_shape"]))

    model.sample(2, seed=1)  # warm-up
    started = time.perf_counter()
    cached = model.sample(args.n, seed=0)
    cached_seconds = time.perf_counter() - started
    naive, naive_seconds = model.sample_naive(args.n, seed=0, pixels=args.naive_pixels)
    rows, columns = divmod(args.naive_pixels, model.config["image_shape"][1])
    same = np.array_equal(naive[:, :rows], cached[:, :rows]) and np.array_equal(
        naive[:, rows, :columns], cached[:, rows, :columns])
    naive_full = naive_seconds / args.naive_pixels * pixels
    report = {
        "model": "pixelcnn/mnist" if spec.weights else "pixelcnn (untrained, default config)",
        "config": model.config,
        "images": args.n,
        "cached_seconds": round(cached_seconds, 2),
        "naive_seconds_measured": round(naive_seconds, 2),
        "naive_pixels_measured": args.naive_pixels,
        "naive_seconds_extrapolated_to_all_pixels": round(naive_full, 1),
        "speedup": round(naive_full / cached_seconds, 1),
        "same_pixels": bool(same),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"cached sampler: {cached_seconds:.1f} s for {args.n} images")
    print(f"naive sampler:  {naive_seconds:.1f} s for the first {args.naive_pixels} pixels, "
          f"so about {naive_full:.0f} s for all {pixels}")
    print(f"speed-up {naive_full / cached_seconds:.0f}x; identical pixels: {same}")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
