"""Time to quality: FID against minutes of training, for MNIST GAN recipes.

    .venv/bin/python benchmarks/bench_time_to_quality.py --entry dcgan [--minutes 30]
    .venv/bin/python benchmarks/bench_time_to_quality.py --entry reference --minutes 15
    .venv/bin/python benchmarks/bench_time_to_quality.py --entry gan --minutes 15
    .venv/bin/python benchmarks/bench_time_to_quality.py --plot

Three ways to a generator of MNIST digits, each scored after every epoch (468
updates of 128 images) by the protocol of the model cards: FID in the shipped
``mnist-cnn`` features, 10,000 samples against the 10,000 test images.

- ``dcgan``: the ``dcgan/mnist`` recipe, through ``genzoo train --recipe``'s own
  code (:func:`genzoo_core.run_recipe`) in ``--runs/dcgan-mnist``; the run is a
  normal recipe run, resumable and publishable with ``genzoo publish``. Where
  the generator keeps a weight average the score is the average's, as the
  finished file will hold it.
- ``gan``: the ``gan/mnist`` recipe (the vanilla MLP GAN), likewise.
- ``reference``: the TensorFlow DCGAN tutorial's networks and training loop
  (``plugins/genzoo-dcgan/scripts/reference_tutorial.py``).

Minutes are training time only (the epochs' wall-clock seconds; scoring and
sample grids are not counted), on whatever machine runs it: quote them with the
machine. ``--minutes`` stops an entry after the first epoch that reaches it (a
recipe run is left resumable: run again to go on). Results merge into
``bench-results/time_to_quality.json`` (one entry per name), and ``--plot``
draws ``docs/images/time-to-quality.png`` from it (needs matplotlib:
``pip install -e '.[bench]'``). The headline is each entry's minutes to FID <=
``--target`` (10).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

import genzoo_core
from genzoo_core.run import epoch_seconds

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench-results" / "time_to_quality.json"
PLOT = ROOT / "docs" / "images" / "time-to-quality.png"
RECIPES = {"dcgan": "dcgan/mnist", "gan": "gan/mnist"}
LABELS = {
    "dcgan": "genzoo dcgan/mnist recipe",
    "gan": "genzoo gan/mnist recipe (vanilla MLP GAN)",
    "reference": "TensorFlow DCGAN tutorial (networks and loop)",
}


def score(model: Any, n: int) -> float:
    """FID of ``n`` samples in ``mnist-cnn`` features against the MNIST test split."""
    report = genzoo_core.evaluate(model, "mnist", metrics=["fid"], features="mnist-cnn",
                                  n=n, seed=0, verbose=0)
    return float(report["metrics"]["fid"])


class ScoreEachEpoch(keras.callbacks.Callback):
    """Scores the model after every epoch; stops the run once ``minutes`` are spent."""

    def __init__(self, run_dir: Path, n: int, minutes: float | None, points: list) -> None:
        super().__init__()
        self.run_dir, self.n, self.minutes, self.points = run_dir, n, minutes, points

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Score the epoch's weights (averaged where the run averages) and note the time."""
        model = self.model
        spent = sum(epoch_seconds(self.run_dir)) / 60  # every epoch so far, resumes included
        saved = [v.numpy() for v in model.variables]
        averaged = model.finalize_weights()  # score what the finished file would hold
        fid = score(model, self.n)
        for variable, value in zip(model.variables, saved, strict=True):
            variable.assign(value)
        point = {"epoch": epoch + 1, "minutes": round(spent, 2), "fid": round(fid, 3),
                 "averaged": bool(averaged)}
        self.points.append(point)
        print(f"time-to-quality: {point}", flush=True)
        if self.minutes is not None and spent >= self.minutes:
            model.stop_training = True


def run_recipe_entry(entry: str, runs: Path, n: int, minutes: float | None) -> dict:
    recipe = genzoo_core.get_recipe(RECIPES[entry])
    run_dir = runs / RECIPES[entry].replace("/", "-")
    points: list[dict] = []
    previous = load_results().get("entries", {}).get(entry, {})
    if run_dir.is_dir() and previous.get("run_dir") == str(run_dir):
        points = list(previous.get("points", []))  # a resumed run goes on from its curve
    callback = ScoreEachEpoch(run_dir, n, minutes, points)
    genzoo_core.run_recipe(
        recipe, run_dir, verbose=2, callbacks=[callback],
        command=f"python benchmarks/bench_time_to_quality.py --entry {entry}",
    )
    return {"label": LABELS[entry], "recipe": recipe.name, "run_dir": str(run_dir),
            "batch_size": recipe.stages[-1].batch_size, "points": points}


