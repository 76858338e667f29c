"""Time one GAN train step four ways, and sampling throughput.

    .venv/bin/python benchmarks/bench_train_step.py [--model gan] [--steps 40]

Runs the model's own ``train_step`` on a batch of 128 real MNIST images (random
images when GENZOO_DATA is unset): eagerly, in ``tf.function``, in
``tf.function(jit_compile=True)``, and through ``genzoo_core.Trainer`` (its
compiled ``strategy.run`` step and the callbacks around each step, timed inside
a long epoch; the end-of-epoch work is reported separately). Reports the median ms/step after
warm-up and the generator's images/s (``sample``, batches of 256), prints a table and writes
``bench-results/train_step.json``. The Trainer's own choice of XLA (measured by its
probe, or cached) is in the Trainer row's name.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import genzoo_core
from genzoo_core.data import DataSource, load_mnist

OUT = Path(__file__).resolve().parents[1] / "bench-results" / "train_step.json"


def batch_of(n: int) -> DataSource:
    if os.environ.get("GENZOO_DATA"):
        return load_mnist("train").take(n)
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)
    return DataSource("random", images)


def time_steps(step, batch, steps: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        float(step(batch)["d_loss"])
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        float(step(batch)["d_loss"])  # block until the step is done
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


class StepTimer(keras.callbacks.Callback):
    """Times each training step from batch begin to batch end (the step plus its logs)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Start a new list of step times."""
        self.times = []

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Note the start of a step."""
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Record the step's duration."""
        self.times.append(time.perf_counter() - self._start)

    def median_ms(self) -> float:
        """Median step time after the first five, in milliseconds."""
        return statistics.median(self.times[5:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gan")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()

    data = batch_of(args.batch_size * 8)
    batch = next(iter(data.dataset().batch(args.batch_size)))
    results: dict[str, float] = {}
    for mode in ("eager", "tf.function", "tf.function+xla"):
        keras.utils.set_random_seed(0)
        model = genzoo_core.create(args.model)
        model.compile()
        model.build_optimizers()
        if mode == "eager":
            step = model.train_step
        else:
            step = tf.function(model.train_step, jit_compile=mode.endswith("xla"))
        steps = max(args.steps // 4, 5) if mode == "eager" else args.steps
        results[mode] = time_steps(step, batch, steps)

    # The Trainer: steady-state steps timed inside one long epoch by a callback, and
    # the end-of-epoch work (checkpoint, sample grid, CSV row) timed on its own.
    timer = StepTimer()
    model = genzoo_core.create(args.model)
    with tempfile.TemporaryDirectory() as out:
        trainer = genzoo_core.Trainer(model, out, verbose=0, batch_size=args.batch_size,
                                      callbacks=[timer])
        trainer.fit(data, epochs=1)  # warm-up: tracing and the first checkpoint
        long_data = batch_of(args.batch_size * (args.steps + 5))
        epoch_start = time.perf_counter()
        trainer.fit(long_data, epochs=2)
        epoch_seconds = time.perf_counter() - epoch_start
    results[f"genzoo Trainer (jit_compile={trainer.jit_compile})"] = timer.median_ms()
    epoch_end_seconds = epoch_seconds - sum(timer.times)
    z_model = genzoo_core.create(args.model)
    z_model.sample(512, seed=0)  # trace
    start = time.perf_counter()
    z_model.sample(8192, seed=0)
    images_per_second = 8192 / (time.perf_counter() - start)

    report = {
        "model": args.model,
        "batch_size": args.batch_size,
        "ms_per_step": {k: round(v, 1) for k, v in results.items()},
        "speedup_vs_eager": {k: round(results["eager"] / v, 2) for k, v in results.items()},
        "sample_images_per_second": round(images_per_second),
        "trainer_epoch_seconds_outside_steps": round(epoch_end_seconds, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "note": "Trainer ms/step is the median step inside an epoch, data fetch excluded; "
        "trainer_epoch_seconds_outside_steps is the rest of that epoch: data fetching, "
        "the checkpoint, the sample grid and the CSV row",
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    width = max(map(len, results))
    for mode, ms in results.items():
        print(f"{mode:<{width}}  {ms:7.1f} ms/step  ({results['eager'] / ms:4.2f}x eager)")
    print(f"sampling: {images_per_second:,.0f} images/s at batch 256")
    print(f"Trainer epoch time outside the steps ({args.steps + 5} steps): "
          f"{epoch_end_seconds:.2f} s (data fetching, checkpoint, grid, CSV)")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
