"""Draw the model card's reconstruction figure of the pretrained ``vae/mnist`` weights.

Run from the repository root, after ``genzoo publish`` has put new weights in place::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-vae/scripts/reconstructions.py

It writes ``docs/images/vae-mnist-reconstructions.png``: the first 16 binarized
test images (top row) and ``reconstruct`` of them through the posterior means
(bottom row).

Why this is a script and not part of the recipe: a recipe says how the weights
are made, evaluated and stored, and everything in it is a setting of ``genzoo
train``, ``genzoo eval`` or ``genzoo publish`` (which also writes the sample grid
``docs/images/vae-mnist.png``). A reconstruction figure is an illustration with
no metric and nothing to store, so it stays a figure drawn from the published file.
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
    parser.add_argument("--weights", default="vae/mnist",
                        help="a weights name or file (default: the published vae/mnist)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"
                                             / "vae-mnist-reconstructions.png"))
    args = parser.parse_args()
    model = genzoo_core.load(args.weights)
    originals = (genzoo_core.load_data("binarized-mnist", "test").images[:16]
                 .astype(np.float32) / 255.0)
    save_grid(args.out, np.concatenate([originals, model.reconstruct(originals)]), columns=16)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