def run_reference(n: int, minutes: float | None, seed: int = 0) -> dict:
    path = ROOT / "plugins" / "genzoo-dcgan" / "scripts" / "reference_tutorial.py"
    module_spec = importlib.util.spec_from_file_location("reference_tutorial", path)
    reference = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(reference)
    keras.utils.set_random_seed(seed)
    generator, discriminator = reference.tutorial_generator(), reference.tutorial_discriminator()
    step = tf.function(reference.make_train_step(
        generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)))
    data = genzoo_core.load_data("mnist", "train")
    steps_per_epoch = len(data) // 128
    images = (data.dataset(shuffle=True, seed=seed, batch_size=128)
              .map(lambda batch: batch["images"] * 2.0 - 1.0).repeat().prefetch(2))
    sampler = reference.ReferenceSampler(generator)
    points, spent, epoch = [], 0.0, 0
    iterator = iter(images)
    while minutes is None or spent < minutes * 60:
        started = time.perf_counter()
        for _ in range(steps_per_epoch):
            gen_loss, _ = step(next(iterator))
        float(gen_loss)  # wait for the last step
        spent += time.perf_counter() - started
        epoch += 1
        points.append({"epoch": epoch, "minutes": round(spent / 60, 2),
                       "fid": round(score(sampler, n), 3), "averaged": False})
        print(f"time-to-quality: {points[-1]}", flush=True)
        if minutes is None and epoch >= 50:
            break
    return {"label": LABELS["reference"], "recipe": "reference_tutorial.py",
            "batch_size": 128, "points": points}


def load_results() -> dict:
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return {}


def minutes_to(points: list[dict], target: float) -> float | None:
    """Training minutes at the first score at or below ``target`` (None: never)."""
    return next((p["minutes"] for p in points if p["fid"] <= target), None)


def plot(results: dict, target: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    for entry in results.get("entries", {}).values():
        points = entry["points"]
        axes.plot([p["minutes"] for p in points], [p["fid"] for p in points], marker="o",
                  markersize=3, label=entry["label"])
    axes.axhline(target, color="grey", linestyle="--", linewidth=1)
    axes.text(0.5, target * 1.08, f"FID {target:g}", color="grey", fontsize=8)
    axes.set_yscale("log")
    axes.set_xlabel(f"training minutes ({results.get('machine', 'this machine')})")
    axes.set_ylabel("FID, mnist-cnn features (10,000 samples)")
    axes.set_title("Time to quality on MNIST")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(PLOT)
    print(f"-> {PLOT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entry", choices=["dcgan", "gan", "reference"], action="append",
                        default=[], help="what to train and score (repeatable)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop an entry after the epoch that reaches this many minutes")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs",
                        help="where the recipe runs go (default runs/)")
    parser.add_argument("-n", type=int, default=10000, help="samples per score")
    parser.add_argument("--target", type=float, default=10.0)
    parser.add_argument("--plot", action="store_true", help="draw the PNG from the results")
    args = parser.parse_args()
    results = load_results()
    results["machine"] = (f"{os.cpu_count()}-core {platform.machine()} CPU"
                          if not tf.config.list_physical_devices("GPU") else "GPU")
    results.setdefault("entries", {})
    for entry in args.entry:
        found = (run_reference(args.n, args.minutes) if entry == "reference"
                 else run_recipe_entry(entry, args.runs, args.n, args.minutes))
        found["minutes_to_target"] = minutes_to(found["points"], args.target)
        found["best_fid"] = min((p["fid"] for p in found["points"]), default=None)
        # Re-read first: another entry may have finished meanwhile in another process.
        results = {**results, "entries": {**load_results().get("entries", {}),
                                          entry: found}, "target": args.target}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(f"{entry}: FID <= {args.target:g} after "
              f"{found['minutes_to_target']} min; best {found['best_fid']} -> {RESULTS}")
    if args.plot:
        plot(results, args.target)
    summary = {name: e.get("minutes_to_target") for name, e in results["entries"].items()}
    print(json.dumps({"minutes_to_fid_target": summary, "target": args.target}))


if __name__ == "__main__":
    main()
