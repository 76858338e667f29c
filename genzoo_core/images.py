"""Image grids and PNG files."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from genzoo_core._files import atomic_path
from genzoo_core.errors import GenzooError

CROPS = ("center", "left", "right", "top", "bottom")
"""Where :func:`crop_box` takes its part of an image: ``left``/``right`` suit a wide
image, ``top``/``bottom`` a tall one, ``center`` either."""


MAX_GRID_PIXELS = 1 << 26
"""The most pixels one grid may have (64 Mpx: about 1 GB while it is built in
float32 with 3 channels). Over it, :func:`make_grid` refuses instead of running
out of memory; ``genzoo sample`` checks before it draws anything."""


def grid_shape(
    n: int, image_size: tuple[int, int], *, columns: int | None = None, padding: int = 2
) -> tuple[int, int]:
    """(height, width) in pixels of :func:`make_grid`'s grid of ``n`` images of ``image_size``."""
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    height, width = image_size
    return rows * (height + padding) + padding, columns * (width + padding) + padding


def largest_grid(
    image_size: tuple[int, int],
    *,
    columns: int | None = None,
    padding: int = 2,
    limit: int = 1 << 40,
    max_pixels: int | None = None,
) -> int:
    """The most images (up to ``limit``) whose grid stays within ``max_pixels``.

    Args:
        image_size: (height, width) of one image.
        columns: images per row, as for :func:`make_grid`; default square-ish.
        padding: as for :func:`make_grid`.
        limit: the answer is at most this.
        max_pixels: default :data:`MAX_GRID_PIXELS`.

    Returns:
        0 when not even one image fits.
    """
    cap = MAX_GRID_PIXELS if max_pixels is None else max_pixels

    def fits(n: int) -> bool:
        height, width = grid_shape(n, image_size, columns=columns, padding=padding)
        return height * width <= cap

    low, high = 0, limit  # fits(low) holds (0 images: nothing to draw); grids grow with n
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


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
    if columns is not None and columns < 1:
        raise GenzooError(f"columns must be at least 1, got {columns}")
    height, width = grid_shape(n, (h, w), columns=columns, padding=padding)
    if height * width > MAX_GRID_PIXELS:
        largest = largest_grid(
            (h, w), columns=columns, padding=padding, limit=n
        )
        raise GenzooError(
            f"a grid of {n} {w}x{h} images would be {width}x{height} pixels, more than "
            f"{MAX_GRID_PIXELS} (MAX_GRID_PIXELS); at most {largest} images fit in one grid"
        )
    columns = columns or math.ceil(math.sqrt(n))
    grid = np.full((height, width, c), pad_value, dtype=np.float32)
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


def same_aspect(size: tuple[int, int], target: tuple[int, int]) -> bool:
    """Whether (height, width) ``size`` has exactly the aspect ratio of ``target``."""
    (height, width), (target_height, target_width) = size, target
    return height * target_width == width * target_height


def crop_box(
    size: tuple[int, int], target: tuple[int, int], where: str = "center"
) -> tuple[int, int, int, int]:
    """The largest part of an image of ``size`` with the aspect ratio of ``target``.

    Args:
        size: (height, width) of the image.
        target: (height, width) whose aspect ratio the part takes.
        where: one of :data:`CROPS`; ``left``/``right`` need an image wider than
            ``target``'s ratio, ``top``/``bottom`` a taller one.

    Returns:
        (top, left, height, width) of the part.
    """
    (height, width), (target_height, target_width) = size, target
    if where not in CROPS:
        raise GenzooError(f"crop {where!r} is not one of {', '.join(CROPS)}")
    if width * target_height >= height * target_width:  # wide: keep the full height
        part = (height, height * target_width // target_height)
        ends = {"left": 0, "right": width - part[1]}
        offset = (0, ends.get(where, (width - part[1]) // 2))
        wrong = ("top", "bottom")
    else:  # tall: keep the full width
        part = (width * target_height // target_width, width)
        ends = {"top": 0, "bottom": height - part[0]}
        offset = (ends.get(where, (height - part[0]) // 2), 0)
        wrong = ("left", "right")
    if where in wrong and not same_aspect(size, target):
        side = "wide" if wrong[0] == "top" else "tall"
        fits = "left, center or right" if side == "wide" else "top, center or bottom"
        raise GenzooError(
            f"a {width}x{height} image is {side}: crop its {fits}, not its {where}"
        )
    return (*offset, *part)
