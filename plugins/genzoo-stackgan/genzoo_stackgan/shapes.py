"""Captioned shapes: a small text-to-image dataset drawn on the fly, deterministic per seed.

Each 64x64 RGB image shows one or two shapes (circle, square or triangle), each
in one of 6 colours and 2 sizes, at one of 5 positions (the four corners and the
centre), on a black background. Two shapes never share a position, and the
sizes are chosen so that no two shapes can overlap: corner centres lie 18
pixels from the centre in both axes and a shape's half-extent is at most 8.
Edges are anti-aliased by drawing at 4x resolution and averaging 4x4 blocks.

Since every shape sits at a fixed position, there are only 3 x 2 x 5 = 30
distinct masks: they are drawn once, and an image is a sum of coloured masks,
so 10,000 images take about a second. Each image comes with 5 paraphrased
captions (:mod:`genzoo_stackgan.captions`) and its ground-truth attributes.

Splits: ``train`` is 10,000 images from seed 0, ``test`` 2,000 images from seed
1. :func:`load_shapes` is the loader of the registered dataset ``shapes``.
"""

from __future__ import annotations

import functools
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_stackgan.captions import (
    CAPTIONS_PER_IMAGE,
    COLOURS,
    POSITIONS,
    SHAPES,
    SIZES,
    describe,
)

IMAGE_SIZE = 64
SUPERSAMPLE = 4
CENTRES = ((14.0, 14.0), (14.0, 50.0), (50.0, 14.0), (50.0, 50.0), (32.0, 32.0))
"""(row, column) of each position in :data:`POSITIONS`, in pixels."""
HALF_EXTENTS = (5.0, 8.0)
"""Half the width of a small and a large shape: a circle's radius, a square's half side."""
RGB = {
    "red": (230, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 90, 240),
    "yellow": (240, 220, 40),
    "purple": (170, 60, 210),
    "white": (240, 240, 240),
}
BACKGROUND = (0, 0, 0)
SPLITS = {"train": (0, 10_000), "test": (1, 2_000)}
"""split -> (seed, number of images)."""
EMPTY = 0
"""``shape`` value of a position with no shape; shape ``k`` of :data:`SHAPES` is ``k + 1``."""


