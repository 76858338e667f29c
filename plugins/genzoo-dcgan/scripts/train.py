"""Train pretrained DCGAN weights on a real MNIST-family train split and package them.

Run from the repository root (it resumes if interrupted)::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-dcgan/scripts/train.py \\
        --dataset mnist --epochs 5

The weights are trained with 32 base filters (a quarter of the paper's compute)
so that they train on a 2-core CPU; the result is written into the package as
``genzoo_dcgan/weights/<dataset>.h5`` with its metadata, its sha256 is printed
for the spec, and a sample grid goes to ``docs/images/``.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
from pathlib import Path

import genzoo_core
from genzoo_core import save_grid, sha256_file

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]
CPU_CONFIG = {"generator_filters": 32, "discriminator_filters": 32}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["mnist", "fashion-mnist"], required=True)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = Path(args.out or ROOT / "runs" / f"dcgan-{args.dataset}")
    command = "python plugins/genzoo-dcgan/scripts/train.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    model = genzoo_core.train("dcgan", args.dataset, out, epochs=args.epochs,
                              config=CPU_CONFIG, metadata={"training_command": command})
    with open(out / "log.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seconds = sum(float(r["seconds"]) for r in rows)
    target = PLUGIN / "genzoo_dcgan" / "weights" / f"{args.dataset}.h5"
    model.save_weights(str(target), metadata={
        "dataset": f"{args.dataset}:train",
        "training_command": command,
        "metrics": {"epochs": len(rows), "train_seconds": round(seconds, 1),
                    "final_d_loss": float(rows[-1]["d_loss"]),
                    "final_g_loss": float(rows[-1]["g_loss"])},
    })
    grid = ROOT / "docs" / "images" / f"dcgan-{args.dataset}.png"
    save_grid(grid, genzoo_core.load(str(target)).sample(64, seed=0))
    print(f"epochs {len(rows)}, {seconds / 60:.1f} min; final losses {rows[-1]}")
    print(f"weights {target} ({target.stat().st_size / 1e6:.1f} MB) sha256 {sha256_file(target)}")
    print(f"grid {grid}")


if __name__ == "__main__":
    main()
