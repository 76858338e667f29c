"""XLA or not, per model: the Trainer's measured choice against both, in one run.

    .venv/bin/python benchmarks/bench_compile.py [--models dcgan,cgan] [--steps 12]
    .venv/bin/python benchmarks/bench_compile.py --precision mixed_bfloat16

For every first-party model with a train step (each in the config and at the
batch size of its shipped weights' recipe, or its defaults where it has none),
on random data of the right shape (a step's time does not depend on the pixel
values), it times:

- the model's ``train_step`` in a plain ``tf.function``;
- the same step in ``tf.function(jit_compile=True)`` (XLA);
- ``genzoo_core.Trainer`` with ``jit_compile="auto"``: it probes both ways at the
  start of the run (``GENZOO_HOME`` is pointed at an empty folder, so it has
  no cached decision and always probes) and trains with the faster. Its steps
  are timed by a callback inside an epoch, so the figure includes the loop's
  per-step work.

It reports median ms/step after warm-up, the Trainer's choice and the probe's
cost, and the Trainer's time over the faster of the two plain measurements (the
goal: at most 1.05). Results go to ``bench-results/compile[-PRECISION].json``.
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
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import genzoo_core
from genzoo_core.data import DataSource, PairedDataSource, UnpairedDataSource
from genzoo_core.precision import precision_scope
from genzoo_core.recipes import recipes_of
from genzoo_core.spec_enums import Capability, Condition

ROOT = Path(__file__).resolve().parents[1]


def selected_models(names: str) -> list[Any]:
    """The first-party models named in ``names`` ("a,b"), or all of them when it is empty."""
    wanted = [m for m in names.split(",") if m]
    return [s for s in first_party_models() if not wanted or s.name in wanted]


def machine_record() -> dict[str, str]:
    """What the figures were measured on: the CPUs or GPU, TensorFlow and Keras."""
    return {"machine": f"{os.cpu_count()}-core {platform.machine()}, "
                       f"{'GPU' if tf.config.list_physical_devices('GPU') else 'CPU only'}",
            "tensorflow": tf.__version__, "keras": keras.__version__}


def first_party_models() -> list[Any]:
    """Registered models whose plugin lives in this repository's plugins/ folder."""
    found = []
    for spec in genzoo_core.list_models():
        package = spec.builder.split(":")[0].split(".")[0]
        if (ROOT / "plugins" / f"genzoo-{package.removeprefix('genzoo_')}").is_dir():
            found.append(spec)
    return found


def recipe_setup(spec: Any) -> tuple[dict, int]:
    """(config, batch size) of the model's first shipped weight's recipe, else defaults."""
    for recipe in recipes_of(spec).values():
        for stage in recipe.stages:
            if stage.model == spec.name:
                return dict(stage.config), int(stage.batch_size)
    return {}, int(spec.default_config.get("batch_size", 64))


def random_data(model: Any, n: int) -> Any:
    """``n`` random examples of the structure the model trains on."""
    rng = np.random.default_rng(0)
    shape = tuple(model.config.get("image_shape") or ())
    if not shape and Capability.SAMPLE in model.capabilities:
        shape = model.sample(1, seed=0).shape[1:]
    condition = model.spec.condition
    if condition == Condition.PAIRED_IMAGE:
        return PairedDataSource("random pairs", rng.integers(0, 256, (n, *shape), np.uint8),
                                rng.integers(0, 256, (n, *shape), np.uint8))
    if condition == Condition.UNPAIRED_DOMAINS:
        return UnpairedDataSource("random domains", rng.integers(0, 256, (n, *shape), np.uint8),
                                  rng.integers(0, 256, (n, *shape), np.uint8))
    if condition == Condition.CLASS_LABEL:
        classes = int(model.config.get("num_classes", 10))
        return DataSource("random", rng.integers(0, 256, (n, *shape), np.uint8),
                          np.arange(n) % classes, classes)
    if condition == Condition.UNCONDITIONAL and shape:
        return DataSource("random", rng.integers(0, 256, (n, *shape), np.uint8))
    return model.example_data(n)  # captions and other conditions: the model knows


class StepTimer(keras.callbacks.Callback):
    """Times each step from batch begin to batch end (the step and its logs)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self._start = 0.0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Start the clock."""
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Record the step's time."""
        self.times.append(time.perf_counter() - self._start)