@dataclass
class Shapes:
    """Rendered images, their captions and the attributes they were drawn from.

    Attributes:
        images: uint8, (n, 64, 64, 3).
        captions: one tuple of :data:`CAPTIONS_PER_IMAGE` captions per image.
        shape: int8 (n, 5), per position of :data:`POSITIONS`: 0 empty, else
            1 + the index into :data:`SHAPES`.
        colour: int8 (n, 5), index into :data:`COLOURS`, -1 where empty.
        size: int8 (n, 5), index into :data:`SIZES`, -1 where empty.
    """

    images: np.ndarray
    captions: tuple[tuple[str, ...], ...]
    shape: np.ndarray
    colour: np.ndarray
    size: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Cache everything in an uncompressed ``.npz`` file."""
        np.savez(
            path, images=self.images, captions=np.array(self.captions, dtype=str),
            shape=self.shape, colour=self.colour, size=self.size,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Shapes:
        """Read a file written by :meth:`save`."""
        with np.load(path) as f:
            captions = tuple(tuple(str(c) for c in row) for row in f["captions"])
            return cls(f["images"], captions, f["shape"], f["colour"], f["size"])


def _coverage(kind: str, centre: tuple[float, float], half: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of one shape on the 64x64 grid."""
    fine = IMAGE_SIZE * SUPERSAMPLE
    # Centres of the sub-pixels, in pixel units.
    coords = (np.arange(fine, dtype=np.float64) + 0.5) / SUPERSAMPLE
    y, x = np.meshgrid(coords, coords, indexing="ij")
    dy, dx = y - centre[0], x - centre[1]
    if kind == "circle":
        inside = dy**2 + dx**2 <= half**2
    elif kind == "square":
        inside = (np.abs(dy) <= half) & (np.abs(dx) <= half)
    elif kind == "triangle":  # apex up: width grows from 0 at the top to 2*half at the base
        inside = (dy <= half) & (np.abs(dx) <= (dy + half) / 2.0)
    else:
        raise ValueError(f"unknown shape {kind!r}")
    blocks = inside.reshape(IMAGE_SIZE, SUPERSAMPLE, IMAGE_SIZE, SUPERSAMPLE)
    return blocks.mean(axis=(1, 3)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def masks() -> np.ndarray:
    """Coverage of every (shape, size, position): float32 (3, 2, 5, 64, 64)."""
    return np.stack([
        np.stack([
            np.stack([_coverage(kind, centre, half) for centre in CENTRES])
            for half in HALF_EXTENTS
        ])
        for kind in SHAPES
    ])


def draw_attributes(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Random scenes: ``(shape, colour, size)`` arrays of shape (n, 5), as in :class:`Shapes`."""
    shape = np.zeros((n, len(POSITIONS)), np.int8)
    colour = np.full((n, len(POSITIONS)), -1, np.int8)
    size = np.full((n, len(POSITIONS)), -1, np.int8)
    counts = rng.integers(1, 3, n)
    for i, count in enumerate(counts):
        where = rng.choice(len(POSITIONS), count, replace=False)
        shape[i, where] = rng.integers(1, len(SHAPES) + 1, count)
        colour[i, where] = rng.integers(0, len(COLOURS), count)
        size[i, where] = rng.integers(0, len(SIZES), count)
    return shape, colour, size


def render(shape: np.ndarray, colour: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Images (uint8, (n, 64, 64, 3)) of the scenes described by the attribute arrays."""
    coverage = masks()
    palette = np.array([RGB[c] for c in COLOURS], np.float32) - np.array(BACKGROUND, np.float32)
    out = np.empty((len(shape), IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    for start in range(0, len(shape), 1000):  # bounded memory: 1000 float images at a time
        stop = min(start + 1000, len(shape))
        images = np.broadcast_to(
            np.array(BACKGROUND, np.float32), (stop - start, IMAGE_SIZE, IMAGE_SIZE, 3)
        ).copy()
        for p in range(len(POSITIONS)):
            kinds = shape[start:stop, p]
            rows = np.nonzero(kinds != EMPTY)[0]
            if not len(rows):
                continue
            alpha = coverage[kinds[rows] - 1, size[start + rows, p], p]  # (k, 64, 64)
            images[rows] += alpha[..., None] * palette[colour[start + rows, p]][:, None, None]
        out[start:stop] = np.clip(np.round(images), 0, 255).astype(np.uint8)
    return out


def caption_scenes(
    shape: np.ndarray, colour: np.ndarray, size: np.ndarray, seed: int,
    count: int = CAPTIONS_PER_IMAGE,
) -> tuple[tuple[str, ...], ...]:
    """``count`` captions for each scene, deterministic given ``seed``."""
    rng = random.Random(seed)
    captions = []
    for i in range(len(shape)):
        objects = [
            (int(shape[i, p]) - 1, int(colour[i, p]), int(size[i, p]), p)
            for p in np.nonzero(shape[i] != EMPTY)[0]
        ]
        captions.append(describe(objects, rng, count))
    return tuple(captions)


def generate(n: int, seed: int) -> Shapes:
    """``n`` captioned images, the same for the same ``seed``."""
    rng = np.random.default_rng(seed)
    shape, colour, size = draw_attributes(n, rng)
    captions = caption_scenes(shape, colour, size, seed=int(rng.integers(2**31)))
    return Shapes(render(shape, colour, size), captions, shape, colour, size)


def make_split(name: str) -> Shapes:
    """The ``train`` (10,000 images, seed 0) or ``test`` (2,000, seed 1) split."""
    if name not in SPLITS:
        from genzoo_core import DataError

        raise DataError(f"captioned shapes has splits {', '.join(SPLITS)}, not {name!r}")
    seed, n = SPLITS[name]
    return generate(n, seed)


def sample_captions(n: int, seed: int) -> list[str]:
    """One caption of each of ``n`` random scenes (the default conditions of ``sample``)."""
    rng = np.random.default_rng(seed)
    shape, colour, size = draw_attributes(n, rng)
    captions = caption_scenes(shape, colour, size, seed=int(rng.integers(2**31)), count=1)
    return [c[0] for c in captions]


def load_shapes(split: str = "train", cache: str | os.PathLike[str] | None = None) -> Any:
    """The registered dataset ``shapes``: a ``CaptionedDataSource`` of one split.

    Args:
        split: ``"train"`` or ``"test"``.
        cache: an ``.npz`` file to read the split from if it exists, or to write
            it to otherwise (generating takes about a second, so this is optional).
    """
    from genzoo_core.plugin import CaptionedDataSource

    path = Path(cache) if cache is not None else None
    if path is not None and path.is_file():
        data = Shapes.load(path)
    else:
        data = make_split(split)
        if path is not None:
            data.save(path)
    return CaptionedDataSource(f"shapes:{split}", data.images, data.captions)
