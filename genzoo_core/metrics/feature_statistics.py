"""Streaming feature statistics, and their cache files.

:class:`FeatureStatistics` accumulates the mean and covariance of feature
batches in bounded memory (float64), and saves them to and loads them from
``.npz`` files, so that the statistics of a real dataset are computed once.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_core._files import atomic_path
from genzoo_core.errors import DataError
from genzoo_core.metrics._checks import _as_features, _int_argument

__all__ = ["FeatureStatistics"]

_STATS_FORMAT = "genzoo-feature-statistics"
_STATS_VERSION = 1


class FeatureStatistics:
    """Streaming mean and covariance of feature vectors, in bounded memory.

    Feed batches of shape (n, d) to :meth:`update`; only the count, the sum and
    the sum of outer products are kept (float64, O(d²) memory), never the
    features. To stay accurate when features have a large mean, the sums are
    taken of the features minus a fixed shift (the mean of the first batch).

    :attr:`covariance` is the unbiased estimate (divisor N - 1), equal to
    ``np.cov(all_features, rowvar=False)``. Statistics of a real dataset can be
    cached with :meth:`save` and :meth:`load` (an ``.npz`` file).
    """

    def __init__(self, dim: int | None = None) -> None:
        self._count = 0
        self._dim: int | None = None
        self._shift: np.ndarray | None = None
        self._sum: np.ndarray | None = None
        self._outer: np.ndarray | None = None
        if dim is not None:
            self._allocate(_int_argument(dim, "dim", 1))

    def _allocate(self, dim: int) -> None:
        self._dim = dim
        self._shift = np.zeros(dim)
        self._sum = np.zeros(dim)
        self._outer = np.zeros((dim, dim))

    @classmethod
    def from_features(cls, features: np.ndarray) -> FeatureStatistics:
        """Statistics of one (n, d) array of features."""
        return cls().update(features)

    def update(self, features: np.ndarray) -> FeatureStatistics:
        """Add a batch of features of shape (n, d); returns ``self``.

        Raises DataError, leaving the statistics unchanged, for NaN or infinite
        values, a non-2-D array, or a feature dimension other than the one seen
        so far.
        """
        batch = _as_features(features, "features")
        n, d = batch.shape
        if self._dim is not None and d != self._dim:
            raise DataError(
                f"feature dimension changed: these statistics hold {self._dim}-dimensional "
                f"features, the batch has shape {batch.shape}"
            )
        if self._dim is None:
            self._allocate(d)
        if n == 0:
            return self
        assert self._shift is not None and self._sum is not None and self._outer is not None
        if self._count == 0:
            self._shift = batch.mean(axis=0)
        centred = batch - self._shift
        self._sum += centred.sum(axis=0)
        self._outer += centred.T @ centred
        self._count += n
        return self

    @property
    def count(self) -> int:
        """Number of feature vectors accumulated."""
        return self._count

    @property
    def dim(self) -> int | None:
        """Feature dimension, or None before the first batch."""
        return self._dim

    @property
    def mean(self) -> np.ndarray:
        """Mean feature vector, shape (d,), float64."""
        if self._count == 0:
            raise DataError("no features accumulated yet: call update() with a batch first")
        assert self._shift is not None and self._sum is not None
        return self._shift + self._sum / self._count

    @property
    def covariance(self) -> np.ndarray:
        """Unbiased covariance (divisor N - 1), shape (d, d), float64."""
        if self._count < 2:
            raise DataError(
                f"a covariance needs at least 2 feature vectors, {self._count} accumulated"
            )
        assert self._sum is not None and self._outer is not None
        n = self._count
        cov = (self._outer - np.outer(self._sum, self._sum) / n) / (n - 1)
        return (cov + cov.T) / 2

    def to_dict(self) -> dict[str, np.ndarray]:
        """The accumulators as plain arrays (what :meth:`save` writes)."""
        if self._dim is None:
            raise DataError("no features accumulated yet: nothing to save")
        assert self._shift is not None and self._sum is not None and self._outer is not None
        return {
            "format": np.array(_STATS_FORMAT),
            "version": np.array(_STATS_VERSION, dtype=np.int64),
            "count": np.array(self._count, dtype=np.int64),
            "shift": self._shift.copy(),
            "sum": self._sum.copy(),
            "outer": self._outer.copy(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureStatistics:
        """Rebuild statistics from :meth:`to_dict`'s output; DataError if malformed."""
        missing = [key for key in ("count", "shift", "sum", "outer") if key not in data]
        if missing:
            raise DataError(f"not genzoo feature statistics: missing {', '.join(missing)}")
        if "format" in data and str(np.asarray(data["format"])) != _STATS_FORMAT:
            raise DataError(f"not genzoo feature statistics: format {data['format']!r}")
        version = int(np.asarray(data.get("version", _STATS_VERSION)))
        if version > _STATS_VERSION:
            raise DataError(
                f"feature statistics version {version} is newer than this genzoo reads "
                f"({_STATS_VERSION}); upgrade genzoo-core or recompute them"
            )
        try:
            count_array = np.asarray(data["count"])
            shift = np.asarray(data["shift"], dtype=np.float64)
            total = np.asarray(data["sum"], dtype=np.float64)
            outer = np.asarray(data["outer"], dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise DataError(f"malformed feature statistics: {error}") from None
        if count_array.shape != () or not np.issubdtype(count_array.dtype, np.integer):
            raise DataError(f"malformed feature statistics: count {count_array!r}")
        count = int(count_array)
        d = shift.shape[0] if shift.ndim == 1 else -1
        if (
            count < 0
            or d < 1
            or total.shape != (d,)
            or outer.shape != (d, d)
            or not all(np.isfinite(a).all() for a in (shift, total, outer))
        ):
            raise DataError(
                "malformed feature statistics: count "
                f"{count}, shapes {shift.shape}, {total.shape}, {outer.shape}"
            )
        stats = cls(d)
        stats._count = count
        stats._shift, stats._sum, stats._outer = shift.copy(), total.copy(), outer.copy()
        return stats

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the statistics to ``path`` (an ``.npz`` file), atomically; returns it."""
        target = Path(path)
        arrays = self.to_dict()
        with atomic_path(target) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FeatureStatistics:
        """Read statistics written by :meth:`save`; DataError if missing or malformed."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read feature statistics from {path}: {error}") from None
        return cls.from_dict(arrays)

    def __repr__(self) -> str:
        return f"FeatureStatistics(count={self._count}, dim={self._dim})"
