"""Readers of image folders in the standard layouts, from any path.

- :func:`load_image_folder`: every image in a folder (unconditional data);
- :func:`load_paired_folder`: pix2pix's ``train/`` and ``val/`` folders of files
  that hold the input and the target side by side (A|B);
- :func:`load_unpaired_folders`: CycleGAN's ``trainA/ trainB/ testA/ testB/``;
- :func:`load_captioned_folder`: captioned images in the CUB / Oxford-102 layout.

Every file is decoded by :func:`read_image`, which names the file on failure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_core.data.checks import _check_size, _check_split
from genzoo_core.data.sources import (
    DIRECTIONS,
    CaptionedDataSource,
    DataSource,
    PairedDataSource,
    UnpairedDataSource,
)
from genzoo_core.data.transforms import _resize_uint8
from genzoo_core.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
"""The file suffixes read as images."""


def read_image(path: str | os.PathLike[str], channels: int = 3) -> np.ndarray:
    """Decode one image file (JPEG, PNG, BMP, GIF) as uint8 HWC, naming the file on failure.

    A file with another number of channels than ``channels`` is an error, not
    a silent conversion, because it usually means the wrong folder.
    """
    import tensorflow as tf

    path = Path(path)
    try:
        data = tf.io.read_file(str(path))
        image = tf.io.decode_image(data, expand_animations=False).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.DataLossError,
            tf.errors.UnknownError) as exc:
        raise DataError(
            f"cannot read {path} as an image ({exc.message.strip().splitlines()[0]}): replace "
            f"or remove the file"
        ) from exc
    if image.shape[-1] != channels:
        raise DataError(
            f"{path} has {image.shape[-1]} channel(s), expected {channels} "
            f"({'RGB' if channels == 3 else 'greyscale' if channels == 1 else 'channels'}): "
            f"convert it, or remove it from the folder"
        )
    return image


class _SameSize:
    """Remembers the first image's shape and refuses any later image of another."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.first: tuple[Path, tuple[int, ...]] | None = None

    def check(self, file: Path, image: np.ndarray) -> None:
        if self.first is None:
            self.first = (file, image.shape)
        elif image.shape != self.first[1]:
            name, (height, width) = self.first[0].name, self.first[1][:2]
            raise DataError(
                f"{file} is {image.shape[1]}x{image.shape[0]} but {name} is "
                f"{width}x{height}: {self.rule}"
            )


