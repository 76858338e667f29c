"""Train pix2pix on maps (aerial photo -> map) and score it on the val split.

Run from the repository root (it resumes if interrupted)::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-pix2pix/scripts/train.py \
        --variant pix2pix --epochs 100
    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-pix2pix/scripts/train.py \
        --variant l1-only --epochs 100
    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-pix2pix/scripts/train.py --package

``--variant pix2pix`` trains the default config (GAN + 100 * L1) on maps/train
(150 pairs, random jitter and mirroring) with the core trainer into
``runs/pix2pix-maps``; ``--variant l1-only`` trains the same network for the
same steps with ``adversarial_weight=0``, the paper's L1-only baseline, into
``runs/pix2pix-maps-l1-only``. Each writes its val scores (L1 and SSIM of all
50 val pairs at the model's size, no jitter) to ``results/maps-VARIANT.json``.

``--package`` stores the pix2pix run's weights in half precision as
``genzoo_pix2pix/weights/maps.h5``, with the training command, time and all
measured numbers (the model's, the L1-only baseline's and the identity's) as
metadata, re-scores the stored file, writes ``results/maps.json`` and the
figures ``docs/images/pix2pix-maps.png`` (val input / output / target rows) and
``pix2pix-maps-l1-only.png`` (input / L1 only / pix2pix / target),
and prints the file's size and sha256 for ``genzoo_pix2pix/plugin.py``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

import genzoo_core
from genzoo_core import metrics, save_grid, sha256_file

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]
RESULTS = PLUGIN / "results"
WEIGHTS = PLUGIN / "genzoo_pix2pix" / "weights" / "maps.h5"
FIGURE = ROOT / "docs" / "images" / "pix2pix-maps.png"
COMPARISON = ROOT / "docs" / "images" / "pix2pix-maps-l1-only.png"
FIGURE_ROWS = (0, 7, 14, 21, 28, 35)
VARIANTS = {"pix2pix": {}, "l1-only": {"adversarial_weight": 0.0}}


def run_dir(variant: str) -> Path:
    """Where a variant trains: ``runs/pix2pix-maps`` or ``runs/pix2pix-maps-l1-only``."""
    suffix = "" if variant == "pix2pix" else f"-{variant}"
    return ROOT / "runs" / f"pix2pix-maps{suffix}"


def val_pairs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The 50 val pairs at ``size`` x ``size`` as float32 in [0, 1], without jitter.

    They go through the same resizing as the training pairs (the registered
    dataset's 256x256, then the model's size).
    """
    data = genzoo_core.load_data("maps", "val").resized(size)
    return data.inputs.astype(np.float32) / 255.0, data.targets.astype(np.float32) / 255.0


def sharpness(images: np.ndarray) -> float:
    """Mean absolute difference of neighbouring pixels (on [0, 1]): blur lowers it."""
    dx = np.abs(np.diff(images, axis=2)).mean()
    dy = np.abs(np.diff(images, axis=1)).mean()
    return round(float((dx + dy) / 2), 5)


