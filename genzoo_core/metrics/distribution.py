"""Distribution metrics: how close generated features are to real ones.

All computations run in float64 on arrays a feature extractor produced;
nothing here imports TensorFlow.

- :func:`frechet_distance` and :func:`fid`: Fréchet Inception Distance, with
  pytorch-fid's numerical conventions.
- :func:`kid`: Kernel Inception Distance (unbiased MMD², cubic polynomial kernel).
- :func:`inception_score`: Inception Score from class probabilities.
- :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al. 2019).
"""

from __future__ import annotations

import math
import numbers
import re
import warnings

import numpy as np
import scipy
from scipy import linalg, special

from genzoo_core.errors import ConfigError, DataError
from genzoo_core.metrics._checks import _as_features, _int_argument, _same_dimension
from genzoo_core.metrics.feature_statistics import FeatureStatistics

__all__ = ["fid", "frechet_distance", "inception_score", "kid", "precision_recall"]


# SciPy 1.16 deprecated sqrtm's ``disp`` argument (removed in 1.18); before that,
# pytorch-fid's ``disp=False`` is what keeps sqrtm from printing.
_version = re.match(r"(\d+)\.(\d+)", scipy.__version__)
_SQRTM_TAKES_DISP = _version is None or (int(_version[1]), int(_version[2])) < (1, 16)


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
