"""Train the pretrained ``rbm/mnist`` weights, estimate log Z by AIS, and package them.

Run from the repository root (it resumes if interrupted)::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-rbm/scripts/train.py --epochs 40

Steps: train a 500-hidden-unit RBM by persistent CD on binarized-mnist's train
split (binarized afresh in every batch) with the core trainer; estimate log Z by
AIS from a base-rate model fitted to the train pixel means (14,500 inverse
temperatures, 100 runs); score the 10,000 fixed-seed binarized test images;
save weights, log Z and metadata into ``genzoo_rbm/weights/mnist.h5``; print
its sha256; write a sample grid to ``docs/images/rbm-mnist.png``.
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
STEPS_PER_EPOCH = 600  # 60,000 images in batches of 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.5)
    parser.add_argument("--out", default=str(ROOT / "runs" / "rbm-mnist"))
    args = parser.parse_args()
    command = "python plugins/genzoo-rbm/scripts/train.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    config = {"learning_rate": args.learning_rate, "momentum": args.momentum,
              "learning_rate_decay_steps": args.epochs * STEPS_PER_EPOCH}
    model = genzoo_core.train("rbm", "binarized-mnist", args.out, epochs=args.epochs,
                              config=config, metadata={"training_command": command})
    with open(Path(args.out) / "log.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    train_seconds = sum(float(r["seconds"]) for r in rows)

    train = genzoo_core.load_data("mnist", "train").images.astype(np.float32) / 255.0
    estimate = model.estimate_log_partition(train, temperatures=14500, runs=100, seed=0)
    test = genzoo_core.load_data("binarized-mnist", "test").images.astype(np.float32) / 255.0
    started = time.perf_counter()
    log_likelihood = model.log_prob(test)
    pseudo = model.pseudo_log_likelihood(test[:1000])
    metrics = {
        "epochs": len(rows),
        "train_seconds": round(train_seconds, 1),
        "test_nll": {
            "nll_nats": round(float(-log_likelihood.mean()), 3),
            "std_error_over_images": round(
                float(log_likelihood.std(ddof=1) / np.sqrt(len(test))), 3
            ),
            "images": len(test),
            "protocol": "-F(v) - log Z on all 10,000 binarized test images; log Z by AIS "
            "(14,500 temperatures, 100 runs, base rates from the train pixel means)",
        },
        "log_partition": round(estimate["log_partition"], 4),
        "log_partition_ais_std_error": round(estimate["std_error"], 4),
        "log_partition_3_sigma": [round(estimate["lower"], 3), round(estimate["upper"], 3)],
        "ais_temperatures": estimate["temperatures"],
        "ais_runs": estimate["runs"],
        "ais_seed": 0,
        "ais_base_rates": "mnist train pixel means, clipped to [0.001, 0.999]",
        "ais_seconds": estimate["seconds"],
        "test_nll_first_500": round(float(-log_likelihood[:500].mean()), 3),
        "test_pseudo_log_likelihood_nats_first_1000": round(float(pseudo.mean()), 3),
        "scoring_seconds": round(time.perf_counter() - started, 1),
        "test_set": f"binarized-mnist:test (MNIST test, binarized with seed {BINARIZATION_SEED})",
        "final_reconstruction_error": float(rows[-1]["reconstruction_error"]),
    }
    target = PLUGIN / "genzoo_rbm" / "weights" / "mnist.h5"
    model.save_weights(str(target), metadata={
        "dataset": "binarized-mnist:train", "training_command": command, "metrics": metrics,
    })
    grid = ROOT / "docs" / "images" / "rbm-mnist.png"
    save_grid(grid, genzoo_core.load(str(target)).sample(64, seed=0))
    print(json.dumps(metrics, indent=2))
    print(f"weights {target} ({target.stat().st_size / 1e6:.2f} MB) sha256 {sha256_file(target)}")
    print(f"grid {grid}")


if __name__ == "__main__":
    main()
