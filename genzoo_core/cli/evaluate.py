"""``genzoo eval``: score a model against real data, or two folders of images.

``genzoo metrics`` lists the registered metrics and the models each scores. What
the report's numbers cannot be compared with (FIDs in ``inception-v3`` features
and published FIDs) is printed under the table and kept in the report's ``notes``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from genzoo_core.cli.common import (
    _at_least,
    _check_parent,
    _table,
    check_sample_options,
    model_spec,
    sample_options,
)
from genzoo_core.errors import GenzooError
from genzoo_core.registry import Registry

_HIDDEN = ("nll_count",)


def _format_metrics(results: dict[str, Any]) -> str:
    rows = []
    for key, value in results.items():
        if key.endswith("_std") or key in _HIDDEN:
            continue
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        std = results.get(f"{key}_std")
        if std is not None:
            text += f" ± {std:.2g}"
        rows.append([key, text])
    return _table(rows, ["METRIC", "VALUE"])


def cmd_eval(args: argparse.Namespace, registry: Registry) -> int:
    """Score a model against real data, or a folder of images against another."""
    from genzoo_core._files import atomic_path
    from genzoo_core.evaluation import evaluate, evaluate_folders

    if args.n is not None:
        _at_least(2, n=args.n)  # two images are the fewest any metric can compare
    _at_least(0, seed=args.seed)
    options = sample_options(args)
    output = Path(args.output)
    if output.is_dir():
        raise GenzooError(f"-o {output} is a folder: name a .json file (e.g. {output}/eval.json)")
    _check_parent(output)
    verbose = 0 if args.quiet else 1
    if args.real or args.fake:
        if not (args.real and args.fake) or args.name is not None:
            raise GenzooError("score folders with both --real DIR and --fake DIR, and no model")
        if args.full or args.n is not None or args.nll_n is not None:
            raise GenzooError("-n, --nll-n and --full apply to models; folders are scored "
                              "whole")
        if options:
            flags = ", ".join(f"--{option}" for option in options)
            raise GenzooError(f"{flags} apply to models; folders are scored as they are")
        report = evaluate_folders(
            args.real, args.fake, metrics=args.metrics or "fid,kid,pr",
            features=args.features or "inception-v3", seed=args.seed, verbose=verbose,
            registry=registry,
        )
    elif args.name is not None:
        if options:  # refused in the flags' own words before anything loads
            check_sample_options(model_spec(args.name, registry), options)
        report = evaluate(
            args.name, args.data, metrics=args.metrics, n=args.n, features=args.features,
            seed=args.seed, split=args.split, full=args.full, nll_n=args.nll_n,
            verbose=verbose, registry=registry, sample_options=options or None,
        )
    else:
        raise GenzooError("name a model (genzoo eval gan/mnist) or give --real DIR --fake DIR")
    print(_format_metrics(report["metrics"]))
    for note in report.get("notes", ()):
        print(f"note: {note}")
    with atomic_path(output) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"settings and results: {output.resolve()}")
    return 0


def cmd_metrics(args: argparse.Namespace, registry: Registry) -> int:
    """Show the registered metrics: the models each scores and what it needs."""
    metrics = registry.metrics
    if args.json:
        from genzoo_core.cli.listing import _print_json

        return _print_json([
            {
                "name": m.name,
                "description": m.description,
                "distribution": m.distribution,
                "conditions": [c.value for c in m.conditions],
                "capabilities": [c.value for c in m.capabilities],
                "classifiers": list(m.classifiers),
                "default": m.default,
            }
            for m in metrics.values()  # the order of the table
        ], registry)
    rows = []
    for m in metrics.values():
        scores = ", ".join(c.value for c in m.conditions) or "any"
        if m.capabilities:
            scores += " with " + ", ".join(c.value for c in m.capabilities)
        needs = ", ".join(m.classifiers) or "-"
        rows.append([m.name, scores, needs, "yes" if m.default else "no", m.distribution,
                     m.description])
    print(_table(rows, ["METRIC", "SCORES", "CLASSIFIER", "DEFAULT", "FROM", "DESCRIPTION"]))
    return 0
