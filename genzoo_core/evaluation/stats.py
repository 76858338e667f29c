"""Real-data features and their cache, and streaming images through an extractor.

Real-data features are cached in ``$GENZOO_HOME/stats/``, keyed by the hash of
(dataset, split, count, extractor, extractor hash): the real side of an
evaluation is computed once per dataset and extractor. Entries are written
atomically; a damaged one is computed again, and a read-only or full home is one
error naming the path and what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_core.errors import GenzooError
from genzoo_core.features import check_images

STATS_VERSION = 1  # bump when the cached arrays change meaning
CHUNK = 1000  # images generated and extracted at a time: bounds memory


def progress_bar(total: int, verbose: int, label: str) -> Any:
    """A Keras progress bar (with its time-left estimate) of ``total`` steps, or None.

    ``label`` is printed on its own line first; ``verbose`` 0 shows nothing.
    """
    if not verbose:
        return None
    import keras

    print(label)
    return keras.utils.Progbar(total, verbose=verbose)


def extract_all(
    extractor: Any, batches: Iterable[np.ndarray], total: int, verbose: int, label: str
) -> tuple[np.ndarray, np.ndarray | None, tuple[int, ...]]:
    """Features, probabilities and the image shape of every batch, with a progress bar."""
    bar = progress_bar(total, verbose, label)
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
    features, _, _ = extract_all(extractor, batches, count, verbose, f"real: {source.name}")
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


