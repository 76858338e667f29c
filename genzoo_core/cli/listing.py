"""The commands that read specs only and never import TensorFlow.

``genzoo list``, ``info``, ``plugins``, ``datasets`` and ``features``; each listing
takes ``--json`` for one JSON document on stdout with the keys docs/cli.md lists.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from genzoo_core.cli.common import _table
from genzoo_core.dataset_specs import DatasetSpec
from genzoo_core.registry import Registry
from genzoo_core.version import API_VERSION, __version__


def _problems_note(registry: Registry) -> str:
    failed = [p for p in registry.plugins if p.status != "ok"]
    notes = []
    if failed:
        names = ", ".join(f"{p.name} ({p.status})" for p in failed)
        notes.append(f"{len(failed)} plugin(s) not loaded: {names}; see 'genzoo plugins'")
    for error in registry.conflicts.values():
        notes.append(str(error))
    return "\n".join(f"warning: {n}" for n in notes)


def cmd_list(args: argparse.Namespace, registry: Registry) -> int:
    """Show installed models and their pretrained weights."""
    models = registry.models
    if args.json:
        return _print_json([
            {
                "name": s.name,
                "description": s.description,
                "distribution": s.distribution,
                "version": s.version,
                "condition": s.condition.value,
                "capabilities": sorted(c.value for c in s.capabilities),
                "auxiliary": s.auxiliary or None,
                "weights": [f"{s.name}/{w.name}" for w in s.weights],
            }
            for s in (models[n] for n in sorted(models))
        ], registry)
    if models:
        rows = [
            [
                s.name,
                ", ".join(f"{s.name}/{w.name}" for w in s.weights) or "-",
                f"{s.distribution} {s.version}",
                (f"[auxiliary network of {s.auxiliary}] " if s.auxiliary else "") + s.description,
            ]
            for s in (models[n] for n in sorted(models))
        ]
        print(_table(rows, ["MODEL", "PRETRAINED", "PLUGIN", "DESCRIPTION"]))
    else:
        print("No models installed. Install a plugin, e.g. pip install genzoo-gan")
    note = _problems_note(registry)
    if note:
        print(note, file=sys.stderr)
    return 0


def cmd_info(args: argparse.Namespace, registry: Registry) -> int:
    """Describe a model, one of its weights, a dataset, or a weights file."""
    from genzoo_core.api import _is_path, _split_name, _weights_file

    target = args.name
    if target.endswith(".toml"):  # a recipe file: show it as genzoo reads it
        from genzoo_core.recipes import read_recipe

        print(read_recipe(target).to_json())
        return 0
    known = target.partition("/")[0]
    if _is_path(target) and known not in registry.models and known not in registry.datasets:
        from genzoo_core.weights import read_header

        header = read_header(_weights_file(target))
        print(json.dumps({
            "file": header.path, "model": header.model, "config": header.config,
            "components": list(header.components), "component_use": header.component_use,
            "left_out_components": list(header.left_out), "metadata": header.metadata,
            "training_state": header.training_state,
        }, indent=2, default=str))
        return 0
    name, weights_name = _split_name(target)
    if name not in registry.models and name in registry.datasets:
        d = registry.get_dataset(name)
        print(json.dumps({
            "dataset": d.name, "description": d.description, "distribution": d.distribution,
            "condition": d.condition.value, "image_shape": list(d.image_shape),
            "num_classes": d.num_classes,
        }, indent=2))
        return 0
    spec = registry.get_model(name)
    weights = [spec.get_weights(weights_name)] if weights_name else list(spec.weights)
    from genzoo_core.recipes import recipes_of

    recipes = recipes_of(spec)
    print(json.dumps({
        "model": spec.name,
        "description": spec.description,
        "plugin": f"{spec.distribution} {spec.version}",
        "class": spec.builder,
        "components": list(spec.components),
        "component_use": dict(spec.component_use) or None,
        "sample_options": {option: rule.describe()
                           for option, rule in spec.sample_options.items()} or None,
        "condition": spec.condition.value,
        "capabilities": sorted(c.value for c in spec.capabilities),
        "auxiliary": spec.auxiliary or None,
        "default_config": spec.default_config,
        "weights": [
            {
                "name": f"{spec.name}/{w.name}",
                "source": w.url or f"packaged ({w.file})",
                "sha256": w.sha256,
                "dataset": w.dataset,
                "description": w.description,
                "metrics": dict(w.metrics),
                "recipe": (recipes[f"{spec.name}/{w.name}"].to_dict()
                           if f"{spec.name}/{w.name}" in recipes else None),
            }
            for w in weights
        ],
        "recipes": sorted(recipes),
    }, indent=2))
    return 0


def cmd_plugins(args: argparse.Namespace, registry: Registry) -> int:
    """Show every discovered plugin, with the error of any that failed."""
    if args.json:
        return _print_json({
            "genzoo_core": __version__,
            "api_version": API_VERSION,
            "plugins": [
                {
                    "name": p.name,
                    "module": p.module,
                    "distribution": p.distribution,
                    "version": p.version,
                    "status": p.status,
                    "api_range": p.api_range or None,
                    "error": p.error or None,
                    "traceback": (p.traceback or None) if args.verbose else None,
                    "models": list(p.models),
                    "datasets": list(p.datasets),
                    "feature_extractors": list(p.extractors),
                    "metrics": list(p.metrics),
                }
                for p in registry.plugins
            ],
            "conflicts": [str(error) for error in registry.conflicts.values()],
        })
    print(f"genzoo-core {__version__}, plugin API {API_VERSION}")
    rows = [
        [p.name, f"{p.distribution} {p.version}", p.status, p.api_range or "-",
         ", ".join(p.models + p.datasets) or "-"]
        for p in registry.plugins
    ]
    print(_table(rows, ["PLUGIN", "DISTRIBUTION", "STATUS", "API", "PROVIDES"]))
    for p in registry.plugins:
        if p.status != "ok":
            print(f"\n{p.name} ({p.distribution} {p.version}) {p.status}: {p.error}")
            if args.verbose and p.traceback:
                print(p.traceback.rstrip())
    for error in registry.conflicts.values():
        print(f"\nconflict: {error}")
    return 0


def cmd_datasets(args: argparse.Namespace, registry: Registry) -> int:
    """Show the named datasets."""
    datasets = registry.datasets
    if args.json:
        return _print_json([_dataset_record(datasets[n]) for n in sorted(datasets)], registry)
    rows = [
        [d.name, d.condition.value, "x".join(map(str, d.image_shape)), d.distribution,
         d.description]
        for d in (datasets[n] for n in sorted(datasets))
    ]
    print(_table(rows, ["DATASET", "CONDITION", "SHAPE", "FROM", "DESCRIPTION"]))
    return 0


FEATURE_NOTES = {
    "inception-v3": "inception-v3 is Keras' ImageNet InceptionV3, not the Inception network "
                    "of the standard FID tools (pytorch-fid, TF-GAN): its FIDs cannot be "
                    "compared with published FIDs, only with others computed with it",
}
"""What a user must know of an extractor's numbers (shown by ``genzoo features``)."""


