"""Results tables written from the weights manifests: model cards and ``docs/results.md``.

Every number here is one ``genzoo publish`` (or ``make results``) measured and
recorded in a plugin's ``weights/manifest.json``; nothing is typed by hand.
A model card (the plugin's ``README.md``) holds one block per weight, between
``<!-- results:MODEL/WEIGHTS -->`` and ``<!-- /results -->``;
``docs/results.md`` holds one table per kind of model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from genzoo_core._files import atomic_path

GROUPS = (
    ("images", "Unconditional and class-conditional image models"),
    ("likelihood", "Likelihood models"),
    ("paired", "Paired image-to-image translation"),
    ("unpaired", "Unpaired image-to-image translation"),
    ("text-to-image", "Text-to-image"),
    ("auxiliary", "Auxiliary networks (they serve or score a model and draw no images)"),
)
HIDDEN = ("nll_count", "count", "n")


def _kind(spec: Any) -> str:
    from genzoo_core.spec import Capability, Condition

    if spec is None:
        return "images"
    if spec.auxiliary:
        return "auxiliary"
    if spec.condition == Condition.PAIRED_IMAGE:
        return "paired"
    if spec.condition == Condition.UNPAIRED_DOMAINS:
        return "unpaired"
    if spec.condition == Condition.TEXT:
        return "text-to-image"
    if Capability.LOG_PROB in spec.capabilities:
        return "likelihood"
    return "images"


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    magnitude = abs(value)
    if magnitude and (magnitude < 1e-3 or magnitude >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}" if magnitude < 10 else f"{value:.2f}"


def metric_cells(metrics: Mapping[str, Any]) -> dict[str, str]:
    """Each shown metric as text, with its ``_std`` as ``± std`` (helper keys hidden)."""
    cells = {}
    for key, value in metrics.items():
        if key.endswith("_std") or key in HIDDEN or isinstance(value, (dict, list)):
            continue
        text = _number(value)
        std = metrics.get(f"{key}_std")
        if isinstance(std, (int, float)) and not isinstance(std, bool):
            text += f" ± {std:#.2g}"  # two significant digits: the spread is itself uncertain
        cells[key] = text
    return cells


def _protocol(entry: Mapping[str, Any]) -> str:
    settings = entry.get("evaluation") or {}
    parts = []
    for key in ("n", "split", "seed", "features", "protocol"):
        value = settings.get(key)
        if isinstance(value, Mapping):  # one count per domain, say
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        if value not in (None, "", {}):
            parts.append(f"{key} {value}" if key != "protocol" else str(value))
    real = settings.get("real")
    if isinstance(real, Mapping) and real.get("dataset"):
        parts.append(f"against {real['dataset']}")
    return ", ".join(parts)


def card_block(entry: Mapping[str, Any]) -> str:
    """The model-card block of one manifest entry (markers included)."""
    name = f"{entry['model']}/{entry['name']}"
    lines = [f"<!-- results:{name} -->"]
    cells = metric_cells(entry.get("metrics") or {})
    if cells:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {key} | {text} |" for key, text in cells.items()]
        lines.append("")
    else:
        lines += ["Not evaluated when published.", ""]
    facts = []
    protocol = _protocol(entry)
    if protocol:
        facts.append(f"Protocol: {protocol}.")
    size = entry.get("size")
    file_fact = f"File: `{entry.get('file')}`"
    if isinstance(size, int):
        file_fact += f", {size / 1e6:.2f} MB"
    if entry.get("precision"):
        file_fact += f", stored in {entry['precision']}"
    deviation = entry.get("float16_deviation")
    if isinstance(deviation, (int, float)):
        file_fact += f" (float16 moves the preview images by at most {deviation:.1e})"
    facts.append(file_fact + f"; sha256 `{entry.get('sha256')}`.")
    if entry.get("recipe"):
        train = f"Made by recipe `{entry['recipe']}`"
        if entry.get("epochs"):
            train += f": {entry['epochs']} epochs"
        if entry.get("train_seconds"):
            train += f", {float(entry['train_seconds']) / 60:.1f} CPU min of training"
        facts.append(train + f" (rebuild: `genzoo train --recipe {entry['recipe']} --out DIR`).")
    if entry.get("published"):
        facts.append(f"Published {entry['published']}.")
    lines.append(" ".join(facts))
    lines.append("<!-- /results -->")
    return "\n".join(lines)


def update_card(card: str | Path, entry: Mapping[str, Any]) -> None:
    """Replace (or add, under "## Results") the weight's block in a model card."""
    from genzoo_core._files import exclusive

    card = Path(card)
    name = f"{entry['model']}/{entry['name']}"
    block = card_block(entry)
    pattern = re.compile(rf"<!-- results:{re.escape(name)} -->.*?<!-- /results -->", re.S)
    with exclusive(card):  # another publish into the plugin may be editing it too
        text = card.read_text(encoding="utf-8")
        if pattern.search(text):
            text = pattern.sub(lambda _: block, text)
        else:
            text = text.rstrip("\n") + f"\n\n## Results: `{name}`\n\n{block}\n"
        with atomic_path(card) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")


