"""The scorers of the metrics genzoo-core registers (``genzoo_core._builtin``).

Each takes an :class:`~genzoo_core.evaluation.EvaluationContext` and returns
``{name: float}``, one entry (or a mean and ``_std``) per image set: no suffix for
samples, paired translations and text, ``_ab`` and ``_ba`` for the two directions
of unpaired translation. The mathematics is :mod:`genzoo_core.metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genzoo_core import metrics as metric_math
from genzoo_core.errors import ConfigError
from genzoo_core.evaluation.context import EvaluationContext, fit_to
from genzoo_core.evaluation.stats import progress_bar
from genzoo_core.spec import Capability

NLL_CHUNK = 100  # images per log_prob call: the progress bar moves every few seconds

__all__ = [
    "attribute_accuracy",
    "cycle_l1",
    "domain_accuracy",
    "fid",
    "inception_score",
    "kid",
    "l1",
    "label_accuracy",
    "nll",
    "precision_recall",
    "sharpness",
    "ssim",
]


def fid(context: EvaluationContext) -> dict[str, float]:
    """Fréchet distance of the made images' features to the real ones'."""
    return {f"fid{s.suffix}": metric_math.fid(s.real_features,
                                              context.generated_features(s)[0])
            for s in context.image_sets()}


def kid(context: EvaluationContext) -> dict[str, float]:
    """Kernel Inception Distance (mean and std over random subsets)."""
    options = context.options
    context.settings.update(kid_subsets=options["kid_subsets"],
                            kid_subset_size=options["kid_subset_size"])
    results = {}
    for s in context.image_sets():
        mean, std = metric_math.kid(
            s.real_features, context.generated_features(s)[0],
            subsets=options["kid_subsets"], subset_size=options["kid_subset_size"],
            seed=context.seed,
        )
        results[f"kid{s.suffix}"], results[f"kid{s.suffix}_std"] = mean, std
    return results


def inception_score(context: EvaluationContext) -> dict[str, float]:
    """Inception Score of the made images, from the extractor's class probabilities."""
    context.settings["is_splits"] = context.options["is_splits"]
    results = {}
    for s in context.image_sets():
        probabilities = context.generated_features(s)[1]
        if probabilities is None:
            raise ConfigError(f"the '{context.features_name}' extractor has no classifier "
                              f"head: the Inception Score needs one")
        mean, std = metric_math.inception_score(probabilities,
                                                splits=context.options["is_splits"])
        results[f"is{s.suffix}"], results[f"is{s.suffix}_std"] = mean, std
    return results


def precision_recall(context: EvaluationContext) -> dict[str, float]:
    """Improved precision and recall (k nearest neighbours in feature space)."""
    context.settings["pr_k"] = context.options["pr_k"]
    results = {}
    for s in context.image_sets():
        precision, recall = metric_math.precision_recall(
            s.real_features, context.generated_features(s)[0], k=context.options["pr_k"])
        results[f"precision{s.suffix}"], results[f"recall{s.suffix}"] = precision, recall
    return results


def label_accuracy(context: EvaluationContext) -> dict[str, float]:
    """How often the dataset's ``labels`` classifier gives a sample its drawn label."""
    context.settings["classifiers"] = {**context.settings.get("classifiers", {}),
                                       "labels": context.classifier_name("labels")}
    results = {}
    for s in context.image_sets():
        if s.labels is None:
            raise ConfigError("label_accuracy scores class-conditional samples only")
        predicted = context.classified(s, "labels").argmax(axis=1)
        results[f"label_accuracy{s.suffix}"] = float(np.mean(predicted == s.labels))
    return results


def domain_accuracy(context: EvaluationContext) -> dict[str, float]:
    """The share of translated images the ``domain`` classifier assigns to the target domain.

    The classifier says 0 for domain A and 1 for domain B; ``domain_accuracy_ab``
    is the share of A-to-B translations it calls B, ``_ba`` the reverse. Its
    baseline, ``domain_baseline_ab`` (``_ba``), is the share of the same photos,
    untranslated, that it calls the target domain: what a translator that
    changed nothing would score, the classifier's error on the source domain.
    """
    context.settings["classifiers"] = {**context.settings.get("classifiers", {}),
                                       "domain": context.classifier_name("domain")}
    classifier = context.classifier("domain")
    results = {}
    for s in context.image_sets():
        if s.target_domain is None:
            raise ConfigError("domain_accuracy scores unpaired translations only")
        predicted = context.classified(s, "domain").argmax(axis=1)
        results[f"domain_accuracy{s.suffix}"] = float(np.mean(predicted == s.target_domain))
        if s.inputs is not None:
            _, probabilities = classifier.extract(fit_to(np.asarray(s.inputs, np.float32),
                                                         classifier))
            untranslated = np.asarray(probabilities).argmax(axis=1)
            results[f"domain_baseline{s.suffix}"] = float(
                np.mean(untranslated == s.target_domain))
    return results