def _natural_key(path: Path) -> list[Any]:
    """Sort ``2.jpg`` before ``10.jpg``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key
    )
    if not files:
        raise DataError(
            f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)}): point at the folder "
            f"that holds them"
        )
    return files


def _split_folder(root: Path, split: str, names: tuple[str, ...]) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise DataError(
        f"{root} has no {' or '.join(f'{n}/' for n in names)} folder for split {split!r}: "
        f"point at the dataset root that holds it"
    )


def load_paired_folder(
    path: str | os.PathLike[str],
    split: str = "train",
    *,
    direction: str = "AtoB",
    image_size: int | None = None,
    jitter: bool | None = None,
    mirror: bool | None = None,
    channels: int = 3,
) -> PairedDataSource:
    """Read pix2pix side-by-side pairs (A|B in one image) from ``path``.

    Args:
        path: the dataset root holding ``train/`` and ``val/`` (or ``test/``), or a
            folder of pair images itself.
        split: ``"train"``; ``"test"`` reads ``test/``, else ``val/`` (pix2pix's
            maps has no test split and is evaluated on ``val/``); ``"val"`` too.
        direction: ``"AtoB"`` translates the left halves into the right ones;
            ``"BtoA"`` the reverse.
        image_size: each half is resized to this square size (``None``: kept
            as it is; models resize to their own size when they train).
        jitter: random jitter when iterating; default on for the train split only.
        mirror: random left-right flips when iterating; default as ``jitter``.
        channels: channels of every file (3 for RGB).

    Every file must be twice as wide as it is high and share the first file's
    size; anything else is a :class:`DataError` naming the file.
    """
    if split not in ("train", "test", "val"):
        raise DataError(f"unknown split {split!r}; use train, val or test")
    if direction not in DIRECTIONS:
        raise DataError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
    size = None if image_size is None else _check_size(image_size)
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root} does not exist")
    names = ("train",) if split == "train" else ("val",) if split == "val" else ("test", "val")
    folder = root if _has_images(root) else _split_folder(root, split, names)
    inputs, targets, files = [], [], []
    same_size = _SameSize("every pair in a folder must have the same size")
    for file in _image_files(folder):
        image = read_image(file, channels)
        height, width = image.shape[:2]
        if width != 2 * height:
            raise DataError(
                f"{file} is {width}x{height}: a pix2pix pair holds input and target side by "
                f"side, so it must be exactly twice as wide as it is high"
            )
        same_size.check(file, image)
        left, right = image[:, :height], image[:, height:]
        inputs.append(_resize_uint8(left[None], size or height)[0])
        targets.append(_resize_uint8(right[None], size or height)[0])
        files.append(file.name)
    source = PairedDataSource(
        f"{root.name}:{split}", np.stack(inputs), np.stack(targets),
        jitter=split == "train" if jitter is None else jitter,
        mirror=split == "train" if mirror is None else mirror,
        files=tuple(files),
    )
    return source.reversed() if direction == "BtoA" else source


def _has_images(folder: Path) -> bool:
    return folder.is_dir() and any(
        p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()
    )


def _read_domain(folder: Path, size: int | None, channels: int) -> np.ndarray:
    images = []
    same_size = _SameSize("every image of a domain must have the same size")
    for file in _image_files(folder):
        image = read_image(file, channels)
        same_size.check(file, image)
        images.append(image if size is None else _resize_uint8(image[None], size)[0])
    return np.stack(images)


def load_unpaired_folders(
    path: str | os.PathLike[str],
    split: str = "train",
    *,
    image_size: int | None = None,
    jitter: bool | None = None,
    mirror: bool | None = None,
    channels: int = 3,
) -> UnpairedDataSource:
    """Read a CycleGAN dataset: ``<split>A/`` and ``<split>B/`` under ``path``.

    Args:
        path: the dataset root holding ``trainA/ trainB/ testA/ testB/``.
        split: ``"train"`` or ``"test"``.
        image_size: every image is resized to this square size (``None``: kept
            as it is, and then every image of both domains must share one size).
        jitter: random jitter when iterating; default on for the train split only.
        mirror: random left-right flips when iterating; default as ``jitter``.
        channels: channels of every file (3 for RGB).
    """
    _check_split(split)
    size = None if image_size is None else _check_size(image_size)
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root} does not exist")
    domains = []
    for letter in "AB":
        folder = root / f"{split}{letter}"
        if not folder.is_dir():
            raise DataError(
                f"{root} has no {split}{letter}/ folder: a CycleGAN dataset holds "
                f"trainA/ trainB/ testA/ testB/"
            )
        domains.append(_read_domain(folder, size, channels))
    return UnpairedDataSource(
        f"{root.name}:{split}", domains[0], domains[1],
        jitter=split == "train" if jitter is None else jitter,
        mirror=split == "train" if mirror is None else mirror,
    )


def load_captioned_folder(
    path: str | os.PathLike[str],
    split: str = "train",
    *,
    image_size: int | None = None,
    channels: int = 3,
) -> CaptionedDataSource:
    """Read captioned images in the CUB / Oxford-102 layout.

    ::

        root/images/<name>.jpg          any sub-folders; JPEG or PNG
        root/text/<name>.txt            one caption per line
        root/embeddings/<name>.npy      optional: (captions, dim) float text embeddings
        root/train.txt, root/test.txt   optional: the <name>s of each split, one per line

    Without ``train.txt``/``test.txt`` every image belongs to the train split.
    Embeddings, when the folder exists, must be present for every image with one
    row per caption.

    Args:
        path: the dataset root.
        split: ``"train"`` or ``"test"``.
        image_size: resize every image to this square size (``None``: keep; then
            every image must share one size).
        channels: channels of every image file (3 for RGB).
    """
    _check_split(split)
    root = Path(path).expanduser()
    images_dir, text_dir = root / "images", root / "text"
    for folder in (images_dir, text_dir):
        if not folder.is_dir():
            raise DataError(
                f"{root} has no {folder.name}/ folder: a captioned dataset holds images/ and "
                f"text/ (one .txt of captions per image), optionally embeddings/"
            )
    split_file = root / f"{split}.txt"
    if split_file.is_file():
        names = [line.strip() for line in split_file.read_text().splitlines() if line.strip()]
    elif split == "train" and not (root / "test.txt").is_file():
        names = sorted(
            (str(p.relative_to(images_dir).with_suffix("")) for p in images_dir.rglob("*")
             if p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda name: _natural_key(Path(name)),
        )
    else:
        raise DataError(f"{root} has no {split}.txt listing the images of split {split!r}")
    if not names:
        raise DataError(f"{root}: split {split!r} lists no images")
    embeddings_dir = root / "embeddings"
    images, captions, embeddings = [], [], []
    same_size = _SameSize("pass image_size= to resize them all")
    for name in names:
        candidates = [images_dir / f"{name}{s}" for s in IMAGE_SUFFIXES]
        image_file = next((c for c in candidates if c.is_file()), None)
        if image_file is None:
            raise DataError(f"{images_dir}/{name}.* not found (listed in split {split!r})")
        image = read_image(image_file, channels)
        if image_size is not None:
            image = _resize_uint8(image[None], _check_size(image_size))[0]
        else:
            same_size.check(image_file, image)
        text_file = text_dir / f"{name}.txt"
        if not text_file.is_file():
            raise DataError(f"{text_file} is missing: every image needs its captions file")
        try:
            lines = text_file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DataError(f"{text_file} is not UTF-8 text ({exc.reason})") from exc
        lines = tuple(line.strip() for line in lines if line.strip())
        if not lines:
            raise DataError(f"{text_file} holds no captions")
        if embeddings_dir.is_dir():
            embedding_file = embeddings_dir / f"{name}.npy"
            try:
                embedding = np.load(embedding_file, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise DataError(f"cannot read {embedding_file} as a .npy array: {exc}") from exc
            if embedding.ndim != 2 or len(embedding) != len(lines):
                raise DataError(
                    f"{embedding_file} has shape {embedding.shape}; expected ({len(lines)}, dim): "
                    f"one embedding per caption in {text_file.name}"
                )
            embeddings.append(embedding)
        images.append(image)
        captions.append(lines)
    stacked = None
    if embeddings:
        if len({e.shape for e in embeddings}) != 1:
            raise DataError(
                f"{embeddings_dir}: every image needs the same number of captions and "
                f"embedding size to use embeddings, found shapes "
                f"{sorted({e.shape for e in embeddings})}"
            )
        stacked = np.stack(embeddings).astype(np.float32)
    return CaptionedDataSource(f"{root.name}:{split}", np.stack(images), captions, stacked)


def load_image_folder(path: str | os.PathLike[str]) -> DataSource:
    """Every image in a folder (recursively), which must all share one size."""
    import tensorflow as tf

    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for file in files:
        try:
            image = tf.io.decode_image(tf.io.read_file(str(file)), expand_animations=False)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as exc:
            raise DataError(f"cannot decode image {file}: {exc.message}") from exc
        if images and image.shape != images[0].shape:
            raise DataError(
                f"{file} is {tuple(image.shape)} but {files[0]} is {tuple(images[0].shape)}: "
                f"every image in a folder must have the same size and channels"
            )
        images.append(image.numpy())
    return DataSource(f"{path.name}", np.stack(images))