def collect_entries(registry: Any = None, extra: Iterable[str | Path] = ()) -> list[dict[str, Any]]:
    """Every manifest entry of the installed plugins (and of ``extra`` manifest files).

    An entry of an ``extra`` manifest replaces the installed one of the same name.
    Each returned entry carries ``kind`` (its results group).
    """
    from genzoo_core.api import _registry
    from genzoo_core.manifest import manifest_path, package_dir, read_manifest
    from genzoo_core.recipes import spec_package

    registry = _registry(registry)
    specs = registry.models
    files: list[Path] = []
    for spec in specs.values():
        try:
            path = manifest_path(package_dir(spec_package(spec)))
        except Exception:  # noqa: BLE001 - a package without a folder has no manifest
            continue
        if path not in files:
            files.append(path)
    files += [Path(p) for p in extra if Path(p) not in files]
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in files:
        for entry in read_manifest(path):
            found[(entry["model"], entry["name"])] = {
                **entry, "kind": _kind(specs.get(entry["model"]))}
    return [found[key] for key in sorted(found)]


def render_results(entries: list[Mapping[str, Any]]) -> str:
    """``docs/results.md``: one table per kind of model, columns the metrics measured."""
    lines = [
        "# Results",
        "",
        "Every pretrained weight, as `genzoo publish` (or `make results`) measured it with "
        "the evaluation protocol of its recipe and recorded it in its plugin's "
        "`weights/manifest.json`. Each model card gives the protocol, the file and how it "
        "was made; `genzoo info MODEL/WEIGHTS` shows its recipe.",
        "",
        "",
        "Each dataset names the network whose features score it (the protocol's "
        "`features`): the dataset's own classifier where it has one, so these FIDs compare "
        "models on the same dataset, not with published Inception-feature FIDs. KID is the "
        "mean ± std over subsets, IS over splits, precision/recall use k = 3; likelihoods "
        "are in nats per image on held-out data. `results.json` beside this page holds every "
        "setting.",
        "",
        "<!-- This page is generated from the manifests: do not edit it by hand. -->",
    ]
    for kind, title in GROUPS:
        rows = [e for e in entries if e.get("kind") == kind]
        if not rows:
            continue
        columns: list[str] = []
        for entry in rows:
            for key in metric_cells(entry.get("metrics") or {}):
                if key not in columns:
                    columns.append(key)
        if not columns:  # networks scored in their model cards, not here
            lines += ["", f"## {title}", "", "| weights | file | made by |", "|---|---|---|"]
            for entry in rows:
                size = entry.get("size")
                shown = f"{size / 1e6:.2f} MB" if isinstance(size, int) else "–"
                recipe = f"recipe `{entry['recipe']}`" if entry.get("recipe") else "–"
                lines.append(f"| `{entry['model']}/{entry['name']}` | {shown}, "
                             f"{entry.get('precision') or '–'} | {recipe} |")
            continue
        lines += ["", f"## {title}", "",
                  "| weights | protocol | " + " | ".join(columns) + " |",
                  "|---|---|" + "---|" * len(columns)]
        for entry in rows:
            cells = metric_cells(entry.get("metrics") or {})
            lines.append(f"| `{entry['model']}/{entry['name']}` | {_protocol(entry) or '–'} | "
                         + " | ".join(cells.get(c, "–") for c in columns) + " |")
    return "\n".join(lines) + "\n"


def write_results(path: str | Path, entries: list[Mapping[str, Any]]) -> None:
    """Write ``docs/results.md`` (and ``results.json`` beside it) from manifest entries."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(render_results(entries), encoding="utf-8")
    with atomic_path(path.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps({f"{e['model']}/{e['name']}": e for e in entries},
                                        indent=2, default=str) + "\n", encoding="utf-8")


__all__ = ["card_block", "collect_entries", "metric_cells", "render_results", "update_card",
           "write_results"]
