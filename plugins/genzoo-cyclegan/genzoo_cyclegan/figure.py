"""The model card's figure of a CycleGAN: both directions and their cycles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import genzoo_core


def save_figure(model: Any, test: Any, path: str | Path, count: int = 6) -> Path:
    """Rows: testA, G_AB(testA), G_BA(G_AB(testA)), testB, G_BA(testB), G_AB(G_BA(testB)).

    Images are shown at the model's size, enlarged 2x (nearest neighbour).
    """
    size = model.config["image_shape"][0]
    a = test.resized(size).images_a[:count].astype(np.float32) / 255.0
    b = test.resized(size).images_b[:count].astype(np.float32) / 255.0
    fake_b, fake_a = model.translate(a, "AtoB"), model.translate(b, "BtoA")
    rows = [a, fake_b, model.translate(fake_b, "BtoA"), b, fake_a, model.translate(fake_a, "AtoB")]
    images = np.concatenate(rows).repeat(2, axis=1).repeat(2, axis=2)
    return genzoo_core.save_grid(path, images, columns=count)