def time_step(step: Any, batch: Any, steps: int, warmup: int = 2) -> float:
    """Median ms of ``step(batch)`` after ``warmup`` calls (the first compiles)."""
    for _ in range(warmup):
        tf.nest.map_structure(lambda t: t.numpy(), step(batch))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), step(batch))  # wait for the step
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def build(spec: Any, config: dict, precision: str) -> Any:
    """The model in ``config``, built under ``precision``'s Keras dtype policy."""
    keras.utils.set_random_seed(0)
    with precision_scope(precision):
        return spec.build({**spec.default_config, **config})


def first_batch(spec: Any, config: dict, batch_size: int, n: int) -> tuple[Any, Any]:
    """(random data of ``n`` examples, its first batch as the Trainer feeds it)."""
    model = build(spec, config, "float32")
    data = random_data(model, n)
    with tempfile.TemporaryDirectory() as folder:
        trainer = genzoo_core.Trainer(model, folder, batch_size=batch_size, preview_count=0,
                                      verbose=0, jit_compile=False)
        dataset, _ = trainer._dataset(data)
        return data, next(iter(dataset))


def time_ways(spec: Any, config: dict, batch: Any, steps: int, precision: str) -> dict:
    """Median ms/step of the model's train_step in plain tf.function and with XLA."""
    results: dict[str, Any] = {}
    for name, jit in (("plain_ms", False), ("xla_ms", True)):
        model = build(spec, config, precision)
        model.compile()
        model.build_optimizers()
        step = tf.function(model.train_step, jit_compile=jit, reduce_retracing=True)
        try:
            results[name] = round(time_step(step, batch, steps), 1)
        except Exception as error:  # noqa: BLE001 - an op XLA cannot compile
            results[name] = None
            results[f"{name}_error"] = str(error).splitlines()[0][:200]
    return results


def bench_model(spec: Any, steps: int, precision: str) -> dict:
    config, batch_size = recipe_setup(spec)
    data, batch = first_batch(spec, config, batch_size, batch_size * (steps + 4))
    results: dict[str, Any] = {"config": config, "batch_size": batch_size,
                               **time_ways(spec, config, batch, steps, precision)}
    model = build(spec, config, precision)
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as home:
        os.environ["GENZOO_HOME"] = home  # an empty decision cache: always probe
        trainer = genzoo_core.Trainer(model, folder, batch_size=batch_size, preview_count=0,
                                      verbose=0, jit_compile="auto", callbacks=[timer])
        started = time.perf_counter()
        trainer.fit(data, epochs=1, steps_per_epoch=steps + 2)
        results["trainer_total_s"] = round(time.perf_counter() - started, 1)
    results["trainer_ms"] = round(statistics.median(timer.times[2:]) * 1000, 1)
    results["trainer_xla"] = bool(trainer.jit_compile)
    decision = trainer.jit_decision
    results["probe"] = {"xla_ms": decision.xla_ms, "plain_ms": decision.plain_ms,
                        "seconds": decision.probe_seconds, "source": decision.source,
                        "error": decision.error}
    best = min(v for v in (results["plain_ms"], results["xla_ms"]) if v is not None)
    results["trainer_over_best"] = round(results["trainer_ms"] / best, 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="comma-separated names (default: all)")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per way")
    parser.add_argument("--precision", default="float32")
    args = parser.parse_args()
    specs = selected_models(args.models)
    report: dict[str, Any] = {**machine_record(), "precision": args.precision,
                              "steps": args.steps, "models": {}}
    out = ROOT / "bench-results" / (
        "compile.json" if args.precision == "float32" else f"compile-{args.precision}.json")
    out.parent.mkdir(exist_ok=True)
    print(f"{'model':32} {'batch':>5} {'plain':>8} {'XLA':>8} {'Trainer':>8} "
          f"{'choice':>6} {'ratio':>6} {'probe s':>8}")
    for spec in specs:
        result = bench_model(spec, args.steps, args.precision)
        report["models"][spec.name] = result
        probe = result.get("probe") or {}
        print(f"{spec.name:32} {result['batch_size']:5d} {result['plain_ms'] or float('nan'):8.1f} "
              f"{result['xla_ms'] or float('nan'):8.1f} {result['trainer_ms']:8.1f} "
              f"{'XLA' if result['trainer_xla'] else 'plain':>6} "
              f"{result['trainer_over_best']:6.3f} {probe.get('seconds', float('nan')):8.1f}",
              flush=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    worst = max((r["trainer_over_best"] for r in report["models"].values()), default=None)
    print(f"worst Trainer / best: {worst} (goal <= 1.05) -> {out}")


if __name__ == "__main__":
    main()
