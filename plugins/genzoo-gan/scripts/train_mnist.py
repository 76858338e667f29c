"""Train the pretrained ``gan/mnist`` weights and package them into the plugin.

Run from the repository root (it resumes if interrupted)::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-gan/scripts/train_mnist.py

Steps: train on the real MNIST train split with the core trainer; store the
result in half precision (the file would be 11.8 MB in float32) and measure how
far half precision moves the samples; write the file into the package, its
sha256 into ``genzoo_gan/plugin.py``, and a sample grid into ``docs/images``.
"""

from __future__ import annotations

import argparse
import csv
import re
import shlex
import sys
from pathlib import Path

import numpy as np

import genzoo_core
from genzoo_core import read_header, save_grid, save_weights, sha256_file

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]
WEIGHTS = PLUGIN / "genzoo_gan" / "weights" / "mnist.h5"
SPEC_FILE = PLUGIN / "genzoo_gan" / "plugin.py"
GRID = ROOT / "docs" / "images" / "gan-mnist.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--out", default=str(ROOT / "runs" / "gan-mnist"))
    args = parser.parse_args()
    command = "python plugins/genzoo-gan/scripts/train_mnist.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )

    model = genzoo_core.train(
        "gan", "mnist", args.out, epochs=args.epochs,
        metadata={"training_command": command.strip()},
    )
    with open(Path(args.out) / "log.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seconds = sum(float(r["seconds"]) for r in rows)
    final = rows[-1]

    # Half precision halves the file; measure what it changes in the samples.
    save_weights(model, WEIGHTS, precision="float16", metadata={
        "dataset": "mnist:train (60,000 images, GENZOO_DATA/mnist.npz)",
        "training_command": command.strip(),
        "metrics": {
            "epochs": len(rows),
            "train_seconds": round(seconds, 1),
            "final_d_loss": float(final["d_loss"]),
            "final_g_loss": float(final["g_loss"]),
        },
    })
    full = model.sample(1000, seed=0)
    half = genzoo_core.load(str(WEIGHTS)).sample(1000, seed=0)
    deviation = float(np.abs(full - half).max())
    mean_deviation = float(np.abs(full - half).mean())

    digest = sha256_file(WEIGHTS)
    text = SPEC_FILE.read_text()
    text = re.sub(r'sha256="[0-9a-f]{64}"', f'sha256="{digest}"', text, count=1)
    SPEC_FILE.write_text(text)
    save_grid(GRID, half[:64])

    header = read_header(WEIGHTS)
    print(f"epochs: {len(rows)}, training time: {seconds / 60:.1f} min")
    print(f"final d_loss {final['d_loss']}, g_loss {final['g_loss']}")
    print(f"float16 vs float32 samples (1000, seed 0): max |diff| {deviation:.2e}, "
          f"mean {mean_deviation:.2e}")
    print(f"weights: {WEIGHTS} ({WEIGHTS.stat().st_size / 1e6:.1f} MB), sha256 {digest}")
    print(f"grid: {GRID}")
    print(f"metadata: {header.metadata}")


if __name__ == "__main__":
    main()
