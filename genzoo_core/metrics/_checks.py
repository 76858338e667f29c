"""Argument and array checks shared by the metric modules.

Each turns a bad argument into a :class:`~genzoo_core.errors.ConfigError` or a
bad array into a :class:`~genzoo_core.errors.DataError` with a message saying
what was expected.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from genzoo_core.errors import ConfigError, DataError


def _int_argument(value: Any, name: str, minimum: int) -> int:
    """Return ``value`` as an int, or raise ConfigError if it is not an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _as_features(features: Any, name: str) -> np.ndarray:
    """Return ``features`` as a finite float64 (n, d) array, or raise DataError."""
    try:
        array = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(f"{name} must be a numeric array of shape (n, d): {error}") from None
    if array.ndim != 2:
        raise DataError(f"{name} must have shape (n, d), got shape {array.shape}")
    if array.shape[1] == 0:
        raise DataError(f"{name} has no feature dimensions (shape {array.shape})")
    if not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array).all(axis=1)))
        raise DataError(
            f"{name} holds NaN or infinite values in {bad} of {array.shape[0]} rows; "
            "check the feature extractor and its inputs"
        )
    return array


def _same_dimension(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise DataError(
            f"{names} have different feature dimensions: {a.shape} and {b.shape}; "
            "both must come from the same feature extractor"
        )
