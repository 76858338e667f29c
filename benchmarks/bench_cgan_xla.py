"""Time the cgan train step with and without XLA.

    GENZOO_DATA=../shared/data .venv/bin/python benchmarks/bench_cgan_xla.py

Compiles ``model.train_step`` with ``tf.function(jit_compile=False)`` and
``tf.function(jit_compile=True)``, runs it on one real MNIST batch of 128
(images and labels), and prints the median ms/step of ``--steps`` steps after
``--warmup`` warm-up steps for each. The two variants alternate in rounds, so a
change in background load hits both alike.

A benchmark, not a recipe: it makes no weights. The Trainer makes the same
comparison itself on every new setup (``jit_compile="auto"``, see
:mod:`genzoo_core.jit`); this script measures longer, for the model page
(docs/models/cgan.md).
"""

from __future__ import annotations

import argparse
import statistics
import time

import tensorflow as tf

import genzoo_core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    data = genzoo_core.load_data("mnist", "train").take(128)
    batch = next(iter(data.dataset(batch_size=128)))
    steps = {}
    for jit in (False, True):
        model = genzoo_core.create("cgan")
        model.compile()
        model.build_optimizers()
        steps[jit] = tf.function(model.train_step, jit_compile=jit)
        for _ in range(args.warmup):
            float(steps[jit](batch)["d_loss"])
    times = {False: [], True: []}
    for _ in range(args.rounds):
        for jit in (False, True):
            for _ in range(args.steps // args.rounds):
                start = time.perf_counter()
                float(steps[jit](batch)["d_loss"])  # block until the step is done
                times[jit].append(time.perf_counter() - start)
    for jit in (False, True):
        values = times[jit]
        print(f"jit_compile={jit}: median {statistics.median(values) * 1000:.0f} ms/step "
              f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, {len(values)} steps)")


if __name__ == "__main__":
    main()
