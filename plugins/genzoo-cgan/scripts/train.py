"""Train the pretrained ``cgan/<dataset>`` weights and package them into the plugin.

Run from the repository root (it resumes if interrupted)::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-cgan/scripts/train.py \
        --dataset mnist --epochs 6

Steps: train on the real train split (images and labels) with the core trainer;
save the final weights with their metadata into ``genzoo_cgan/weights/``; print
the file's size and sha256 (which goes into ``genzoo_cgan/plugin.py``); save a
class grid (one class per column) into ``docs/images``; measure
the label accuracy of 10,000 samples with the dataset's shipped classifier.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
from pathlib import Path

import numpy as np

import genzoo_core
from genzoo_core import save_grid, sha256_file

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]
EXTRACTOR_FOR = {"mnist": "mnist-cnn", "fashion-mnist": "fashion-mnist-cnn"}
MAX_FLOAT32_BYTES = 5_000_000  # above this, store half precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(EXTRACTOR_FOR), default="mnist")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--out", default=None, help="run folder (default runs/cgan-DATASET)")
    args = parser.parse_args()
    out = Path(args.out or ROOT / "runs" / f"cgan-{args.dataset}")
    weights = PLUGIN / "genzoo_cgan" / "weights" / f"{args.dataset}.h5"
    grid = ROOT / "docs" / "images" / f"cgan-{args.dataset}.png"
    command = "python plugins/genzoo-cgan/scripts/train.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )

    model = genzoo_core.train(
        "cgan", args.dataset, out, epochs=args.epochs,
        metadata={"training_command": command.strip()},
    )
    with open(out / "log.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seconds = sum(float(r["seconds"]) for r in rows)
    final = rows[-1]

    metadata = {
        "dataset": f"{args.dataset}:train (60,000 labelled images, GENZOO_DATA)",
        "training_command": command.strip(),
        "metrics": {
            "epochs": len(rows),
            "train_seconds": round(seconds, 1),
            "final_d_loss": float(final["d_loss"]),
            "final_g_loss": float(final["g_loss"]),
        },
    }
    model.save_weights(str(weights), metadata=metadata)
    precision = "float32"
    if weights.stat().st_size > MAX_FLOAT32_BYTES:
        precision = "float16"
        model.save_weights(str(weights), metadata=metadata, precision=precision)
    packaged = genzoo_core.load(str(weights))
    full, stored = model.sample(1000, seed=0), packaged.sample(1000, seed=0)
    deviation = float(np.abs(full - stored).max())

    save_grid(grid, packaged.preview(100, seed=0), columns=packaged.num_classes)
    report = genzoo_core.evaluate(
        packaged, args.dataset, metrics="fid", n=10000, features=EXTRACTOR_FOR[args.dataset],
        verbose=0,
    )
    digest = sha256_file(weights)

    per_epoch = ", ".join(f"{float(r['seconds']):.0f}" for r in rows)
    print(f"epochs: {len(rows)}, training time: {seconds / 60:.1f} min ({per_epoch} s per epoch)")
    print(f"final d_loss {final['d_loss']}, g_loss {final['g_loss']}")
    print(f"weights: {weights} ({weights.stat().st_size / 1e6:.2f} MB, {precision}); "
          f"stored vs trained samples (1000, seed 0): max |diff| {deviation:.2e}")
    print(f"sha256 {digest}")
    print(f"grid: {grid}")
    print(f"label accuracy ({EXTRACTOR_FOR[args.dataset]}, 10,000 samples, seed 0): "
          f"{report['metrics']['label_accuracy']:.4f}; FID {report['metrics']['fid']:.2f}")


if __name__ == "__main__":
    main()