def attribute_accuracy(context: EvaluationContext) -> dict[str, float]:
    """How often images show what their captions state, by the ``attributes`` classifier.

    The classifier (a registered extractor) has ``attribute_accuracy(images,
    reference) -> {attribute: accuracy}``, where image ``i`` was drawn for a
    caption of ``reference`` item ``i``; each becomes ``attribute_accuracy_NAME``.
    """
    classifier = context.classifier("attributes")
    if not callable(getattr(classifier, "attribute_accuracy", None)):
        raise ConfigError(f"the '{context.classifier_name('attributes')}' extractor has no "
                          f"attribute_accuracy(images, reference) method")
    context.settings["classifiers"] = {**context.settings.get("classifiers", {}),
                                       "attributes": context.classifier_name("attributes")}
    results = {}
    for s in context.image_sets():
        scores = classifier.attribute_accuracy(fit_to(s.generated, classifier), s.reference)
        for name, value in scores.items():
            results[f"attribute_accuracy_{name}{s.suffix}"] = float(value)
    return results


def _paired_sets(context: EvaluationContext, metric: str) -> list[Any]:
    sets = [s for s in context.image_sets() if s.targets is not None]
    if not sets:
        raise ConfigError(f"{metric} compares translations with aligned targets: it scores "
                          f"paired image-to-image models")
    return sets


def l1(context: EvaluationContext) -> dict[str, float]:
    """Mean absolute difference of each translation to its target, pixels in [0, 1]."""
    return {f"l1{s.suffix}": float(metric_math.mean_absolute_error(s.generated,
                                                                  s.targets).mean())
            for s in _paired_sets(context, "l1")}


def ssim(context: EvaluationContext) -> dict[str, float]:
    """Mean structural similarity of each translation to its target."""
    return {f"ssim{s.suffix}": float(metric_math.ssim(s.generated, s.targets).mean())
            for s in _paired_sets(context, "ssim")}


def _sharpness(images: np.ndarray) -> float:
    dx = np.abs(np.diff(images, axis=2)).mean()
    dy = np.abs(np.diff(images, axis=1)).mean()
    return float((dx + dy) / 2)


def sharpness(context: EvaluationContext) -> dict[str, float]:
    """Mean absolute difference of neighbouring pixels (blur lowers it), and the targets'."""
    results = {}
    for s in context.image_sets():
        results[f"sharpness{s.suffix}"] = _sharpness(s.generated)
        results[f"sharpness_real{s.suffix}"] = _sharpness(s.real)
    return results


def cycle_l1(context: EvaluationContext) -> dict[str, float]:
    """Mean |x - G_back(G_there(x))| of the held-out inputs, pixels in [0, 1]."""
    results = {}
    back = {"_ab": "BtoA", "_ba": "AtoB"}
    for s in context.image_sets():
        if s.suffix not in back:
            raise ConfigError("cycle_l1 scores unpaired translation in both directions")
        restored = np.concatenate([
            np.asarray(context.model.translate(s.generated[i : i + 50], direction=back[s.suffix]),
                       np.float32)
            for i in range(0, len(s.generated), 50)
        ])
        results[f"cycle_l1{s.suffix}"] = float(np.abs(s.inputs - restored).mean())
    return results


def nll(context: EvaluationContext) -> dict[str, float]:
    """Negative log-likelihood of the first ``n`` held-out images: nats and bits per dim."""
    model = context.model
    if Capability.LOG_PROB not in model.capabilities:
        raise ConfigError(
            f"'{model.spec.name}' has no log_prob, so it has no NLL: drop 'nll' from the metrics"
        )
    source = context.real()
    count = min(context.options["nll_n"], len(source))
    images = source.images[:count].astype(np.float32) / 255.0
    bar = progress_bar(count, context.verbose, f"log p(x): {count} images of "
                       f"{getattr(source, 'name', context.data)}")
    log_probs = []
    for start in range(0, count, NLL_CHUNK):
        log_probs.append(np.asarray(model.log_prob(images[start : start + NLL_CHUNK]),
                                    dtype=np.float64))
        if bar is not None:
            bar.update(min(start + NLL_CHUNK, count))
    summary = metric_math.nll_summary(np.concatenate(log_probs), int(np.prod(images.shape[1:])))
    context.settings["nll"] = {"dataset": getattr(source, "name", str(context.data)),
                               "split": context.split, "count": count, "of": len(source)}
    return {"nll_nats": summary["nll_nats"], "nll_nats_std_error": summary["nll_nats_std_error"],
            "bits_per_dim": summary["bits_per_dim"], "nll_count": summary["count"]}
