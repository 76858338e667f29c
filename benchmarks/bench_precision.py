"""Mixed precision against float32, per model: step time, and FID after equal steps.

    .venv/bin/python benchmarks/bench_precision.py [--models dcgan,gan] [--steps 12]
        [--quality-steps 1000] [--precision mixed_bfloat16]

Speed: for every first-party model with a train step (in its shipped recipe's
config and batch size, random data of the right shape, as ``bench_compile.py``),
the median ms/step of its ``train_step`` in float32 and in ``--precision``, each
the faster of a plain ``tf.function`` and XLA (the Trainer's probe picks
between those two per precision).

Quality: ``dcgan/mnist`` and ``gan/mnist`` trained by the Trainer for
``--quality-steps`` updates from the same seed in each precision, then scored
like the model cards (FID in ``mnist-cnn`` features, 10,000 samples against the
test split). One short run each says whether quality moved beyond the noise
between seeds; it does not replace a full recipe run.

A precision becomes a recipe's default only where it is at least 1.3x faster
with no loss of quality beyond noise. Results go to ``bench-results/precision.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import keras

import genzoo_core
from genzoo_core.precision import check_device, precision_scope

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_compile import (  # noqa: E402 - the sibling benchmark's helpers
    first_batch,
    machine_record,
    recipe_setup,
    selected_models,
    time_ways,
)

ROOT = Path(__file__).resolve().parents[1]
QUALITY = ("dcgan/mnist", "gan/mnist")


def speed(spec: Any, steps: int, precision: str) -> dict:
    config, batch_size = recipe_setup(spec)
    _, batch = first_batch(spec, config, batch_size, batch_size * 2)
    result: dict[str, Any] = {"batch_size": batch_size}
    for name in ("float32", precision):
        ways = time_ways(spec, config, batch, steps, name)
        measured = [v for v in (ways["plain_ms"], ways["xla_ms"]) if v is not None]
        result[name] = {**ways, "best_ms": min(measured) if measured else None}
    base, mixed = result["float32"]["best_ms"], result[precision]["best_ms"]
    result["speedup"] = round(base / mixed, 3) if base and mixed else None
    return result


def quality(recipe_name: str, steps: int, precision: str) -> dict:
    recipe = genzoo_core.get_recipe(recipe_name)
    stage = recipe.stages[-1]
    data = genzoo_core.load_data(stage.dataset, "train")
    result: dict[str, Any] = {"steps": steps, "batch_size": stage.batch_size}
    for name in ("float32", precision):
        keras.utils.set_random_seed(stage.seed)
        spec = genzoo_core.get_spec(stage.model)
        with precision_scope(name):
            model = spec.build({**spec.default_config, **stage.config})
        with tempfile.TemporaryDirectory() as folder:
            trainer = genzoo_core.Trainer(model, folder, batch_size=stage.batch_size,
                                          preview_count=0, verbose=0, seed=stage.seed)
            started = time.perf_counter()
            trainer.fit(data, epochs=1, steps_per_epoch=steps)
            seconds = time.perf_counter() - started
        report = genzoo_core.evaluate(model, stage.dataset, metrics=["fid"],
                                      features=recipe.evaluate.get("features"), n=10000,
                                      seed=0, verbose=0)
        result[name] = {"fid": round(float(report["metrics"]["fid"]), 3),
                        "train_seconds": round(seconds, 1), "xla": bool(trainer.jit_compile)}
        print(f"  {recipe_name} {name}: FID {result[name]['fid']} after {steps} steps "
              f"({seconds:.0f} s)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="comma-separated names (default: all)")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per way")
    parser.add_argument("--quality-steps", type=int, default=1000,
                        help="updates per quality run (0: skip the quality runs)")
    parser.add_argument("--precision", default="mixed_bfloat16")
    args = parser.parse_args()
    check_device(args.precision)
    wanted = [m for m in args.models.split(",") if m]
    specs = selected_models(args.models)
    report: dict[str, Any] = {**machine_record(), "precision": args.precision,
                              "speed": {}, "quality": {}}
    out = ROOT / "bench-results" / "precision.json"
    out.parent.mkdir(exist_ok=True)
    print(f"{'model':32} {'batch':>5} {'float32':>9} {args.precision:>15} {'speedup':>8}")
    for spec in specs:
        result = speed(spec, args.steps, args.precision)
        report["speed"][spec.name] = result
        base, mixed = result["float32"]["best_ms"], result[args.precision]["best_ms"]
        print(f"{spec.name:32} {result['batch_size']:5d} {base or float('nan'):9.1f} "
              f"{mixed or float('nan'):15.1f} {result['speedup'] or float('nan'):8.2f}",
              flush=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    if args.quality_steps:
        for name in QUALITY:
            if not wanted or name.split("/")[0] in wanted:
                report["quality"][name] = quality(name, args.quality_steps, args.precision)
                out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
