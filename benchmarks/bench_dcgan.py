"""DCGAN train-step throughput: genzoo's Trainer against three hand-written loops.

    .venv/bin/python benchmarks/bench_dcgan.py [--filters 32] [--steps 20]

One architecture (genzoo-dcgan's 28x28 networks with ``--filters`` base filters;
32 is the shipped ``dcgan/mnist`` configuration, 64 the paper's width), one batch
size (128 real MNIST images; random ones when GENZOO_DATA is unset), run:

1. the seed chapter's eager loop ("A simplified GAN training loop"): one
   ``GradientTape`` pair per batch, both networks updated from the same forward
   pass;
2. that step in a plain ``tf.function``;
3. that step as a ``train_step`` override under Keras ``Model.fit`` with default
   settings;
4. genzoo-dcgan's own ``train_step``: eagerly, in a plain ``tf.function``, and
   with XLA;
5. ``genzoo_core.Trainer`` training ``dcgan`` (with XLA, the model's choice).

genzoo's step alternates: a discriminator update on one z, then a generator
update on a fresh z, as in Goodfellow et al.'s Algorithm 1. That is one more
generator and one more discriminator forward pass than the seed chapter's
simultaneous step, so rows 1-3 do less work per step than rows 4-5: the ratio
against the eager loop is conservative, the ratio against genzoo's own step run
eagerly compares equal work, and the Trainer's overhead is measured against the
same step compiled the same way. Times are the median seconds per step
after warm-up (the Trainer's and fit's are timed by a callback inside an epoch,
so end-of-epoch work is excluded). Also reported: sampling throughput with the
generator at batch 1024. Results go to ``bench-results/dcgan.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from genzoo_dcgan.model import build_discriminator, build_generator

import genzoo_core
from genzoo_core.data import DataSource, load_mnist

OUT = Path(__file__).resolve().parents[1] / "bench-results" / "dcgan.json"
BATCH = 128
LATENT = 100
cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)


def real_images(n: int) -> DataSource:
    if os.environ.get("GENZOO_DATA"):
        return load_mnist("train").take(n)
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)
    return DataSource("random", images)


def seed_chapter_step(generator: keras.Model, discriminator: keras.Model,
                      g_optimizer: keras.optimizers.Optimizer,
                      d_optimizer: keras.optimizers.Optimizer) -> Callable[[Any], dict]:
    """The seed chapter's step: both networks updated from one forward pass."""

    def step(images: tf.Tensor) -> dict[str, tf.Tensor]:
        noise = tf.random.normal([tf.shape(images)[0], LATENT])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            g_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            d_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                      + cross_entropy(tf.zeros_like(fake_output), fake_output))
        g_grads = gen_tape.gradient(g_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(d_loss, discriminator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}

    return step


class FitGAN(keras.Model):
    """The seed chapter's step as a ``train_step`` override, for ``Model.fit``."""

    def __init__(self, filters: int) -> None:
        super().__init__()
        self.generator = build_generator(LATENT, [28, 28, 1], filters)
        self.discriminator = build_discriminator([28, 28, 1], filters, batch_norm=True)

    def compile(self) -> None:
        """Default ``compile`` settings, plus one Adam per network."""
        super().compile()
        self._step = seed_chapter_step(
            self.generator, self.discriminator,
            keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5),
        )

    def train_step(self, data: tf.Tensor) -> dict[str, tf.Tensor]:
        """One simultaneous update of both networks."""
        return self._step(data * 2.0 - 1.0)


class StepTimer(keras.callbacks.Callback):
    """Times each step from batch begin to batch end."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Note the start of a step."""
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Record the step's duration (after its losses are on the host)."""
        float((logs or {}).get("d_loss", 0.0))
        self.times.append(time.perf_counter() - self._start)


