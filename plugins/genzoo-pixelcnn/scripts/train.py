"""Train the pretrained ``pixelcnn/mnist`` weights on binarized MNIST, score, package.

Run from the repository root (it resumes if interrupted)::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-pixelcnn/scripts/train.py --epochs 5

To lower the learning rate for a last few epochs, continue a finished run in a
new folder (its weights, not its optimizer state; its epochs and time, and
those of the runs it continued in turn, are counted in the totals)::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-pixelcnn/scripts/train.py \
        --continue-from runs/pixelcnn-mnist --learning-rate 2e-4 --epochs 2 \
        --out runs/pixelcnn-mnist-2e-4

``--gated-layers N`` with ``--continue-from`` also adds gated layers on top of
the earlier run's (``PixelCNN.deepened``: they start as the identity, so the
continued model starts from the earlier one's NLL, with more depth and
receptive field to train).

Steps: train on binarized-mnist's train split (binarized afresh in every batch)
with the core trainer; score all 10,000 fixed-seed binarized test images with
the exact log-likelihood; save weights and metadata into
``genzoo_pixelcnn/weights/mnist.h5``; print its sha256; write a sample grid and
a completion figure (top half given, bottom half sampled) into ``docs/images``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import genzoo_core
from genzoo_core import BINARIZATION_SEED, save_grid, sha256_file

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]


def shown(run: str | Path) -> str:
    """A run folder as recorded in the weights: relative to the repository when inside it."""
    path = Path(run).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def read_log(run: Path) -> list[dict[str, str]]:
    """The per-epoch rows of a run's ``log.csv``."""
    with open(run / "log.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def earlier_schedule(run: Path) -> list[dict]:
    """The steps that produced ``run``'s weights, oldest first.

    A run made by this script records its steps in ``schedule.json`` (so a chain
    of continuations keeps every step); an older run without one is one step.
    """
    recorded = run / "schedule.json"
    if recorded.exists():
        return json.loads(recorded.read_text(encoding="utf-8"))
    header = genzoo_core.read_header(run / "checkpoint.h5")
    return [{"run": shown(run), "epochs": len(read_log(run)),
             "learning_rate": header.config["learning_rate"],
             "training_command": header.metadata.get("training_command", "")}]


def run_folder(recorded: str) -> Path:
    """A schedule step's run folder: recorded relative to the repository when inside it."""
    path = Path(recorded)
    return path if path.is_absolute() else ROOT / path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "runs" / "pixelcnn-mnist"))
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="Adam's learning rate (default: the continued run's, or the "
                        "model's 1e-3)")
    parser.add_argument("--continue-from", metavar="RUN",
                        help="start from RUN/checkpoint.h5's weights (an earlier run of this "
                        "script, e.g. with another learning rate) and count its epochs")
    parser.add_argument("--gated-layers", type=int, default=None,
                        help="with --continue-from: add gated layers on top of the earlier "
                        "run's (new layers start as the identity; see PixelCNN.deepened)")
    args = parser.parse_args()
    command = "python plugins/genzoo-pixelcnn/scripts/train.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    config = {} if args.learning_rate is None else {"learning_rate": args.learning_rate}
    if args.gated_layers is not None and not args.continue_from:
        config["gated_layers"] = args.gated_layers
    schedule, rows = [], []
    if args.continue_from:
        earlier = Path(args.continue_from)
        # The earlier run's architecture, this run's learning rate.
        earlier_config = genzoo_core.read_header(earlier / "checkpoint.h5").config
        model = genzoo_core.create("pixelcnn", {**earlier_config, **config})
        model.load_weights(str(earlier / "checkpoint.h5"))
        if args.gated_layers is not None and args.gated_layers != model.config["gated_layers"]:
            model = model.deepened(args.gated_layers)
        schedule = earlier_schedule(earlier)
        for step in schedule:
            rows.extend(read_log(run_folder(step["run"]))[: step["epochs"]])
    else:
        model = genzoo_core.create("pixelcnn", config)
    out = Path(args.out)
    genzoo_core.train(model, "binarized-mnist", out, epochs=args.epochs,
                      metadata={"training_command": command})
    here = read_log(out)
    schedule.append({"run": shown(out), "epochs": len(here),
                     "learning_rate": model.config["learning_rate"],
                     "gated_layers": model.config["gated_layers"], "training_command": command})
    rows.extend(here)
    (out / "schedule.json").write_text(json.dumps(schedule, indent=1), encoding="utf-8")

    test = genzoo_core.load_data("binarized-mnist", "test").images.astype(np.float32) / 255.0
    started = time.perf_counter()
    nll = -model.log_prob(test)
    seconds = time.perf_counter() - started
    metrics = {
        "epochs": len(rows),
        "train_seconds": round(sum(float(r["seconds"]) for r in rows), 1),
        "final_train_nll": float(rows[-1]["nll"]),
        "test_nll": {
            "nll_nats": round(float(nll.mean()), 3),
            "std_error_over_images": round(float(nll.std(ddof=1) / np.sqrt(len(nll))), 3),
            "bits_per_dim": round(float(nll.mean() / (784 * math.log(2))), 4),
            "images": len(test),
            "seconds": round(seconds, 1),
            "protocol": "exact log-likelihood on all 10,000 binarized test images "
            f"(MNIST test, binarized with seed {BINARIZATION_SEED})",
        },
        "test_nll_first_500": round(float(nll[:500].mean()), 3),
        "schedule": schedule,
    }
    target = PLUGIN / "genzoo_pixelcnn" / "weights" / "mnist.h5"
    model.save_weights(str(target), metadata={
        "dataset": "binarized-mnist:train", "metrics": metrics,
        "training_command": "; then ".join(step["training_command"] for step in schedule),
    })
    packaged = genzoo_core.load(str(target))
    images = ROOT / "docs" / "images"
    save_grid(images / "pixelcnn-mnist.png", packaged.sample(64, seed=0))
    given = test[:8]
    completions = [packaged.complete(given, 14, seed=s) for s in range(3)]
    top_half = given.copy()
    top_half[:, 14:] = 0.0
    save_grid(images / "pixelcnn-mnist-completions.png",
              np.concatenate([top_half, *completions, given]), columns=8)
    print(json.dumps(metrics, indent=2))
    print(f"weights {target} ({target.stat().st_size / 1e6:.2f} MB) sha256 {sha256_file(target)}")


if __name__ == "__main__":
    main()
