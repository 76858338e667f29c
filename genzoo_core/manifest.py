"""The weights manifest: what ``genzoo publish`` recorded of each packaged weight.

A plugin's packaged weights live in ``<package>/weights/``, next to a
``manifest.json`` that ``genzoo publish`` writes: one entry per weight with its
file, sha256, size, storage precision, dataset, recipe and measured metrics.
The plugin's spec reads it instead of carrying those values in Python source::

    from genzoo_core.plugin import ModelSpec, published_weights

    SPEC = ModelSpec(name="gan", ..., weights=published_weights(__package__, "gan"))

Reading the manifest imports nothing heavy (JSON only), so ``genzoo list``
stays fast. A damaged manifest is a :class:`~genzoo_core.PluginError` naming the
file: the plugin fails to load with one line, instead of offering wrong weights.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genzoo_core.errors import PluginError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
ENTRY_KEYS = ("model", "name", "file", "url", "sha256", "size", "dataset", "description",
              "precision", "recipe", "metrics", "evaluation", "published", "train_seconds",
              "epochs", "float16_deviation", "scored")
"""The keys of one manifest entry (``model``, ``name``, ``file``, ``sha256`` required)."""


def package_dir(package: str) -> Path:
    """The folder of an importable package (where its ``weights/`` and ``recipes/`` are)."""
    module = sys.modules.get(package)
    locations = list(getattr(module, "__path__", []) or [])
    if not locations:
        import importlib.util

        try:
            found = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            found = None
        locations = list(found.submodule_search_locations or []) if found else []
    if not locations:
        raise PluginError(f"'{package}' is not an importable package: pass the package that "
                          f"holds weights/ (in plugin.py: __package__)")
    return Path(locations[0])


def manifest_path(folder: str | Path) -> Path:
    """The manifest of a package folder: ``<folder>/weights/manifest.json``."""
    return Path(folder) / "weights" / MANIFEST_NAME


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """The entries of a manifest file, checked; ``[]`` when the file does not exist.

    Raises:
        PluginError: the file is not a manifest this core reads (names the file).
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PluginError(f"weights manifest {path} cannot be read ({exc}): restore it from "
                          f"the plugin's release or publish the weights again") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("weights"), list):
        raise PluginError(f"weights manifest {path} has no 'weights' list: restore it from "
                          f"the plugin's release or publish the weights again")
    version = data.get("manifest_format")
    if version != MANIFEST_FORMAT:
        raise PluginError(f"weights manifest {path} is format {version!r}; this genzoo-core "
                          f"reads format {MANIFEST_FORMAT}: pip install -U genzoo-core")
    entries = []
    for entry in data["weights"]:
        if not isinstance(entry, Mapping) or not all(
            isinstance(entry.get(key), str) for key in ("model", "name", "file", "sha256")
        ):
            raise PluginError(f"weights manifest {path}: every entry needs model, name, file "
                              f"and sha256 strings, got {str(entry)[:120]}")
        entries.append(dict(entry))
    return entries


def write_manifest(path: str | Path, entries: list[Mapping[str, Any]]) -> None:
    """Write a manifest atomically (a killed write leaves the old one)."""
    from genzoo_core._files import atomic_path

    data = {"manifest_format": MANIFEST_FORMAT, "weights": [dict(e) for e in entries]}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2, sort_keys=False) + "\n",
                             encoding="utf-8")


def record(path: str | Path, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Add or replace (same model and name) one entry of a manifest; return all entries.

    Two publishes into one plugin at the same time both land: the read and the
    write happen under a lock.
    """
    from genzoo_core._files import exclusive

    with exclusive(path):
        entries = read_manifest(path)
        key = (entry["model"], entry["name"])
        for index, old in enumerate(entries):
            if (old["model"], old["name"]) == key:
                entries[index] = dict(entry)
                break
        else:
            entries.append(dict(entry))
        write_manifest(path, entries)
    return entries


def numeric_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numbers among ``metrics`` (what a WeightsSpec lists)."""
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def published_weights(package: str | None, model: str) -> tuple[Any, ...]:
    """The :class:`~genzoo_core.WeightsSpec` entries of ``model`` in ``package``'s manifest.

    In the order the manifest lists them (the first is the model's default).
    Empty when the package has no manifest yet.
    """
    from genzoo_core.spec import WeightsSpec

    if not package:  # a module outside any package (run as a script) has no weights folder
        return ()
    path = manifest_path(package_dir(package))
    specs = []
    for entry in read_manifest(path):
        if entry["model"] != model:
            continue
        file = entry["file"]
        url = entry.get("url")
        specs.append(WeightsSpec(
            name=entry["name"], sha256=entry["sha256"],
            file=None if url else (file if file.startswith("weights/") else f"weights/{file}"),
            url=url or None,
            size=entry.get("size"), dataset=str(entry.get("dataset", "")),
            description=str(entry.get("description", "")),
            metrics=numeric_metrics(entry.get("metrics") or {}),
        ))
    return tuple(specs)


__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "manifest_path",
    "numeric_metrics",
    "package_dir",
    "published_weights",
    "read_manifest",
    "record",
    "write_manifest",
]
