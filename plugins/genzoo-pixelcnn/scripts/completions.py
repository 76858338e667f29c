"""Draw the model card's completion figure of the pretrained ``pixelcnn/mnist`` weights.

Run from the repository root, after ``genzoo publish`` has put new weights in place::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-pixelcnn/scripts/completions.py

It writes ``docs/images/pixelcnn-mnist-completions.png``: the first 8 binarized
test images with their bottom half removed (top row), three completions of the
bottom half from seeds 0, 1 and 2, and the originals (bottom row).

Why this is a script and not part of the recipe: a recipe says how the weights
are made, evaluated and stored, and everything in it is a setting of ``genzoo
train``, ``genzoo eval`` or ``genzoo publish`` (which also writes the sample grid
``docs/images/pixelcnn-mnist.png``). Completion is a PixelCNN-only illustration
(``PixelCNN.complete``) with no metric and nothing to store, so it stays a
figure drawn from the published file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import genzoo_core
from genzoo_core import save_grid

ROOT = Path(__file__).resolve().parents[3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="pixelcnn/mnist",
                        help="a weights name or file (default: the published pixelcnn/mnist)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"
                                             / "pixelcnn-mnist-completions.png"))
    args = parser.parse_args()
    model = genzoo_core.load(args.weights)
    test = genzoo_core.load_data("binarized-mnist", "test").images[:8].astype(np.float32) / 255.0
    rows = model.config["image_shape"][0] // 2
    completions = [model.complete(test, rows, seed=seed) for seed in range(3)]
    top_half = test.copy()
    top_half[:, rows:] = 0.0
    save_grid(args.out, np.concatenate([top_half, *completions, test]), columns=8)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
