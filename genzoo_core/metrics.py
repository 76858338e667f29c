"""Sample-quality and likelihood metrics: the mathematics, in numpy and scipy only.

Everything here works on arrays that something else produced (Inception features,
classifier probabilities, log-likelihoods); nothing imports TensorFlow. All
computations run in float64.

- :class:`FeatureStatistics`: streaming mean and covariance of feature batches,
  with bounded memory, saved to and loaded from ``.npz`` files.
- :func:`frechet_distance` and :func:`fid`: Fréchet Inception Distance, with
  pytorch-fid's numerical conventions.
- :func:`kid`: Kernel Inception Distance (unbiased MMD², cubic polynomial kernel).
- :func:`inception_score`: Inception Score from class probabilities.
- :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al. 2019).
- :func:`nll_summary`: negative log-likelihood in nats and bits per dimension.
- :func:`ssim` and :func:`mean_absolute_error`: per-image similarity of a
  translation to its target (pix2pix, CycleGAN).
- :data:`METRICS` and :func:`check_metric_names`: the metric names the CLI accepts.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from scipy import linalg, special

from genzoo_core._files import atomic_path
from genzoo_core.errors import ConfigError, DataError

__all__ = [
    "METRICS",
    "FeatureStatistics",
    "check_metric_names",
    "fid",
    "frechet_distance",
    "inception_score",
    "kid",
    "mean_absolute_error",
    "nll_summary",
    "precision_recall",
    "ssim",
]

#: Metric names the CLI accepts: FID, KID, Inception Score, precision/recall, NLL.
METRICS: tuple[str, ...] = ("fid", "kid", "is", "pr", "nll")

_STATS_FORMAT = "genzoo-feature-statistics"
_STATS_VERSION = 1

# SciPy 1.16 deprecated sqrtm's ``disp`` argument (removed in 1.18); before that,
# pytorch-fid's ``disp=False`` is what keeps sqrtm from printing.
_version = re.match(r"(\d+)\.(\d+)", scipy.__version__)
_SQRTM_TAKES_DISP = _version is None or (int(_version[1]), int(_version[2])) < (1, 16)


# --------------------------------------------------------------------------- helpers


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


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """``scipy.linalg.sqrtm`` of ``matrix``, quietly: callers check the result."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if _SQRTM_TAKES_DISP:
            result = linalg.sqrtm(matrix, disp=False)
        else:
            result = linalg.sqrtm(matrix)
    if isinstance(result, tuple):  # (sqrtm, error estimate) with disp=False
        result = result[0]
    return np.asarray(result)


# --------------------------------------------------------------- feature statistics


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


