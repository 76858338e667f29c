"""Paired metrics: per-image similarity of a translation to its target.

Used by the image-to-image models (pix2pix, CycleGAN): :func:`ssim` and
:func:`mean_absolute_error` compare two NHWC batches image by image, in float64.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genzoo_core.errors import DataError
from genzoo_core.metrics._checks import _int_argument

__all__ = ["mean_absolute_error", "ssim"]


def _image_pair(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(f"images must be numeric arrays: {error}") from None
    if a.ndim != 4 or a.shape != b.shape:
        raise DataError(
            f"expected two NHWC image batches of the same shape, got {a.shape} and {b.shape}"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise DataError("images hold NaN or infinite values")
    return a, b


def mean_absolute_error(x: Any, y: Any) -> np.ndarray:
    """Mean |x - y| per image (the L1 distance pix2pix reports), one value per image."""
    a, b = _image_pair(x, y)
    return np.abs(a - b).mean(axis=(1, 2, 3))


def _gaussian_window(size: int, sigma: float) -> np.ndarray:
    coordinates = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    window = np.exp(-(coordinates**2) / (2.0 * sigma**2))
    return window / window.sum()


def _filter_valid(images: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of NHWC images over H and W."""
    from numpy.lib.stride_tricks import sliding_window_view

    rows = sliding_window_view(images, len(window), axis=1) @ window
    return sliding_window_view(rows, len(window), axis=2) @ window


def ssim(
    x: Any,
    y: Any,
    *,
    max_value: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> np.ndarray:
    """Structural similarity (Wang et al. 2004), one value per image.

    The standard settings: an 11x11 Gaussian window with sigma 1.5 applied
    without padding, K1 = 0.01, K2 = 0.03, and the SSIM map averaged over
    positions and channels (as ``tf.image.ssim`` and scikit-image with
    ``gaussian_weights=True`` do). Images are NHWC with values in
    [0, ``max_value``] and must be at least ``window_size`` pixels high and wide.
    """
    a, b = _image_pair(x, y)
    window_size = _int_argument(window_size, "window_size", 1)
    if a.shape[1] < window_size or a.shape[2] < window_size:
        raise DataError(
            f"images of {a.shape[1]}x{a.shape[2]} are smaller than the {window_size}x"
            f"{window_size} SSIM window"
        )
    window = _gaussian_window(window_size, sigma)
    c1, c2 = (k1 * max_value) ** 2, (k2 * max_value) ** 2
    mean_a, mean_b = _filter_valid(a, window), _filter_valid(b, window)
    var_a = _filter_valid(a * a, window) - mean_a**2
    var_b = _filter_valid(b * b, window) - mean_b**2
    covariance = _filter_valid(a * b, window) - mean_a * mean_b
    luminance = (2 * mean_a * mean_b + c1) / (mean_a**2 + mean_b**2 + c1)
    structure = (2 * covariance + c2) / (var_a + var_b + c2)
    return (luminance * structure).mean(axis=(1, 2, 3))
