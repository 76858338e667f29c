"""``evaluate`` and ``evaluate_folders``: the defaults, the checks and the report."""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genzoo_core import metrics as metric_math
from genzoo_core.errors import ConfigError, DataError, UnknownNameError
from genzoo_core.evaluation.context import EvaluationContext
from genzoo_core.evaluation.stats import CHUNK, extract_all
from genzoo_core.features import get_feature_extractor
from genzoo_core.spec import Condition
from genzoo_core.version import __version__

if TYPE_CHECKING:
    from genzoo_core.weights import WeightsHeader

#: The metrics genzoo-core registers; plugins add theirs (``genzoo_register_metrics``).
METRICS: tuple[str, ...] = ("fid", "kid", "is", "pr", "nll", "label_accuracy", "l1", "ssim",
                            "sharpness", "cycle_l1", "domain_accuracy", "attribute_accuracy")

DEFAULT_SAMPLES = 10000
"""Samples drawn by default from an unconditional or class-conditional model."""
NLL_COUNT = 500
"""Held-out images whose likelihood is scored by default; ``full=True`` scores them all."""
DEFAULT_FEATURES = "inception-v3"
"""The extractor of data whose dataset names none (``DatasetSpec.features``)."""
INCEPTION_NOTE = (
    "inception-v3 is Keras' ImageNet InceptionV3, not the Inception network of the standard "
    "FID tools (pytorch-fid, TF-GAN): these FID, KID and IS values cannot be compared with "
    "published ones, only with others computed with inception-v3"
)
"""The note of every report whose feature-based metrics used ``inception-v3``."""
_FEATURE_METRICS = ("fid", "kid", "is", "pr")
"""The metrics computed in an extractor's features (the ones two image folders allow)."""
_SAMPLED = (Condition.UNCONDITIONAL, Condition.CLASS_LABEL)


def check_metric_names(names: str | Iterable[str], known: Iterable[str] = METRICS) -> list[str]:
    """Validate metric names against ``known`` (default :data:`METRICS`); return them normalised.

    ``names`` is an iterable of names or one comma-separated string
    (``"fid,kid"``). Names are stripped and lower-cased; duplicates are dropped,
    keeping the first. An unknown name raises ConfigError with close matches.
    """
    known = tuple(known)
    if isinstance(names, str):
        items = [part for part in names.split(",") if part.strip()]
    else:
        items = list(names)
    result: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"metric names must be strings, got {item!r}")
        name = item.strip().lower()
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise ConfigError(
                f"unknown metric {item.strip()!r}; {hint}known metrics: {', '.join(known)}"
            )
        if name not in result:
            result.append(name)
    if not result:
        raise ConfigError(f"no metric names given; known metrics: {', '.join(known)}")
    return result


def default_metrics(
    model: Any, dataset: Any = None, *, registry: Any = None,
    classifiers: Mapping[str, str] | None = None,
) -> list[str]:
    """The metrics ``genzoo eval`` computes for ``model`` on ``dataset`` when none are named.

    Every registered metric whose ``default`` is set, that applies to the model's
    condition and capabilities, and whose classifiers the dataset (a
    :class:`~genzoo_core.plugin.DatasetSpec`, or ``None``) names; ``classifiers``
    overrides the dataset's. ``is`` needs a features extractor with classes.
    """
    spec = getattr(model, "spec", model)
    if classifiers is None:
        classifiers = dict(dataset.classifiers) if dataset is not None else {}
    return [
        m.name for m in _registry(registry).metrics.values()
        if m.default and m.applies_to(spec.condition, spec.capabilities)
        and all(purpose in classifiers for purpose in m.classifiers)
    ]


def _registry(registry: Any) -> Any:
    if registry is None:
        from genzoo_core.registry import default_registry

        return default_registry()
    return registry


def _trained_on(header: WeightsHeader | None) -> str:
    """The dataset name a weights file's header records (``"mnist:train"`` -> ``"mnist"``)."""
    if header is None:
        return ""
    dataset = header.metadata.get("dataset", "")
    return dataset.split(":", 1)[0].split(" ", 1)[0]


