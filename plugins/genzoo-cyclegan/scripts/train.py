"""Train the pretrained ``cyclegan/summer2winter`` weights and package them into the plugin.

Run from the repository root (it resumes if interrupted; once training is
complete, running it again only re-evaluates and re-packages)::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-cyclegan/scripts/train.py \
        --epochs 30

Steps: train on summer2winter_yosemite train (150 summer photos as domain A, 150
winter photos as domain B), resized to the model's size, with the core trainer;
then evaluate on the test split (``genzoo eval cyclegan/summer2winter``), save the weights with
their metadata into ``genzoo_cyclegan/weights/``, write the metrics to
``results/summer2winter.json`` and the figure to ``docs/images``, and print the
file's size and sha256 (which goes into ``genzoo_cyclegan/plugin.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
from pathlib import Path

import numpy as np

import genzoo_core
from genzoo_core import sha256_file

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]

MAX_FLOAT32_BYTES = 5_000_000  # above this, store half precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--decay-epochs", type=int, default=None,
                        help="epochs of linear learning-rate decay (default: half)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", default=None,
                        help="run folder (default runs/cyclegan-summer2winter)")
    args = parser.parse_args()
    out = Path(args.out or ROOT / "runs" / "cyclegan-summer2winter")
    weights = PLUGIN / "genzoo_cyclegan" / "weights" / "summer2winter.h5"
    figure = ROOT / "docs" / "images" / "cyclegan-summer2winter.png"
    results = PLUGIN / "results" / "summer2winter.json"
    command = "python plugins/genzoo-cyclegan/scripts/train.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    decay = args.epochs // 2 if args.decay_epochs is None else args.decay_epochs
    config = {"image_shape": [args.size, args.size, 3], "epochs": args.epochs,
              "decay_epochs": decay}

    model = genzoo_core.train(
        "cyclegan", "summer2winter", out, epochs=args.epochs, config=config,
        metadata={"training_command": command.strip()},
    )
    with open(out / "log.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seconds = sum(float(r["seconds"]) for r in rows)
    final = rows[-1]

    from genzoo_cyclegan.figure import save_figure

    test = genzoo_core.load_data("summer2winter", "test")
    measured = genzoo_core.evaluate(model, "summer2winter", verbose=0)["metrics"]
    metrics = {
        "epochs": len(rows),
        "train_seconds": round(seconds, 1),
        "seconds_per_epoch_median": round(float(np.median([float(r["seconds"]) for r in rows])), 1),
        **{f"final_{k}": float(v) for k, v in final.items() if k.endswith("_loss")},
        **measured,
    }
    metadata = {
        "dataset": "summer2winter:train (150 summer + 150 winter photos, GENZOO_DATA), "
        f"resized to {args.size}x{args.size}",
        "training_command": command.strip(),
        "metrics": metrics,
    }
    model.save_weights(str(weights), metadata=metadata)
    precision = "float32"
    if weights.stat().st_size > MAX_FLOAT32_BYTES:
        precision = "float16"
        model.save_weights(str(weights), metadata=metadata, precision=precision)
    packaged = genzoo_core.load(str(weights))
    probe = test.resized(args.size).images_a[:8].astype(np.float32) / 255.0
    deviation = float(np.abs(model.translate(probe) - packaged.translate(probe)).max())
    save_figure(packaged, test, figure)
    digest = sha256_file(weights)

    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps({
        "model": "cyclegan/summer2winter",
        "weights_sha256": digest,
        "weights_bytes": weights.stat().st_size,
        "precision": precision,
        "config": model.config,
        "training_command": command.strip(),
        "metrics": metrics,
        "packaged_vs_trained_max_abs_diff": deviation,
    }, indent=2) + "\n", encoding="utf-8")

    per_epoch = ", ".join(f"{float(r['seconds']):.0f}" for r in rows)
    print(f"epochs: {len(rows)}, training time: {seconds / 60:.1f} min ({per_epoch} s per epoch)")
    print(f"weights: {weights} ({weights.stat().st_size / 1e6:.2f} MB, {precision}); "
          f"packaged vs trained translations: max |diff| {deviation:.2e}")
    print(f"sha256 {digest}")
    print(f"figure: {figure}")
    print(json.dumps(measured, indent=2))


if __name__ == "__main__":
    main()