# ------------------------------------------------------------------------------- FID


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    eps: float = 1e-6,
) -> float:
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|² + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^½)``, computed as
    pytorch-fid does: if the matrix square root is not finite, ``eps`` is added to
    both diagonals and it is retried (with a RuntimeWarning); a complex root whose
    diagonal has an imaginary part above 1e-3 raises DataError, a smaller one is
    dropped. The result is not clipped, so it can be a rounding error below zero.
    """
    if not isinstance(eps, numbers.Real) or not eps >= 0:
        raise ConfigError(f"eps must be a non-negative number, got {eps!r}")
    try:
        mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
        mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
        sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
        sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    except (TypeError, ValueError) as error:
        raise DataError(f"means and covariances must be numeric arrays: {error}") from None
    if mu1.shape != mu2.shape or mu1.ndim != 1:
        raise DataError(
            f"the means have different shapes: {mu1.shape} and {mu2.shape} "
            "(expected two vectors of the same length)"
        )
    d = mu1.shape[0]
    if sigma1.shape != sigma2.shape or sigma1.shape != (d, d):
        raise DataError(
            f"the covariances have shapes {sigma1.shape} and {sigma2.shape}; "
            f"both must be ({d}, {d}) to match the means"
        )
    for name, value in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.isfinite(value).all():
            raise DataError(f"{name} holds NaN or infinite values")

    diff = mu1 - mu2
    covmean = _sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        warnings.warn(
            f"fid calculation produces singular product; adding {eps} to diagonal of "
            "cov estimates",
            RuntimeWarning,
            stacklevel=2,
        )
        offset = np.eye(d) * eps
        covmean = _sqrtm((sigma1 + offset).dot(sigma2 + offset))
        if not np.isfinite(covmean).all():
            raise DataError(
                f"the covariance product is singular even with {eps} added to the "
                "diagonals; use more samples or a larger eps"
            )
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            largest = float(np.max(np.abs(covmean.imag)))
            raise DataError(
                "the square root of the covariance product has an imaginary component "
                f"of up to {largest:.4g}; the covariance estimates are unreliable "
                "(use more samples)"
            )
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def _statistics(value: FeatureStatistics | np.ndarray, name: str) -> FeatureStatistics:
    stats = value if isinstance(value, FeatureStatistics) else None
    if stats is None:
        stats = FeatureStatistics().update(_as_features(value, f"{name} features"))
    if stats.dim is None:
        raise DataError(f"{name} feature statistics are empty: no features accumulated")
    if stats.count <= stats.dim:
        d = stats.dim
        raise DataError(
            f"{name} features: {stats.count} samples of dimension {d} give a singular "
            f"covariance (FID needs more samples than feature dimensions); use at least "
            f"{d + 1} samples, better {10 * d} or more (10000 is standard for Inception "
            "features)"
        )
    return stats


def fid(
    real: FeatureStatistics | np.ndarray,
    fake: FeatureStatistics | np.ndarray,
    *,
    eps: float = 1e-6,
) -> float:
    """Fréchet Inception Distance between two feature sets (lower is better).

    Each argument is either an (n, d) feature array or accumulated
    :class:`FeatureStatistics`. Each set needs more samples than dimensions
    (otherwise its covariance is singular): DataError says how many to use.
    """
    real_stats = _statistics(real, "real")
    fake_stats = _statistics(fake, "fake")
    if real_stats.dim != fake_stats.dim:
        raise DataError(
            f"real and fake features have different dimensions: {real_stats.dim} and "
            f"{fake_stats.dim}; both must come from the same feature extractor"
        )
    return frechet_distance(
        real_stats.mean, real_stats.covariance, fake_stats.mean, fake_stats.covariance, eps=eps
    )


# ------------------------------------------------------------------------------- KID


def _polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """k(x, y) = (xᵀy / d + 1)³ for all pairs of rows."""
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def kid(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance: unbiased MMD² with the kernel (xᵀy/d + 1)³.

    Averaged over ``subsets`` random subsets of ``min(subset_size, n_real,
    n_fake)`` points per set, drawn without replacement with
    ``np.random.default_rng(seed)`` (real first, then fake, for each subset).
    Returns (mean, std) over the subsets; std uses ddof=0, as torch-fidelity does.
    Unlike FID, the estimate is unbiased, so it can be slightly negative.
    """
    subsets = _int_argument(subsets, "subsets", 1)
    subset_size = _int_argument(subset_size, "subset_size", 2)
    real = _as_features(real_features, "real features")
    fake = _as_features(fake_features, "fake features")
    _same_dimension(real, fake, "real and fake features")
    m = min(subset_size, real.shape[0], fake.shape[0])
    if m < 2:
        raise DataError(
            f"KID needs at least 2 samples per set, got {real.shape[0]} real and "
            f"{fake.shape[0]} fake"
        )
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        x = real[rng.choice(real.shape[0], m, replace=False)]
        y = fake[rng.choice(fake.shape[0], m, replace=False)]
        k_xx = _polynomial_kernel(x, x)
        k_yy = _polynomial_kernel(y, y)
        k_xy = _polynomial_kernel(x, y)
        off_diagonal = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (
            m * (m - 1)
        )
        values[i] = off_diagonal - 2 * k_xy.mean()
    return float(values.mean()), float(values.std())


# ------------------------------------------------------------------- Inception Score


