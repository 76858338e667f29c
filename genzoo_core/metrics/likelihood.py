"""Likelihood metrics: negative log-likelihood in nats and bits per dimension.

:func:`nll_summary` summarises the ``log_prob`` values a likelihood model gives
real images, in float64. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math

import numpy as np

from genzoo_core.errors import DataError
from genzoo_core.metrics._checks import _int_argument

__all__ = ["nll_summary"]


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
