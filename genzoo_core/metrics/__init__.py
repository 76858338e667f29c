"""Sample-quality and likelihood metrics: the mathematics, in numpy and scipy only.

Everything here works on arrays that something else produced (Inception features,
classifier probabilities, log-likelihoods); nothing imports TensorFlow. All
computations run in float64. One module per job, every name re-exported here:

- :mod:`~genzoo_core.metrics.feature_statistics`: :class:`FeatureStatistics`,
  streaming mean and covariance of feature batches, with bounded memory, saved
  to and loaded from ``.npz`` files.
- :mod:`~genzoo_core.metrics.distribution`: :func:`frechet_distance` and
  :func:`fid` (Fréchet Inception Distance, with pytorch-fid's numerical
  conventions), :func:`kid` (Kernel Inception Distance, unbiased MMD² with a
  cubic polynomial kernel), :func:`inception_score`, and
  :func:`precision_recall` (improved precision and recall, Kynkäänniemi et al. 2019).
- :mod:`~genzoo_core.metrics.paired`: :func:`ssim` and
  :func:`mean_absolute_error`, per-image similarity of a translation to its
  target (pix2pix, CycleGAN).
- :mod:`~genzoo_core.metrics.likelihood`: :func:`nll_summary`, negative
  log-likelihood in nats and bits per dimension.

``METRICS`` and ``check_metric_names``, the metric names the CLI accepts, live in
:mod:`genzoo_core.evaluation` and are still importable from here.
"""

from __future__ import annotations

from typing import Any

from genzoo_core.metrics.distribution import (
    fid,
    frechet_distance,
    inception_score,
    kid,
    precision_recall,
)
from genzoo_core.metrics.feature_statistics import FeatureStatistics
from genzoo_core.metrics.likelihood import nll_summary
from genzoo_core.metrics.paired import mean_absolute_error, ssim

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

# The metric names belong to option parsing in genzoo_core.evaluation, which imports
# this package: they are looked up on first access, so that importing the metrics
# never imports evaluation (nor its feature extractors).
_FROM_EVALUATION = ("METRICS", "check_metric_names")

def __getattr__(name: str) -> Any:
    """The metric-name helpers of :mod:`genzoo_core.evaluation`, imported on first use."""
    if name in _FROM_EVALUATION:
        from genzoo_core import evaluation

        value = getattr(evaluation, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
