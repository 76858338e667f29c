"""The model card's figure of ``stackgan/shapes``: ``docs/images/stackgan-shapes.png``.

Run from the repository root (its numbers come from ``genzoo eval stackgan/shapes``)::

    .venv/bin/python -m genzoo_stackgan.figure [--model runs/x/model.h5] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import genzoo_core

ROOT = Path(__file__).resolve().parents[3]
FIGURE_ROWS = (
    "a large red circle in the centre",
    "there is a big blue box in the upper left corner",
    "a small yellow triangle at the bottom right",
    "the picture shows a huge green disc in the lower left corner",
    "a tiny white square at the top right",
    "a large purple triangle in the middle and a small green ball in the top left",
    "there is a little red block at the top right and a big yellow circle at the bottom left",
    "at the bottom right sits a huge white triangular shape, in the centre a small blue disc",
)
FIGURE_SAMPLES = 5


def figure(model: Any, path: str | Path) -> Path:
    """One row per caption: a Stage-I image (enlarged), then 5 Stage-II samples (seed 0).

    The first Stage-II sample is the refinement of that Stage-I image.
    """
    rows = []
    for caption in FIGURE_ROWS:
        stage1, stage2 = model.sample_both(FIGURE_SAMPLES, condition=caption, seed=0)
        low = np.repeat(np.repeat(stage1[:1], 2, axis=1), 2, axis=2)  # nearest: show its pixels
        rows.append(np.concatenate([low, stage2]))
    return genzoo_core.save_grid(path, np.concatenate(rows), columns=FIGURE_SAMPLES + 1)


def main() -> None:
    """Draw the figure of a weights file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stackgan/shapes")
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "stackgan-shapes.png"))
    args = parser.parse_args()
    print(f"figure: {figure(genzoo_core.load(args.model), args.out)}")


if __name__ == "__main__":
    main()