def cmd_features(args: argparse.Namespace, registry: Registry) -> int:
    """Show the feature extractors for --features."""
    extractors = registry.feature_extractors
    if args.json:
        return _print_json([
            {
                "name": e.name,
                "description": e.description,
                "distribution": e.distribution,
                "image_shape": list(e.image_shape) if e.image_shape else None,
                "feature_dim": e.feature_dim,
                "num_classes": e.num_classes,
                "sha256": e.sha256 or None,
                "metrics": dict(e.metrics),
                "note": FEATURE_NOTES.get(e.name),
            }
            for e in (extractors[n] for n in sorted(extractors))
        ], registry)
    rows = [
        [e.name, "x".join(map(str, e.image_shape)) if e.image_shape else "any",
         str(e.feature_dim), str(e.num_classes or "-"), e.distribution, e.description]
        for e in (extractors[n] for n in sorted(extractors))
    ]
    print(_table(rows, ["EXTRACTOR", "INPUT", "DIM", "CLASSES", "FROM", "DESCRIPTION"]))
    for name in sorted(extractors):  # on stderr, as warnings are: the table stays a table
        if name in FEATURE_NOTES:
            print(f"note: {FEATURE_NOTES[name]}", file=sys.stderr)
    return 0


def _print_json(value: Any, registry: Registry | None = None) -> int:
    """Print ``value`` as the ``--json`` output of a listing (stdout, indented, stable keys).

    With ``registry``, plugins that failed to load and name conflicts are noted on
    stderr, as the text listing does, so that stdout stays one JSON document.
    """
    print(json.dumps(value, indent=2))
    note = _problems_note(registry) if registry is not None else ""
    if note:
        print(note, file=sys.stderr)
    return 0


def _dataset_record(d: DatasetSpec) -> dict[str, Any]:
    """One dataset of ``genzoo datasets --json``: its spec and where its files are."""
    source, path = _dataset_location(d)
    return {
        "name": d.name,
        "description": d.description,
        "distribution": d.distribution,
        "condition": d.condition.value,
        "image_shape": list(d.image_shape),
        "num_classes": d.num_classes,
        "features": d.features or None,
        "classifiers": dict(d.classifiers),
        "compare_with": d.compare_with or None,
        "folder": d.folder or None,
        "archive_url": d.archive_url or None,
        "archive_size": d.archive_size,
        "source": source,
        "path": path,
    }


def _dataset_location(d: DatasetSpec) -> tuple[str, str | None]:
    """Where a dataset's files come from now, and the local folder when there is one.

    ``data`` (a copy under ``$GENZOO_DATA``), ``cache`` (unpacked in
    ``$GENZOO_HOME``), ``download`` (fetched from its archive on first use),
    ``missing`` (nowhere, and nothing to download), or ``loader`` (the plugin's
    loader finds the files itself, as the MNIST family's reads ``$GENZOO_DATA`` or
    ``keras.datasets``). Looks at the file system only; reads and fetches nothing.
    """
    if not (d.folder or d.archive_url):
        return "loader", None
    from genzoo_core.data.archives import MARKER, cache_entry
    from genzoo_core.data.named import data_dir

    root = data_dir()
    if d.folder and root is not None and (root / d.folder).is_dir():
        return "data", str((root / d.folder).resolve())
    if d.archive_url and d.archive_sha256:
        entry = cache_entry(d)
        folder = entry / d.archive_folder if d.archive_folder else entry
        if (entry / MARKER).is_file() and folder.is_dir():
            return "cache", str(folder)
        return "download", None
    return "missing", None