def _dataset_spec(data: Any, registry: Any) -> Any:
    if not isinstance(data, str) or Path(data).exists():
        return None
    try:
        return registry.get_dataset(data)
    except UnknownNameError:
        return None


def _check_count(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
        raise ConfigError(f"{name} must be an integer of at least 2, got {value!r}")
    return int(value)


def evaluate(
    model: Any,
    data: Any = None,
    *,
    metrics: str | Iterable[str] | None = None,
    n: int | None = None,
    split: str = "test",
    seed: int = 0,
    features: str | None = None,
    full: bool = False,
    nll_n: int | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    is_splits: int = 10,
    pr_k: int = 3,
    verbose: int = 1,
    registry: Any = None,
    sample_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Score a model against held-out real data; return the metrics and every setting used.

    The defaults come from the model's data condition and capabilities and from
    the dataset's spec, so ``evaluate("NAME")`` does the right thing for every
    model: samples are scored with FID, KID, IS and precision/recall (and label
    accuracy for class-conditional models); likelihood models also with NLL;
    paired translation with L1, SSIM, sharpness and FID/KID of the translations
    against the real targets; unpaired translation with FID/KID per direction,
    cycle L1 and the share a domain classifier puts in the target domain; text
    with FID/KID/precision/recall and attribute accuracy. The keyword names are
    stable: a recipe's ``[evaluate]`` table passes its keys here.

    Args:
        model: a model, or a name such as ``"gan/mnist"`` or a weights path.
        data: the real data: a dataset name, a path or a data source (default: the
            dataset the weights were trained on, e.g. ``mnist``).
        metrics: registered metric names (list or ``"a,b"``); default
            :func:`default_metrics` (see ``genzoo metrics``).
        n: how many samples, or held-out items, the metrics use. Default: 10,000
            samples of an unconditional or class-conditional model; every held-out
            item for translation and text; the first 500 held-out images for NLL.
        split: the held-out split (``test``; maps, with no test split, reads ``val``).
        seed: seed of the generated images and of KID's subsets.
        features: the feature extractor of FID, KID, IS and precision/recall
            (default: the dataset's ``features``, else ``inception-v3``).
        full: the full protocol: NLL on every held-out image (it can take hours).
        nll_n: how many held-out images the NLL uses, when it should differ from
            ``n`` (a diffusion model scores 2,000 samples but bounds the
            likelihood of 500 images, each costing a network pass per term).
        kid_subsets: how many random subsets KID averages over.
        kid_subset_size: the size of each subset (capped at the sample counts).
        is_splits: the Inception Score's splits.
        pr_k: the k of precision/recall.
        verbose: 1 shows progress bars with the time left, and notes on the protocol.
        registry: where names are looked up (default: installed plugins).
        sample_options: the sampling options every ``model.sample`` call of the
            evaluation gets (an iterative sampler's ``steps``, say); only those
            the model declares (``ModelSpec.sample_options``), checked before any
            work. Recorded in the settings; a recipe gives them as
            ``sample_options = {steps = 50}`` in its ``[evaluate]`` table.
        **options: options of plugin metrics, handed to their scorers
            (``context.options``) and recorded in the settings.

    Returns:
        ``{"metrics": {name: float}, "settings": {...}, "seconds": float, "notes":
        [str]}``: the settings hold everything needed to reproduce the numbers; the
        notes say what they cannot be compared with (:func:`comparability_notes`).
    """
    from genzoo_core.api import _load_resolved, _resolve_weights
    from genzoo_core.backend import require_tensorflow
    from genzoo_core.weights import read_header

    require_tensorflow("evaluation")  # the feature extractors run on TensorFlow
    started = time.perf_counter()
    registry = _registry(registry)
    n = _check_count("n", n)
    if not isinstance(full, bool):
        raise ConfigError(f"full must be True or False, got {full!r}")
    source_name = model if isinstance(model, str) else None
    header = None
    if isinstance(model, str):
        # One read of the file's header serves both the load and the dataset it records.
        spec, path, header = _resolve_weights(model, registry=registry)
        header = header or read_header(path)
        spec.check_sample_options(_options_table(sample_options))  # before the model loads
        model = _load_resolved(spec, path, header)
    sample_options = model.spec.check_sample_options(_options_table(sample_options))
    if data is None:
        data = _trained_on(header)
        if not data:
            raise ConfigError("say which real data to compare with: data='mnist' (--data)")
    dataset = _dataset_spec(data, registry)
    compare_with = data
    if dataset is not None and dataset.compare_with:
        compare_with = dataset.compare_with
    compared = _dataset_spec(compare_with, registry) if compare_with is not data else dataset
    features = features or (dataset.features if dataset is not None else "") or (
        compared.features if compared is not None else "") or DEFAULT_FEATURES
    extractor_spec = registry.get_feature_extractor(features)
    classifiers = dict(dataset.classifiers) if dataset is not None else {}
    condition = model.spec.condition
    if ("labels" not in classifiers and condition == Condition.CLASS_LABEL
            and extractor_spec.num_classes):
        classifiers["labels"] = features  # the extractor classifies: it scores labels too

    if metrics is None:
        names = default_metrics(model, registry=registry, classifiers=classifiers)
        if not extractor_spec.num_classes:
            names = [name for name in names if name != "is"]  # IS needs class probabilities
    else:
        names = check_metric_names(metrics, registry.metrics)
        if (condition == Condition.CLASS_LABEL and "labels" in classifiers
                and "label_accuracy" not in names
                and set(names) & set(_FEATURE_METRICS)):
            names.append("label_accuracy")  # as ever: samples drawn for a label are scored
    names = list(dict.fromkeys(names))
    specs = [registry.get_metric(name) for name in names]
    for metric in specs:
        _check_applies(metric, model, source_name)

    if n is None:
        count = DEFAULT_SAMPLES if condition in _SAMPLED else 10**9
    else:
        count = n
    nll_n = _check_count("nll_n", nll_n)
    nll_count = 10**9 if full else (nll_n or n or NLL_COUNT)
    options = {**options, "seed": seed, "kid_subsets": kid_subsets,
               "kid_subset_size": kid_subset_size, "is_splits": is_splits, "pr_k": pr_k,
               "nll_n": nll_count}
    settings: dict[str, Any] = {
        "model": source_name or model.spec.name,
        "config": model.config,
        "n": count if condition in _SAMPLED else n,
        "seed": seed,
        "split": split,
        "full": full,
        "features": features,
        "features_sha256": extractor_spec.sha256,
        "metrics": names,
        **({"sample_options": dict(sample_options)} if sample_options else {}),
        "genzoo_core": __version__,
        **{k: v for k, v in options.items()
           if k not in ("seed", "kid_subsets", "kid_subset_size", "is_splits", "pr_k", "nll_n")},
    }
    needs = tuple(dict.fromkeys(p for m in specs for p in m.classifiers))
    context = EvaluationContext(
        model, data, dataset=dataset, split=split, n=count, seed=seed, features=features,
        classifiers=classifiers, options=options, settings=settings, verbose=verbose,
        registry=registry, compare_with=compare_with, needs=needs,
        sample_options=sample_options,
    )
    if "nll" in names and verbose:
        _note_nll(context, full, n)
    results: dict[str, Any] = {}
    for metric in specs:
        results.update(metric.load()(context))
    if condition not in _SAMPLED:
        settings["n"] = settings.get("real", {}).get("count", n)
    settings.setdefault("real", {"dataset": str(data), "split": split})
    return {"metrics": results, "settings": settings,
            "seconds": round(time.perf_counter() - started, 2),
            "notes": comparability_notes(features, names)}


def comparability_notes(features: str, metrics: Iterable[str]) -> list[str]:
    """What the numbers of an evaluation cannot be compared with (the report's ``notes``).

    ``inception-v3`` features give FIDs on the scale of no published table: it is
    Keras' ImageNet InceptionV3, not the network the standard FID tools use.
    """
    if features == DEFAULT_FEATURES and set(metrics) & set(_FEATURE_METRICS):
        return [INCEPTION_NOTE]
    return []


def _options_table(sample_options: Any) -> dict[str, Any]:
    """``sample_options`` as a dict, or a ConfigError saying it must be a table."""
    if sample_options is None:
        return {}
    if not isinstance(sample_options, Mapping):
        raise ConfigError(f"sample_options must be a table of option = value (e.g. "
                          f"{{steps = 50}}), got {sample_options!r}")
    return dict(sample_options)


def _check_applies(metric: Any, model: Any, name: str | None) -> None:
    spec = model.spec
    label = name or spec.name
    missing = [c.value for c in metric.capabilities if c not in model.capabilities]
    if missing:
        raise ConfigError(f"'{label}' has no {', '.join(missing)}, so it has no {metric.name}: "
                          f"drop '{metric.name}' from the metrics")
    if metric.conditions and spec.condition not in metric.conditions:
        allowed = ", ".join(c.value for c in metric.conditions)
        raise ConfigError(f"{metric.name} scores models of {allowed} data; '{label}' is "
                          f"conditioned on {spec.condition.value}: drop it from the metrics")


def _note_nll(context: EvaluationContext, full: bool, n: int | None) -> None:
    total = len(context.real())
    count = min(context.options["nll_n"], total)
    if count < total:
        print(f"NLL on the first {count} of the {total} {context.split} images "
              f"(the full protocol: --full, or full=True)")


def evaluate_folders(
    real_dir: str | Path,
    fake_dir: str | Path,
    *,
    metrics: str | Iterable[str] = ("fid", "kid", "pr"),
    features: str = "inception-v3",
    seed: int = 0,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    is_splits: int = 10,
    pr_k: int = 3,
    verbose: int = 1,
    registry: Any = None,
) -> dict[str, Any]:
    """Score the images of ``fake_dir`` against those of ``real_dir``.

    Both folders must hold images of one size and channel count (each folder
    on its own, and the two alike). The metrics are ``fid``, ``kid``, ``is`` and
    ``pr``: the others need a model. The report is :func:`evaluate`'s, ``notes``
    included.
    """
    from genzoo_core.backend import require_tensorflow
    from genzoo_core.data import load_image_folder

    require_tensorflow("evaluation")  # the feature extractors run on TensorFlow
    started = time.perf_counter()
    names = check_metric_names(metrics)
    others = [name for name in names if name not in _FEATURE_METRICS]
    if others:
        raise ConfigError(f"{', '.join(others)} need a model (nll needs one with log_prob); "
                          f"folders are scored with fid, kid, is and pr")
    real_source, fake_source = load_image_folder(real_dir), load_image_folder(fake_dir)
    if real_source.image_shape != fake_source.image_shape:
        raise DataError(
            f"{real_dir} holds {real_source.image_shape} images but {fake_dir} holds "
            f"{fake_source.image_shape}: compare images of the same size and channels"
        )
    extractor = get_feature_extractor(features, registry=registry)

    def batches(source: Any) -> Iterator[np.ndarray]:
        for i in range(0, len(source), CHUNK):
            yield source.images[i : i + CHUNK].astype(np.float32) / 255.0

    real, _, _ = extract_all(extractor, batches(real_source), len(real_source), verbose, "real")
    fake, probabilities, _ = extract_all(extractor, batches(fake_source), len(fake_source),
                                         verbose, "generated")
    results: dict[str, Any] = {}
    if "fid" in names:
        results["fid"] = metric_math.fid(real, fake)
    if "kid" in names:
        results["kid"], results["kid_std"] = metric_math.kid(
            real, fake, subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
    if "is" in names:
        if probabilities is None:
            raise ConfigError(f"the '{features}' extractor has no classifier head: the "
                              f"Inception Score needs one")
        results["is"], results["is_std"] = metric_math.inception_score(probabilities,
                                                                       splits=is_splits)
    if "pr" in names:
        results["precision"], results["recall"] = metric_math.precision_recall(real, fake,
                                                                               k=pr_k)
    settings = {"real": str(real_dir), "fake": str(fake_dir), "real_count": len(real_source),
                "fake_count": len(fake_source), "features": features,
                "features_sha256": extractor.sha256, "metrics": names, "seed": seed,
                "genzoo_core": __version__}
    return {"metrics": results, "settings": settings,
            "seconds": round(time.perf_counter() - started, 2),
            "notes": comparability_notes(features, names)}
