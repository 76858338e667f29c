"""Evaluate a model, or two image folders, with the metrics that fit it.

Metrics are registered by name (:class:`~genzoo_core.plugin.MetricSpec`, through
the ``genzoo_register_metrics`` hook; genzoo-core registers its own through the
same hook). Each says which models it scores, by their data condition and
capabilities, and which of the dataset's scoring classifiers it needs
(``DatasetSpec.classifiers``); :func:`default_metrics` is the suite a model gets
when none are named. A metric's scorer is handed an :class:`EvaluationContext`:
the model, the real data, and the images the model made for the held-out data,
computed once and shared by every metric.

:func:`evaluate` samples (or translates, or draws for captions), streams the real
and made images through the dataset's feature extractor in batches (with a Keras
progress bar and its time-left estimate), and records every setting needed to
reproduce the numbers, with notes on what they cannot be compared with (FIDs in
``inception-v3`` features and published ones, :data:`INCEPTION_NOTE`). Real-data
features are cached in ``$GENZOO_HOME/stats/`` (:func:`real_features`).
"""

from __future__ import annotations

from genzoo_core.evaluation.context import EvaluationContext, ImageSet
from genzoo_core.evaluation.run import (
    DEFAULT_FEATURES,
    DEFAULT_SAMPLES,
    INCEPTION_NOTE,
    METRICS,
    NLL_COUNT,
    check_metric_names,
    comparability_notes,
    default_metrics,
    evaluate,
    evaluate_folders,
)
from genzoo_core.evaluation.stats import CHUNK, STATS_VERSION, progress_bar, real_features

__all__ = [
    "CHUNK",
    "DEFAULT_FEATURES",
    "DEFAULT_SAMPLES",
    "INCEPTION_NOTE",
    "METRICS",
    "NLL_COUNT",
    "STATS_VERSION",
    "EvaluationContext",
    "ImageSet",
    "check_metric_names",
    "comparability_notes",
    "default_metrics",
    "evaluate",
    "evaluate_folders",
    "progress_bar",
    "real_features",
]
