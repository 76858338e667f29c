"""``genzoo publish``: turn a finished run into a plugin's packaged, scored weight.

:func:`publish` takes a run folder (a recipe run, or a plain ``genzoo train``
run) and, in order:

1. reads its final ``model.h5`` (refusing an unfinished run or one of another model);
2. leaves out the components only training needs (``ModelSpec.component_use``),
   unless asked to keep them; the file's ``left_out_components`` names them;
3. chooses the storage precision by measuring: under ``auto`` the weights are
   stored in float16 only when the model's preview images (64, seed 0) move by
   at most the recipe's tolerance from float32's;
4. writes the file under a temporary name in the plugin's ``weights/`` folder and
   reloads it by the normal loading path, which checks every variable;
5. runs the recipe's evaluation protocol (its ``sample_options`` included) on the written file;
6. moves the file into place and records its sha256, size, precision, recipe and
   metrics in ``weights/manifest.json`` (which the plugin's spec reads);
7. refreshes the model card's results block in the plugin's ``README.md``, and,
   inside a repository that keeps one, ``docs/results.md`` and the sample grid
   ``docs/images/MODEL-WEIGHTS.png``.

A failure at any step before 6 leaves the plugin as it was.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_core.errors import GenzooError

PREVIEW_COUNT = 64
PREVIEW_SEED = 0


@dataclass
class Published:
    """What :func:`publish` wrote."""

    name: str
    path: Path
    sha256: str
    size: int
    precision: str
    deviation: float | None
    metrics: dict[str, Any] = field(default_factory=dict)
    manifest: Path | None = None
    card: Path | None = None
    results: Path | None = None


def _preview(model: Any) -> np.ndarray | None:
    """The model's fixed preview images, or ``None`` for a model that draws none."""
    try:
        return np.asarray(model.preview(PREVIEW_COUNT, seed=PREVIEW_SEED), dtype=np.float32)
    except (NotImplementedError, GenzooError):
        return None


def _weights_deviation(a: Any, b: Any) -> float:
    """The largest relative change of any weight between two models (no preview to compare)."""
    worst = 0.0
    for name in a.spec.components:
        for x, y in zip(getattr(a, name).weights, getattr(b, name).weights):
            x, y = np.asarray(x), np.asarray(y)
            scale = float(np.abs(x).max()) or 1.0
            worst = max(worst, float(np.abs(x - y).max()) / scale)
    return worst


def _settings(settings: Mapping[str, Any], name: str) -> dict[str, Any]:
    """An evaluation's settings as a manifest records them: by name, without local paths."""
    kept = {k: v for k, v in settings.items() if k not in ("config", "model")}
    kept["model"] = name
    real = kept.get("real")
    if isinstance(real, Mapping):
        kept["real"] = {k: v for k, v in real.items() if k != "cache"}
    return kept


def _target_package(spec: Any, into: str | Path | None) -> Path:
    """The plugin package folder the weights go into."""
    from genzoo_core.manifest import package_dir
    from genzoo_core.recipes import spec_package

    package = spec_package(spec)
    if into is None:
        return package_dir(package)
    folder = Path(into)
    if (folder / package).is_dir():
        return folder / package
    if folder.name == package and folder.is_dir():
        return folder
    raise GenzooError(f"--into {folder}: no package folder '{package}' in it (the '{spec.name}' "
                      f"model's code is in package '{package}'): name the plugin's folder, "
                      f"e.g. plugins/genzoo-{spec.name}")


def _file_name(package: Path, spec: Any, model: str, weights: str) -> str:
    """The file a weight is published to in ``package/weights/``.

    The one its manifest entry already names; else ``WEIGHTS.h5``, or
    ``MODEL-WEIGHTS.h5`` for an auxiliary network or where another model's
    weight of that name has the plain file (two models of one plugin may both
    have weights named ``shapes``).
    """
    from genzoo_core.manifest import manifest_path, read_manifest

    entries = read_manifest(manifest_path(package))
    for entry in entries:
        if (entry["model"], entry["name"]) == (model, weights):
            return Path(entry["file"]).name
    plain = f"{weights}.h5"
    taken = {Path(e["file"]).name for e in entries}
    return f"{model}-{weights}.h5" if spec.auxiliary or plain in taken else plain


def _find_results(plugin_root: Path) -> Path | None:
    """The repository's ``docs/results.md`` above a plugin folder, if it keeps one."""
    for parent in plugin_root.resolve().parents:
        candidate = parent / "docs" / "results.md"
        if candidate.is_file():
            return candidate
    return None


