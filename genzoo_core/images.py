"""Image grids and PNG files."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from genzoo_core._files import atomic_path
from genzoo_core.errors import GenzooError


def make_grid(
    images: np.ndarray, *, columns: int | None = None, padding: int = 2, pad_value: float = 1.0
) -> np.ndarray:
    """Tile NHWC images in [0, 1] into one uint8 HWC image.

    Args:
        images: float array (n, height, width, channels), values in [0, 1].
        columns: images per row; default ceil(sqrt(n)).
        padding: pixels between images and around the border.
        pad_value: grey level of the padding, in [0, 1].
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise GenzooError(f"expected NHWC images with 1, 3 or 4 channels, got {images.shape}")
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.full(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, c),
        pad_value,
        dtype=np.float32,
    )
    for index, image in enumerate(images):
        r, col = divmod(index, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = image
    return np.round(np.clip(grid, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write a uint8 HWC image (or float in [0, 1]) to ``path`` as PNG, atomically."""
    import tensorflow as tf

    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(tf.io.encode_png(image).numpy())
    return path


def save_grid(
    path: str | os.PathLike[str], images: np.ndarray, *, columns: int | None = None
) -> Path:
    """Tile ``images`` (NHWC in [0, 1]) with :func:`make_grid` and save as PNG."""
    return save_png(path, make_grid(images, columns=columns))