def time_loop(step: Callable[[Any], dict], batch: Any, steps: int, warmup: int) -> float:
    for _ in range(warmup):
        float(step(batch)["d_loss"])
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        float(step(batch)["d_loss"])  # wait for the step to finish
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    data = real_images(BATCH * 4)
    batch = next(iter(data.dataset(batch_size=BATCH)))["images"]
    seconds: dict[str, float] = {}

    def fresh_seed_step() -> Callable[[Any], dict]:
        keras.utils.set_random_seed(0)
        step = seed_chapter_step(
            build_generator(LATENT, [28, 28, 1], args.filters),
            build_discriminator([28, 28, 1], args.filters, batch_norm=True),
            keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5),
        )
        return lambda images: step(images * 2.0 - 1.0)

    eager_steps = max(args.steps // 4, 5)
    seconds["seed chapter loop, eager"] = time_loop(fresh_seed_step(), batch, eager_steps, 2)
    seconds["seed chapter step, tf.function"] = time_loop(
        tf.function(fresh_seed_step()), batch, args.steps, 3
    )

    keras.utils.set_random_seed(0)
    fit_model = FitGAN(args.filters)
    fit_model.compile()
    timer = StepTimer()
    repeated = tf.data.Dataset.from_tensors(batch).repeat()
    fit_model.fit(repeated, steps_per_epoch=3, epochs=1, verbose=0)  # trace
    fit_model.fit(repeated, steps_per_epoch=args.steps, epochs=1, verbose=0, callbacks=[timer])
    seconds["seed chapter step, Model.fit"] = statistics.median(timer.times)

    config = {"generator_filters": args.filters, "discriminator_filters": args.filters}
    for name, mode in (("genzoo step, eager", "eager"), ("genzoo step, tf.function", "graph"),
                       ("genzoo step, tf.function+XLA", "xla")):
        keras.utils.set_random_seed(0)
        model = genzoo_core.create("dcgan", config)
        model.compile()
        model.build_optimizers()
        step = model.train_step
        if mode != "eager":
            step = tf.function(model.train_step, jit_compile=mode == "xla")
        seconds[name] = time_loop(lambda images, s=step: s({"images": images}), batch,
                                  eager_steps if mode == "eager" else args.steps, 2)

    keras.utils.set_random_seed(0)
    model = genzoo_core.create("dcgan", config)
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as out:
        trainer = genzoo_core.Trainer(model, out, verbose=0, batch_size=BATCH,
                                      callbacks=[timer])
        trainer.fit(data, epochs=1)  # trace, first checkpoint
        timer.times = []
        trainer.fit(real_images(BATCH * args.steps), epochs=2)
    seconds[f"genzoo Trainer (jit_compile={trainer.jit_compile})"] = statistics.median(
        timer.times
    )

    generate = tf.function(lambda z: model.generator(z, training=False))
    z = tf.random.normal((1024, LATENT))
    generate(z).numpy()
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        generate(z).numpy()
        runs.append(time.perf_counter() - start)
    images_per_second = 1024 / statistics.median(runs)

    eager = seconds["seed chapter loop, eager"]
    trainer_key = next(k for k in seconds if k.startswith("genzoo Trainer"))
    # the Trainer against the bare step it compiles (with XLA when its probe chose it)
    same_step = "genzoo step, tf.function" + ("+XLA" if trainer.jit_compile else "")
    overhead = seconds[trainer_key] / seconds[same_step] - 1
    report = {
        "architecture": f"genzoo-dcgan 28x28x1, {args.filters} base filters",
        "batch_size": BATCH,
        "ms_per_step": {k: round(v * 1000, 1) for k, v in seconds.items()},
        "steps_per_second": {k: round(1 / v, 2) for k, v in seconds.items()},
        "speedup_vs_eager_loop": {k: round(eager / v, 2) for k, v in seconds.items()},
        "trainer_overhead_vs_the_same_compiled_step": round(overhead, 3),
        "trainer_speedup_vs_genzoo_step_eager": round(
            seconds["genzoo step, eager"] / seconds[trainer_key], 2
        ),
        "sample_images_per_second_batch_1024": round(images_per_second),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "note": "median of steps after warm-up; genzoo's step does one more G and D "
        "forward pass than the seed chapter's step (alternating updates)",
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    width = max(map(len, seconds))
    for name, value in seconds.items():
        print(f"{name:<{width}}  {value * 1000:7.1f} ms/step  {eager / value:5.2f}x eager loop")
    print(f"Trainer overhead against the same compiled step ({same_step}): {overhead:+.1%}")
    print(f"sampling: {images_per_second:,.0f} images/s at batch 1024")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