def publish(
    run_dir: str | Path,
    name: str,
    *,
    into: str | Path | None = None,
    precision: str | None = None,
    evaluate: bool = True,
    evaluate_options: Mapping[str, Any] | None = None,
    results: str | Path | None = None,
    url: str | None = None,
    registry: Any = None,
    verbose: int = 1,
    keep_training: bool = False,
) -> Published:
    """Publish a finished run as the packaged weight ``name`` (``MODEL/WEIGHTS``).

    Args:
        run_dir: the run folder (``genzoo train --out``, with or without ``--recipe``).
        name: ``MODEL/WEIGHTS`` to publish as.
        into: the plugin's folder (holding its package); default the installed package.
        precision: ``auto``, ``float32`` or ``float16``; default the recipe's (``auto``).
        evaluate: run the evaluation protocol (the recipe's ``[evaluate]``).
        evaluate_options: keyword arguments for :func:`genzoo_core.evaluate` that
            override the recipe's (``n=500`` for a quick check, say).
        results: the ``docs/results.md`` to refresh; default the one in the
            repository holding the plugin folder, if any.
        url: where the file will be downloaded from (``https://...``): recorded
            instead of packaging it; upload the written file there before release.
        registry: where models are looked up (default: installed plugins).
        verbose: 0 silent; 1 progress lines.
        keep_training: also store the components the spec marks ``"training"``
            (by default they are left out: sampling needs none of them, and
            loading calls ``restore_components`` to fill them in).
    """
    from genzoo_core import manifest as manifests
    from genzoo_core._files import exclusive, sha256_file
    from genzoo_core.api import _registry, _split_name, load
    from genzoo_core.backend import require_tensorflow
    from genzoo_core.recipes import STORAGE_PRECISIONS, final_weights, get_recipe
    from genzoo_core.weights import read_header, training_only

    # It measures the storage precision and evaluates: TensorFlow's, like the training.
    require_tensorflow("publishing")
    registry = _registry(registry)
    model_name, weights_name = _split_name(name)
    if weights_name is None:
        raise GenzooError(f"--as needs MODEL/WEIGHTS (e.g. {model_name}/mnist), got '{name}'")
    final, recipe = final_weights(run_dir)
    header = read_header(final)
    if header.model != model_name:
        raise GenzooError(f"{final} holds '{header.model}' weights, not '{model_name}': "
                          f"publish it --as {header.model}/{weights_name}")
    spec = registry.get_model(model_name)
    if recipe is None or recipe.name != name:
        try:
            recipe = get_recipe(name, registry=registry)
        except GenzooError:
            recipe = recipe if recipe is not None and recipe.model == model_name else None
    if url is not None and not url.startswith(("https://", "http://")):
        raise GenzooError(f"--url must be an https:// (or http://) address, got {url!r}")
    precision = precision or (recipe.storage_precision if recipe else "auto")
    if precision not in STORAGE_PRECISIONS:
        raise GenzooError(f"precision must be one of {', '.join(STORAGE_PRECISIONS)}, "
                          f"got {precision!r}")
    tolerance = recipe.tolerance if recipe else 0.02
    package = _target_package(spec, into)
    weights_dir = package / "weights"
    weights_dir.mkdir(parents=True, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)

    model = load(str(final), registry=registry)
    metadata = {k: v for k, v in header.metadata.items() if k in (
        "dataset", "training_command", "metrics", "recipe", "recipe_stage", "epoch_seconds",
        "earlier_stages", "config_changes", "jit_compile")}
    if recipe is not None:
        metadata["recipe"] = recipe.to_dict()
    metadata["published_from"] = str(Path(run_dir))
    left_out = () if keep_training else training_only(model.spec)
    if left_out:
        say(f"leaving out the training-only component(s) {', '.join(left_out)} (sampling "
            f"needs none of them; --keep-training-components keeps them)")
    reference = _preview(model)
    stamp = f"{time.time_ns()}"
    candidates = {p: weights_dir / f".{weights_name}.{p}.{stamp}.tmp.h5"
                  for p in ("float32", "float16")}
    chosen = "float32" if precision == "float32" else "float16"
    deviation: float | None = None
    written: list[Path] = []
    claim = contextlib.ExitStack()
    try:
        order = ["float16", "float32"] if precision == "auto" else [chosen]
        for option in order:
            path = candidates[option]
            model.save_weights(str(path), metadata={**metadata, "storage_precision": option},
                               precision=option, leave_out_training=bool(left_out))
            written.append(path)
            reloaded = load(str(path), registry=registry)  # the normal, checked load
            if option == "float16":
                deviation = (float(np.abs(_preview(reloaded) - reference).max())
                             if reference is not None else _weights_deviation(model, reloaded))
                say(f"float16 storage moves the preview images by at most {deviation:.2e} "
                    f"(tolerance {tolerance:g})")
                if precision == "auto" and deviation > tolerance:
                    continue
            chosen = option
            break
        path = candidates[chosen]
        report: dict[str, Any] = {}
        options = {**dict(recipe.evaluate if recipe else {}), **dict(evaluate_options or {})}
        if evaluate and spec.auxiliary and "metrics" not in options:
            say(f"{name} is an auxiliary network of '{spec.auxiliary}' and its recipe names no "
                f"metrics: not evaluated")
            evaluate = False
        if evaluate:
            from genzoo_core.evaluation import evaluate as run_evaluation

            shown = ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults"
            say(f"evaluating {name} ({shown})")
            report = run_evaluation(str(path), registry=registry, verbose=verbose, **options)
        # The file name is chosen, taken and recorded as one step under a lock: another
        # publish into this plugin (a second model's weight of the same name, say) may
        # be finishing at the same moment.
        claim.enter_context(exclusive(weights_dir / ".publish"))
        target = weights_dir / _file_name(package, spec, model_name, weights_name)
        path.replace(target)
    except BaseException:
        claim.close()
        raise
    finally:
        for leftover in written:
            leftover.unlink(missing_ok=True)
    digest, size = sha256_file(target), target.stat().st_size
    seconds = header.metadata.get("epoch_seconds") or []
    earlier = header.metadata.get("earlier_stages") or []
    train_seconds = float(sum(seconds)) + sum(float(s.get("train_seconds", 0)) for s in earlier
                                              if isinstance(s, Mapping))
    trained_on = str(header.metadata.get("dataset", "")) or (
        f"{recipe.final_stage.dataset}:train" if recipe else "")
    entry = {
        "model": model_name, "name": weights_name, "file": f"weights/{target.name}",
        "sha256": digest, "size": size, "dataset": trained_on.split(" ")[0],
        **({"url": url} if url else {}),
        "description": (recipe.description if recipe else "") or spec.description,
        "precision": chosen, "float16_deviation": deviation,
        "recipe": recipe.name if recipe else None,
        "epochs": (header.metadata.get("metrics") or {}).get("epochs"),
        "train_seconds": round(train_seconds, 1),
        "metrics": report.get("metrics", {}),
        "evaluation": _settings(report.get("settings", {}), name),
        "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    manifest_file = manifests.manifest_path(package)
    with claim:
        manifests.record(manifest_file, entry)
    say(f"wrote {target} ({size / 1e6:.2f} MB, {chosen}), sha256 {digest}")
    say(f"recorded in {manifest_file}")
    if url:
        say(f"upload {target} to {url} before releasing: the plugin downloads it from there")

    from genzoo_core import results as results_io

    outcome = Published(name, target, digest, size, chosen, deviation,
                        dict(report.get("metrics", {})), manifest_file)
    card = package.parent / "README.md"
    if card.is_file():
        results_io.update_card(card, entry)
        outcome.card = card
        say(f"refreshed the results block of {card}")
    results_md = Path(results) if results is not None else _find_results(package.parent)
    if results_md is not None:
        with exclusive(results_md):  # collected and written as one, against other publishes
            results_io.write_results(results_md, results_io.collect_entries(
                registry, extra={manifest_file}))
        grid = results_md.parent / "images" / f"{model_name}-{weights_name}.png"
        if reference is not None:
            from genzoo_core.images import save_grid

            save_grid(grid, _preview(load(str(target), registry=registry)))
            say(f"wrote {grid}")
        outcome.results = results_md
        say(f"refreshed {results_md}")
    return outcome


def rescore(
    name: str,
    *,
    evaluate_options: Mapping[str, Any] | None = None,
    results: str | Path | None = None,
    registry: Any = None,
    verbose: int = 1,
) -> dict[str, Any]:
    """Score an installed packaged weight again and record it (what ``make results`` does).

    The evaluation is the weight's recipe's (``evaluate_options`` override it);
    the metrics replace those in its manifest entry, and the model card's block
    and the results page are rewritten. The weights file is not touched.

    Returns:
        The updated manifest entry.
    """
    from genzoo_core import manifest as manifests
    from genzoo_core import results as results_io
    from genzoo_core._files import exclusive
    from genzoo_core.api import _registry, _split_name
    from genzoo_core.evaluation import evaluate as run_evaluation
    from genzoo_core.recipes import get_recipe, spec_package

    registry = _registry(registry)
    model_name, weights_name = _split_name(name)
    spec = registry.get_model(model_name)
    spec.get_weights(weights_name)  # an unknown weight is one error, naming the known ones
    package = manifests.package_dir(spec_package(spec))
    manifest_file = manifests.manifest_path(package)
    entries = {(e["model"], e["name"]): e for e in manifests.read_manifest(manifest_file)}
    entry = entries.get((model_name, weights_name))
    if entry is None:
        raise GenzooError(f"{manifest_file} records no '{name}': publish it first "
                          f"(genzoo publish RUN_DIR --as {name})")
    try:
        recipe = get_recipe(name, registry=registry)
    except GenzooError:
        recipe = None
    options = {**dict(recipe.evaluate if recipe else {}), **dict(evaluate_options or {})}
    if spec.auxiliary and "metrics" not in options:
        return entry  # an auxiliary network whose recipe names no metrics: nothing to score
    report = run_evaluation(name, registry=registry, verbose=verbose, **options)
    entry = {**entry, "metrics": report.get("metrics", {}),
             "evaluation": _settings(report.get("settings", {}), name),
             "scored": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    manifests.record(manifest_file, entry)
    card = package.parent / "README.md"
    if card.is_file():
        results_io.update_card(card, entry)
    results_md = Path(results) if results is not None else _find_results(package.parent)
    if results_md is not None:
        with exclusive(results_md):
            results_io.write_results(results_md, results_io.collect_entries(registry))
    if verbose:
        cells = results_io.metric_cells(entry["metrics"])
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in cells.items()))
    return entry


__all__ = ["Published", "publish", "rescore"]