def score(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Mean per-image L1 (on [0, 1]) and SSIM of ``outputs`` against ``targets``."""
    return {
        "l1": round(float(metrics.mean_absolute_error(outputs, targets).mean()), 5),
        "ssim": round(float(metrics.ssim(outputs, targets).mean()), 5),
    }


def train(variant: str, epochs: int, command: str) -> None:
    """Train one variant, then score it on val and write ``results/maps-VARIANT.json``."""
    out = run_dir(variant)
    model = genzoo_core.train(
        "pix2pix", "maps", out, epochs=epochs, config=VARIANTS[variant], verbose=2,
        metadata={"training_command": command},
    )
    with open(out / "log.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seconds = sum(float(r["seconds"]) for r in rows)
    steps_per_epoch = 150 // int(model.config["batch_size"])
    size = model.image_shape[0]
    inputs, targets = val_pairs(size)
    result = {
        "variant": variant,
        "command": command,
        "config": model.config,
        "epochs": len(rows),
        "steps": len(rows) * steps_per_epoch,
        "train_seconds": round(seconds, 1),
        "seconds_per_step": round(seconds / (len(rows) * steps_per_epoch), 4),
        "final_losses": {k: round(float(v), 5) for k, v in rows[-1].items() if k != "seconds"
                         and k != "epoch"},
        "val": score(model.translate(inputs), targets),
        "val_pairs": len(inputs),
        "image_size": size,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"maps-{variant}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")


def package(command: str) -> None:
    """Store the pix2pix run as the shipped ``maps.h5``, re-score it, draw the figure."""
    results = {v: json.loads((RESULTS / f"maps-{v}.json").read_text()) for v in VARIANTS}
    trained = genzoo_core.load(str(run_dir("pix2pix") / "model.h5"))
    size = trained.image_shape[0]
    inputs, targets = val_pairs(size)
    identity = score(inputs, targets)
    ours, l1_only = results["pix2pix"], results["l1-only"]
    l1_outputs = genzoo_core.load(str(run_dir("l1-only") / "model.h5")).translate(inputs)
    detail = {
        "pix2pix": sharpness(trained.translate(inputs)),
        "l1_only": sharpness(l1_outputs),
        "target": sharpness(targets),
    }
    measured: dict[str, Any] = {
        "val_l1": ours["val"]["l1"],
        "val_ssim": ours["val"]["ssim"],
        "l1_only_val_l1": l1_only["val"]["l1"],
        "l1_only_val_ssim": l1_only["val"]["ssim"],
        "identity_val_l1": identity["l1"],
        "identity_val_ssim": identity["ssim"],
        "val_sharpness": detail["pix2pix"],
        "l1_only_val_sharpness": detail["l1_only"],
        "target_val_sharpness": detail["target"],
        "epochs": ours["epochs"],
        "steps": ours["steps"],
        "train_seconds": ours["train_seconds"],
        "seconds_per_step": ours["seconds_per_step"],
        "l1_only_steps": l1_only["steps"],
        "l1_only_train_seconds": l1_only["train_seconds"],
    }
    metadata = {
        "dataset": f"maps:train (150 pairs, GENZOO_DATA), aerial photo -> map (AtoB), "
                   f"{size}x{size}, random jitter and mirroring",
        "training_command": ours["command"],
        "metrics": measured,
    }
    WEIGHTS.parent.mkdir(exist_ok=True)
    trained.save_weights(str(WEIGHTS), metadata=metadata, precision="float16")
    stored = genzoo_core.load(str(WEIGHTS))
    outputs = stored.translate(inputs)
    packaged = score(outputs, targets)
    deviation = float(np.abs(outputs - trained.translate(inputs)).max())

    rows = list(FIGURE_ROWS)
    triplets = np.stack([inputs[rows], outputs[rows], targets[rows]], axis=1)
    save_grid(FIGURE, triplets.reshape(-1, *inputs.shape[1:]), columns=3)
    rows4 = np.stack([inputs[rows], l1_outputs[rows], outputs[rows], targets[rows]], axis=1)
    save_grid(COMPARISON, rows4.reshape(-1, *inputs.shape[1:]), columns=4)

    digest = sha256_file(WEIGHTS)
    summary = {
        "weights": "pix2pix/maps",
        "file": "genzoo_pix2pix/weights/maps.h5",
        "sha256": digest,
        "bytes": WEIGHTS.stat().st_size,
        "precision": "float16",
        "package_command": command,
        "val_pairs": len(inputs),
        "image_size": size,
        "val": {
            "pix2pix": ours["val"],
            "pix2pix_stored_float16": packaged,
            "l1_only": l1_only["val"],
            "identity": identity,
        },
        "val_sharpness": detail,
        "training": {v: {k: r[k] for k in ("command", "epochs", "steps", "train_seconds",
                                           "seconds_per_step", "final_losses")}
                     for v, r in results.items()},
    }
    (RESULTS / "maps.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    print(f"stored vs trained outputs on val: max |diff| {deviation:.2e}")
    print(f"weights: {WEIGHTS} ({WEIGHTS.stat().st_size / 1e6:.2f} MB, float16)")
    print(f"sha256 {digest}")
    print(f"figures: {FIGURE}, {COMPARISON}")


def main() -> None:
    """Parse the arguments and train a variant or package the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="pix2pix")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--package", action="store_true",
                        help="package the trained pix2pix run instead of training")
    args = parser.parse_args()
    command = "python plugins/genzoo-pix2pix/scripts/train.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    if args.package:
        package(command.strip())
    else:
        train(args.variant, args.epochs, command.strip())


if __name__ == "__main__":
    main()
