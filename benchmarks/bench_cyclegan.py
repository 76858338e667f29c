"""Median train-step time of cyclegan configs on real summer2winter batches (CPU sizing).

Run from the repository root::

    GENZOO_DATA=../shared/data .venv/bin/python benchmarks/bench_cyclegan.py \
        --size 64 --batch-size 1 --generator-filters 16 --residual-blocks 6

Prints the median of ``--steps`` steps after 3 warm-up steps, and the implied
seconds per epoch (150 images per domain).

A benchmark, not a recipe: it makes no weights. It sized the shipped
``cyclegan/summer2winter`` config for a CPU. At 64x64, batch 1, on the shared
2-core CPU a step took 319 ms without XLA; with ``--jit``, 13 steps (compilation
included) did not finish in 10 min. Whether training uses XLA the Trainer decides
by measuring (``jit_compile="auto"``, see :mod:`genzoo_core.jit`).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import tensorflow as tf

import genzoo_core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--generator-filters", type=int, default=16)
    parser.add_argument("--residual-blocks", type=int, default=6)
    parser.add_argument("--discriminator-filters", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--jit", action="store_true")
    args = parser.parse_args()
    model = genzoo_core.create("cyclegan", {
        "image_shape": [args.size, args.size, 3],
        "generator_filters": args.generator_filters,
        "residual_blocks": args.residual_blocks,
        "discriminator_filters": args.discriminator_filters,
    })
    data = model.prepare_data(genzoo_core.load_data("summer2winter", "train"))
    model.compile()
    step = tf.function(model.train_step, jit_compile=args.jit, reduce_retracing=True)
    batches = iter(data.dataset(shuffle=True, seed=0, batch_size=args.batch_size).repeat())
    times = []
    for i in range(3 + args.steps):
        batch = next(batches)
        start = time.perf_counter()
        logs = step(batch)
        float(logs["g_loss"])
        if i >= 3:
            times.append(time.perf_counter() - start)
    median = float(np.median(times))
    print(f"size {args.size} batch {args.batch_size} gf {args.generator_filters} "
          f"blocks {args.residual_blocks} df {args.discriminator_filters} jit {args.jit}: "
          f"{median * 1000:.0f} ms/step, {median * 150 / args.batch_size:.0f} s/epoch")


if __name__ == "__main__":
    main()