def inception_score(probabilities: np.ndarray, *, splits: int = 10) -> tuple[float, float]:
    """Inception Score of class probabilities p(y|x), shape (n, classes).

    Rows must be probability vectors (non-negative, summing to 1 within 1e-3).
    The rows are split into ``splits`` contiguous parts (``np.array_split``); each
    part scores exp(mean over its rows of KL(p(y|x) || p(y))), where p(y) is the
    part's mean row. Returns (mean, std) of the part scores (std with ddof=0).
    Zero probabilities are fine (0 log 0 = 0).
    """
    splits = _int_argument(splits, "splits", 1)
    try:
        p = np.asarray(probabilities, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(f"probabilities must be a numeric (n, classes) array: {error}") from None
    if p.ndim != 2 or p.shape[1] < 1:
        raise DataError(f"probabilities must have shape (n, classes), got {p.shape}")
    if not np.isfinite(p).all():
        raise DataError("probabilities hold NaN or infinite values")
    if (p < 0).any():
        raise DataError("probabilities hold negative values; pass softmax outputs, not logits")
    error = np.abs(p.sum(axis=1) - 1.0)
    if (error > 1e-3).any():
        row = int(np.argmax(error))
        raise DataError(
            f"probability rows must sum to 1 (within 1e-3); row {row} sums to "
            f"{p[row].sum():.6g}: pass softmax outputs, not logits"
        )
    if p.shape[0] < splits:
        raise DataError(f"{p.shape[0]} rows cannot be split into {splits} parts; use fewer splits")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (special.xlogy(part, part) - special.xlogy(part, marginal)).sum(axis=1)
        # The mean KL is a mutual information, so at least 0; rounding can leave it
        # a hair below (rows all alike), which would put the score under its floor of 1.
        scores.append(math.exp(max(kl.mean(), 0.0)))
    return float(np.mean(scores)), float(np.std(scores))


# ---------------------------------------------------------------- precision / recall


def _squared_distances(
    a: np.ndarray, a_norms: np.ndarray, b: np.ndarray, b_norms: np.ndarray
) -> np.ndarray:
    """Pairwise squared Euclidean distances between rows, clipped at 0."""
    d2 = a_norms[:, None] + b_norms[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0, out=d2)


def _knn_squared_radii(x: np.ndarray, norms: np.ndarray, k: int, batch_size: int) -> np.ndarray:
    """Squared distance of each row to its k-th nearest other row."""
    radii = np.empty(x.shape[0])
    for start in range(0, x.shape[0], batch_size):
        stop = start + batch_size
        d2 = _squared_distances(x[start:stop], norms[start:stop], x, norms)
        # Index 0 of the sorted row is the point itself (distance 0): index k is
        # the k-th nearest neighbour excluding it.
        radii[start:stop] = np.partition(d2, k, axis=1)[:, k]
    return radii


def _coverage(
    points: np.ndarray,
    centres: np.ndarray,
    centre_norms: np.ndarray,
    squared_radii: np.ndarray,
    batch_size: int,
) -> float:
    """Fraction of ``points`` inside at least one ball around ``centres``."""
    norms = np.einsum("ij,ij->i", points, points)
    inside = 0
    for start in range(0, points.shape[0], batch_size):
        stop = start + batch_size
        d2 = _squared_distances(points[start:stop], norms[start:stop], centres, centre_norms)
        inside += int(np.count_nonzero((d2 <= squared_radii[None, :]).any(axis=1)))
    return inside / points.shape[0]


def precision_recall(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    *,
    k: int = 3,
    batch_size: int = 1024,
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019); returns (precision, recall).

    Each point's radius is the distance to its k-th nearest neighbour in its own
    set (itself excluded). Precision is the fraction of fake points within the
    radius of at least one real point; recall is the fraction of real points
    within the radius of at least one fake point. Distances are computed in
    blocks of ``batch_size`` rows, so memory is O(batch_size × n).
    """
    k = _int_argument(k, "k", 1)
    batch_size = _int_argument(batch_size, "batch_size", 1)
    real = _as_features(real_features, "real features")
    fake = _as_features(fake_features, "fake features")
    _same_dimension(real, fake, "real and fake features")
    for name, array in (("real", real), ("fake", fake)):
        if array.shape[0] <= k:
            raise DataError(
                f"precision/recall with k={k} needs more than {k} {name} samples, "
                f"got {array.shape[0]}"
            )
    real_norms = np.einsum("ij,ij->i", real, real)
    fake_norms = np.einsum("ij,ij->i", fake, fake)
    real_radii = _knn_squared_radii(real, real_norms, k, batch_size)
    fake_radii = _knn_squared_radii(fake, fake_norms, k, batch_size)
    precision = _coverage(fake, real, real_norms, real_radii, batch_size)
    recall = _coverage(real, fake, fake_norms, fake_radii, batch_size)
    return precision, recall


# ------------------------------------------------------------------------------- NLL


def nll_summary(log_probs: np.ndarray, num_dimensions: int) -> dict[str, float | int]:
    """Summarise log p(x) in nats, one value per image.

    Returns ``nll_nats`` (mean of -log p), ``nll_nats_std_error`` (sample
    standard deviation, ddof=1, over sqrt(n); NaN for a single value),
    ``bits_per_dim`` (mean -log p / (num_dimensions · ln 2)) and ``count``.
    Any array shape is accepted and flattened; non-finite values raise DataError.
    """
    num_dimensions = _int_argument(num_dimensions, "num_dimensions", 1)
    try:
        values = np.asarray(log_probs, dtype=np.float64).ravel()
    except (TypeError, ValueError) as error:
        raise DataError(f"log_probs must be a numeric array: {error}") from None
    if values.size == 0:
        raise DataError("log_probs is empty")
    if np.isnan(values).any():
        raise DataError(
            f"log_probs holds {int(np.isnan(values).sum())} NaN values of {values.size}"
        )
    if not np.isfinite(values).all():
        raise DataError(
            "log_probs holds infinite values (-inf: the model gives an image zero "
            "probability); the mean NLL would be infinite"
        )
    nll = -values
    n = nll.size
    std_error = float(nll.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    mean = float(nll.mean())
    return {
        "nll_nats": mean,
        "nll_nats_std_error": std_error,
        "bits_per_dim": mean / (num_dimensions * math.log(2)),
        "count": int(n),
    }


# ------------------------------------------------------------------ image similarity


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


# ------------------------------------------------------------------------- the names


def check_metric_names(names: str | Iterable[str]) -> list[str]:
    """Validate metric names against :data:`METRICS`; returns them normalised.

    ``names`` is an iterable of names or one comma-separated string
    (``"fid,kid"``). Names are stripped and lower-cased; duplicates are dropped,
    keeping the first. An unknown name raises ConfigError with close matches.
    """
    if isinstance(names, str):
        items = [part for part in names.split(",") if part.strip()]
    else:
        items = list(names)
    result: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"metric names must be strings, got {item!r}")
        name = item.strip().lower()
        if name not in METRICS:
            close = difflib.get_close_matches(name, METRICS, n=3)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise ConfigError(
                f"unknown metric {item.strip()!r}; {hint}known metrics: {', '.join(METRICS)}"
            )
        if name not in result:
            result.append(name)
    if not result:
        raise ConfigError(f"no metric names given; known metrics: {', '.join(METRICS)}")
    return result
