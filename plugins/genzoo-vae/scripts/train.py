"""Train the pretrained ``vae/mnist`` weights on binarized MNIST, measure test NLL, package.

Run from the repository root (it resumes if interrupted)::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-vae/scripts/train.py --epochs 30

Steps: train on binarized-mnist's train split (binarized afresh in every batch)
with the core trainer; score the fixed-seed binarized test images with the
importance-weighted bound: k = 5000 on the first ``--eval-images`` test images
(the reported NLL), k = 1 (the ELBO) and k = 100 on all 10,000, and k = 100 on
the first 500 with seed 0 (what the tests reproduce); save weights and metadata
into ``genzoo_vae/weights/mnist.h5``; print its sha256; write a sample grid and a
reconstruction figure into ``docs/images``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import genzoo_core
from genzoo_core import BINARIZATION_SEED, save_grid, sha256_file

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]


def nll(model, images: np.ndarray, k: int) -> dict:
    started = time.perf_counter()
    values = -model.log_prob(images, k=k, seed=0)
    return {"k": k, "images": len(images), "nll_nats": round(float(values.mean()), 3),
            "std_error_over_images": round(float(values.std(ddof=1) / np.sqrt(len(values))), 3),
            "seconds": round(time.perf_counter() - started, 1),
            "protocol": f"importance-weighted bound, k = {k}, seed 0, on the first "
            f"{len(images)} binarized test images"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--eval-images", type=int, default=1000)
    parser.add_argument("--out", default=str(ROOT / "runs" / "vae-mnist"))
    args = parser.parse_args()
    command = "python plugins/genzoo-vae/scripts/train.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    model = genzoo_core.train("vae", "binarized-mnist", args.out, epochs=args.epochs,
                              metadata={"training_command": command})
    with open(Path(args.out) / "log.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    test = genzoo_core.load_data("binarized-mnist", "test").images.astype(np.float32) / 255.0
    metrics = {
        "epochs": len(rows),
        "train_seconds": round(sum(float(r["seconds"]) for r in rows), 1),
        "final_train_negative_elbo": float(rows[-1]["loss"]),
        "test_set": f"binarized-mnist:test (MNIST test, binarized with seed {BINARIZATION_SEED})",
        "test_nll": nll(model, test[: args.eval_images], args.k),
        "test_elbo_all": nll(model, test, 1),
        "test_k100_all": nll(model, test, 100),
        "test_k100_first_500_seed_0": nll(model, test[:500], 100),
    }
    target = PLUGIN / "genzoo_vae" / "weights" / "mnist.h5"
    model.save_weights(str(target), metadata={
        "dataset": "binarized-mnist:train", "training_command": command, "metrics": metrics,
    })
    packaged = genzoo_core.load(str(target))
    images = ROOT / "docs" / "images"
    save_grid(images / "vae-mnist.png", packaged.sample(64, seed=0))
    originals = test[:16]
    save_grid(images / "vae-mnist-reconstructions.png",
              np.concatenate([originals, packaged.reconstruct(originals)]), columns=16)
    print(json.dumps(metrics, indent=2))
    print(f"weights {target} ({target.stat().st_size / 1e6:.2f} MB) sha256 {sha256_file(target)}")


if __name__ == "__main__":
    main()
