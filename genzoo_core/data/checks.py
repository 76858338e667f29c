"""Checks of the arrays and arguments every loader and source is given.

:func:`check_images` and :func:`check_labels` turn what a user hands in (an
array, a list, another dtype) into the uint8 images and integer labels the
sources hold, or raise a :class:`~genzoo_core.errors.DataError` that says how to
convert what was given. The split and size checks are shared by the loaders.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genzoo_core.errors import DataError

SPLITS = ("train", "test")
"""The splits of a named dataset, an ``.npz`` file, a CycleGAN or a captioned folder."""


def _range(values: np.ndarray) -> str:
    return f"[{values.min():g}, {values.max():g}]"


def check_images(name: str, images: Any, what: str = "images") -> np.ndarray:
    """Return ``images`` as uint8 NHWC (NHW gains a channel axis), or raise a DataError.

    The error names ``name`` and ``what`` and says how to convert what was
    given (floats in [0, 1], integers in 0..255, NaN, wrong rank, empty images).
    """
    images = np.asarray(images)
    has = "have" if what == "images" else "has"
    if images.ndim == 3:  # greyscale without a channel axis
        images = images[..., None]
    if images.ndim != 4:
        raise DataError(
            f"{name}: {what} {has} shape {images.shape}; images must be NHWC (count, height, "
            f"width, channels), or NHW for greyscale: reshape them (e.g. x.reshape(-1, 28, 28, 1))"
        )
    if len(images) == 0:
        raise DataError(f"{name}: {what} holds no images (the dataset is empty): point at data "
                        f"that holds some")
    if 0 in images.shape[1:]:
        raise DataError(
            f"{name}: {what} {has} shape {images.shape}: every image is empty (zero height, "
            f"width or channels); check how the array was made"
        )
    if images.dtype == np.uint8:
        return images
    must = f"{name}: {what} must be uint8 NHWC in [0, 255]"
    kind = images.dtype.kind
    if kind == "f":
        if not np.all(np.isfinite(images)):
            raise DataError(f"{must}, but it is {images.dtype} and holds NaN or infinite "
                            f"values: remove or repair those images")
        if images.min() >= 0 and images.max() <= 1:
            raise DataError(f"{must}, but it is {images.dtype} in [0, 1]: convert it with "
                            f"(x * 255).round().astype(np.uint8)")
        if images.min() >= 0 and images.max() <= 255:
            raise DataError(f"{must}, but it is {images.dtype} in {_range(images)}: convert it "
                            f"with x.round().astype(np.uint8)")
        raise DataError(f"{must}, but it is {images.dtype} with values in {_range(images)}: "
                        f"rescale it to 0..255 and store it as uint8")
    if kind in "iu":
        if images.min() >= 0 and images.max() <= 255:
            raise DataError(f"{must}, but it is {images.dtype} (values within 0..255): store it "
                            f"with x.astype(np.uint8)")
        raise DataError(f"{must}, but it is {images.dtype} with values up to {images.max()} "
                        f"(from {images.min()}): rescale it to 0..255 and store it as uint8")
    raise DataError(f"{must}, but it is {images.dtype}: store the pixels as uint8")


def check_labels(
    name: str, labels: Any, count: int, num_classes: int = 0, what: str = "labels"
) -> tuple[np.ndarray, int]:
    """Return ``(labels as int64 of shape (count,), num_classes)``, or raise a DataError.

    Labels must be integers in ``[0, num_classes)``; a ``(count, 1)`` column is
    flattened. ``num_classes`` 0 means one more than the largest label.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:  # Keras' CIFAR stores (n, 1) columns
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DataError(
            f"{name}: {what} has shape {labels.shape}; labels must be one integer class per "
            f"image, shape ({count},) (one-hot labels? store y.argmax(axis=1))"
        )
    if len(labels) != count:
        raise DataError(f"{name}: {count} images but {len(labels)} labels: give every image "
                        f"exactly one label")
    if labels.dtype.kind not in "iu":
        raise DataError(f"{name}: {what} must be integer class labels, got {labels.dtype}: "
                        f"store them with y.astype(np.int64)")
    labels = labels.astype(np.int64)
    if count and labels.min() < 0:
        bad = int(labels.min())
        classes = num_classes or int(labels.max()) + 1
        raise DataError(f"{name}: label {bad} is outside [0, {classes}): {what} must hold "
                        f"class labels 0, 1, ...; renumber them from 0")
    largest = int(labels.max()) if count else -1
    if num_classes and largest >= num_classes:
        raise DataError(f"{name}: label {largest} is outside [0, {num_classes}): {what} must "
                        f"hold class labels 0 to {num_classes - 1}; fix the labels or "
                        f"num_classes")
    return labels, int(num_classes or largest + 1)


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise DataError(f"image_size must be an integer of at least 8, got {size!r}")
    return int(size)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
