"""Evaluate a model, or two image folders, with several metrics at once.

:func:`evaluate` samples a model, streams real and generated images through a
feature extractor in batches (with a Keras progress bar), and computes the
requested metrics from :mod:`genzoo_core.metrics`. The result records every
setting needed to reproduce the numbers: sample count, seed, the extractor and
its hash, KID subsets, IS splits, the k of precision/recall, and the real split.

:data:`METRICS` and :func:`check_metric_names` parse the metric option: a list of
names or one ``--metrics fid,kid`` string, checked against the names it knows.

Real-data features are cached in ``$GENZOO_HOME/stats/``, keyed by the hash of
(dataset, split, count, extractor, extractor hash): the real side of an
evaluation is computed once per dataset and extractor. Entries are written
atomically; a damaged one is computed again, and a read-only or full home is one
error naming the path and what to do.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genzoo_core import metrics as metric_math
from genzoo_core.errors import ConfigError, DataError, GenzooError
from genzoo_core.features import check_images, get_feature_extractor
from genzoo_core.spec import Capability, Condition
from genzoo_core.version import __version__

if TYPE_CHECKING:
    from genzoo_core.weights import WeightsHeader

STATS_VERSION = 1  # bump when the cached arrays change meaning
CHUNK = 1000  # images generated and extracted at a time: bounds memory

#: Metric names the CLI accepts: FID, KID, Inception Score, precision/recall, NLL.
METRICS: tuple[str, ...] = ("fid", "kid", "is", "pr", "nll")


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


def _progress(total: int, verbose: int, label: str) -> Any:
    if not verbose:
        return None
    import keras

    print(label)
    return keras.utils.Progbar(total, verbose=verbose)


def _extract(
    extractor: Any, batches: Iterable[np.ndarray], total: int, verbose: int, label: str
) -> tuple[np.ndarray, np.ndarray | None, tuple[int, ...]]:
    """Features, probabilities and the image shape of every batch, with a progress bar."""
    bar = _progress(total, verbose, label)
    features, probabilities, shape, done = [], [], None, 0
    for batch in batches:
        batch = check_images(batch, name=label)
        if shape is None:
            shape = tuple(batch.shape[1:])
        feats, probs = extractor.extract(batch)
        features.append(feats.astype(np.float32))
        if probs is not None:
            probabilities.append(probs)
        done += len(batch)
        if bar is not None:
            bar.update(done)
    return (
        np.concatenate(features),
        np.concatenate(probabilities) if probabilities else None,
        shape or (),
    )


def _cache_key(parts: dict[str, Any]) -> str:
    text = json.dumps({**parts, "stats_version": STATS_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def real_features(
    data: Any, extractor: Any, *, n: int, split: str, verbose: int = 1, registry: Any = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Features of the first ``n`` real images of ``data`` (a name, path or DataSource).

    Cached in ``$GENZOO_HOME/stats`` by (dataset, split, n, extractor, extractor hash).
    Returns the features and a description of the real set for the report.
    """
    from genzoo_core._files import atomic_path
    from genzoo_core.data import DataSource, load_data
    from genzoo_core.hub import cache_write_error, genzoo_home, remove_stale

    source = data if isinstance(data, DataSource) else load_data(str(data), split,
                                                                 registry=registry)
    count = min(n, len(source))
    described = {"dataset": source.name, "split": split, "count": count}
    key = _cache_key({**described, "extractor": extractor.name, "sha256": extractor.sha256})
    cache = genzoo_home() / "stats" / f"{key}.npz"
    # Only named datasets with pinned extractors are safe to cache: a path's content may change.
    cacheable = not isinstance(data, DataSource) and not Path(str(data)).exists()
    cacheable = cacheable and bool(extractor.sha256)
    if cacheable:
        cached = _load_cached(cache)
        if cached is not None:
            return cached, {**described, "cache": str(cache)}
        # Before the work: a read-only home fails now, not after minutes of extraction.
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cache_write_error(exc, cache, "real-data statistics", error=GenzooError) from exc
        remove_stale(cache.parent, cache.name, ".tmp")  # left by a process killed while saving
    images = source.images[:count]
    batches = (images[i : i + CHUNK].astype(np.float32) / 255.0 for i in range(0, count, CHUNK))
    features, _, _ = _extract(extractor, batches, count, verbose, f"real: {source.name}")
    if cacheable:
        try:
            with atomic_path(cache) as tmp, open(tmp, "wb") as f:
                np.savez(f, features=features)
        except OSError as exc:
            raise cache_write_error(exc, cache, "real-data statistics", error=GenzooError) from exc
    return features, described


def _load_cached(cache: Path) -> np.ndarray | None:
    """The features cached at ``cache``, or None when absent or unreadable.

    A damaged entry is removed and computed again rather than failing the evaluation.
    """
    if not cache.is_file():
        return None
    try:
        with np.load(cache) as f:
            return f["features"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        with contextlib.suppress(OSError):
            cache.unlink()
        return None


def _sample_batches(
    model: Any, n: int, seed: int, labels: np.ndarray | None
) -> Iterator[np.ndarray]:
    # One seed per chunk keeps the whole sequence reproducible from `seed`.
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=(n + CHUNK - 1) // CHUNK)
    for index, start in enumerate(range(0, n, CHUNK)):
        size = min(CHUNK, n - start)
        condition = None if labels is None else labels[start : start + size]
        yield model.sample(size, condition=condition, seed=int(seeds[index]))


def _score(
    names: list[str],
    real: np.ndarray,
    fake: np.ndarray,
    fake_probabilities: np.ndarray | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if "fid" in names:
        results["fid"] = metric_math.fid(real, fake)
    if "kid" in names:
        mean, std = metric_math.kid(
            real, fake, subsets=options["kid_subsets"], subset_size=options["kid_subset_size"],
            seed=options["seed"],
        )
        results["kid"], results["kid_std"] = mean, std
    if "is" in names:
        if fake_probabilities is None:
            raise ConfigError(f"the '{options['features']}' extractor has no classifier head: "
                              f"the Inception Score needs one")
        mean, std = metric_math.inception_score(fake_probabilities, splits=options["is_splits"])
        results["is"], results["is_std"] = mean, std
    if "pr" in names:
        results["precision"], results["recall"] = metric_math.precision_recall(
            real, fake, k=options["pr_k"]
        )
    return results


def evaluate(
    model: Any,
    data: Any = None,
    *,
    metrics: str | Iterable[str] = ("fid", "kid", "is", "pr"),
    n: int = 10000,
    features: str = "mnist-cnn",
    seed: int = 0,
    split: str = "test",
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    is_splits: int = 10,
    pr_k: int = 3,
    verbose: int = 1,
    registry: Any = None,
) -> dict[str, Any]:
    """Score a model against real data; return the metrics and every setting used.

    Args:
        model: a model, or a name such as ``"gan/mnist"`` or a weights path.
        data: the real data: a dataset name, a path or a DataSource (default: the
            dataset the weights were trained on, e.g. ``mnist``).
        metrics: any of ``fid``, ``kid``, ``is``, ``pr``, ``nll`` (list or "a,b").
        n: number of generated images (and at most as many real ones).
        features: the feature extractor (``mnist-cnn``, ``fashion-mnist-cnn``,
            ``inception-v3``, or one a plugin registers).
        seed: seed of the generated images and of KID's subsets.
        split: the real split to compare with (``test`` by default).
        kid_subsets: how many random subsets KID averages over.
        kid_subset_size: the size of each subset (capped at the sample counts).
        is_splits: the Inception Score's splits.
        pr_k: the k of precision/recall.
        verbose: 1 shows progress bars.
        registry: where names are looked up (default: installed plugins).

    Returns:
        ``{"metrics": {...}, "settings": {...}, "seconds": float}``. For a
        class-conditional model whose extractor classifies, ``metrics`` also holds
        ``label_accuracy``: how often the extractor assigns generated images the
        label they were generated for.
    """
    from genzoo_core.api import _load_resolved, _resolve_weights
    from genzoo_core.weights import read_header

    started = time.perf_counter()
    names = check_metric_names(metrics)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ConfigError(f"n must be an integer of at least 2, got {n!r}")
    source_name = model if isinstance(model, str) else None
    header = None
    if isinstance(model, str):
        # One read of the file's header serves both the load and the dataset it records.
        spec, path, header = _resolve_weights(model, registry=registry)
        header = header or read_header(path)
        model = _load_resolved(spec, path, header)
    weights_dataset = ""
    if data is None:
        weights_dataset = _trained_on(header)
        if not weights_dataset:
            raise ConfigError("say which real data to compare with: data='mnist' (--data)")
        data = weights_dataset
    extractor = get_feature_extractor(features, registry=registry)
    options = {"seed": seed, "kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size,
               "is_splits": is_splits, "pr_k": pr_k, "features": features}
    results: dict[str, Any] = {}
    settings: dict[str, Any] = {
        "model": source_name or model.spec.name,
        "config": model.config,
        "n": int(n),
        "seed": seed,
        "features": features,
        "features_sha256": extractor.sha256,
        "metrics": names,
        "genzoo_core": __version__,
    }
    if "kid" in names:
        settings.update(kid_subsets=kid_subsets, kid_subset_size=kid_subset_size)
    if "is" in names:
        settings["is_splits"] = is_splits
    if "pr" in names:
        settings["pr_k"] = pr_k

    image_metrics = [m for m in names if m != "nll"]
    if image_metrics:
        real, described = real_features(data, extractor, n=int(n), split=split,
                                        verbose=verbose, registry=registry)
        settings["real"] = described
        labels = None
        if model.spec.condition == Condition.CLASS_LABEL:
            classes = int(model.config.get("num_classes", extractor.num_classes))
            labels = np.arange(n) % classes
        elif model.spec.condition != Condition.UNCONDITIONAL:
            raise GenzooError(
                f"'{settings['model']}' is conditioned on {model.spec.condition.value}: "
                f"generate its outputs into a folder and use evaluate_folders (genzoo eval "
                f"--real DIR --fake DIR)"
            )
        fake, fake_probabilities, shape = _extract(
            extractor, _sample_batches(model, int(n), seed, labels), int(n), verbose, "generated"
        )
        results.update(_score(image_metrics, real, fake, fake_probabilities, options))
        if labels is not None and fake_probabilities is not None:
            results["label_accuracy"] = float(np.mean(fake_probabilities.argmax(1) == labels))
    if "nll" in names:
        results.update(_nll(model, data, n=int(n), split=split, registry=registry))
        settings.setdefault("real", {"dataset": str(data), "split": split})
    return {"metrics": results, "settings": settings,
            "seconds": round(time.perf_counter() - started, 2)}


def _trained_on(header: WeightsHeader | None) -> str:
    """The dataset name a weights file's header records (``"mnist:train"`` -> ``"mnist"``)."""
    if header is None:
        return ""
    dataset = header.metadata.get("dataset", "")
    return dataset.split(":", 1)[0].split(" ", 1)[0]


def _nll(model: Any, data: Any, *, n: int, split: str, registry: Any) -> dict[str, Any]:
    from genzoo_core.data import DataSource, load_data

    if Capability.LOG_PROB not in model.capabilities:
        raise ConfigError(
            f"'{model.spec.name}' has no log_prob, so it has no NLL: drop 'nll' from the metrics"
        )
    source = data if isinstance(data, DataSource) else load_data(str(data), split,
                                                                 registry=registry)
    images = source.images[:n].astype(np.float32) / 255.0
    log_probs = np.concatenate([
        np.asarray(model.log_prob(images[i : i + CHUNK]), dtype=np.float64)
        for i in range(0, len(images), CHUNK)
    ])
    summary = metric_math.nll_summary(log_probs, int(np.prod(images.shape[1:])))
    return {"nll_nats": summary["nll_nats"], "nll_nats_std_error": summary["nll_nats_std_error"],
            "bits_per_dim": summary["bits_per_dim"], "nll_count": summary["count"]}


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
    on its own, and the two alike). ``nll`` does not apply to folders.
    """
    from genzoo_core.data import load_image_folder

    started = time.perf_counter()
    names = check_metric_names(metrics)
    if "nll" in names:
        raise ConfigError("nll needs a model with log_prob; it does not apply to image folders")
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

    real, _, _ = _extract(extractor, batches(real_source), len(real_source), verbose, "real")
    fake, probabilities, _ = _extract(extractor, batches(fake_source), len(fake_source),
                                      verbose, "generated")
    options = {"seed": seed, "kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size,
               "is_splits": is_splits, "pr_k": pr_k, "features": features}
    settings = {"real": str(real_dir), "fake": str(fake_dir), "real_count": len(real_source),
                "fake_count": len(fake_source), "features": features,
                "features_sha256": extractor.sha256, "metrics": names, "seed": seed,
                "genzoo_core": __version__}
    return {"metrics": _score(names, real, fake, probabilities, options), "settings": settings,
            "seconds": round(time.perf_counter() - started, 2)}
