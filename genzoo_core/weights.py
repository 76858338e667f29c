"""The genzoo weights file: one HDF5 file per model, readable with plain h5py.

Layout::

    /                    attributes: genzoo_format, format_version, model, config (JSON),
                         plugin, plugin_version, api_version, core_version, keras_version,
                         tensorflow_version, created, precision, dataset,
                         training_command, metrics (JSON), and any other metadata
    /components/<name>/  one dataset per variable, named by its Keras variable path
                         (without the component's own name); attribute 'path' is the full path
    /optimizers/<name>/  checkpoints only: the optimizer's variables, '000000', '000001', ...
    /training            checkpoints only: attribute 'state' (JSON: epoch, ...)

No pickle and no code: arrays and strings only. Variables are matched by path,
so every layer of a component must have an explicit name (Keras' automatic
names such as ``dense_2`` change from process to process). The random-number
state of ``keras.random.SeedGenerator`` (which Dropout and noise layers hold,
under automatic names that change with every instance) is not a parameter and
is neither saved nor loaded.

Files are written to a temporary name in the same folder, flushed, and renamed,
so a crash mid-write leaves the previous file intact and no partial file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from genzoo_core._files import atomic_path
from genzoo_core.errors import WeightsError
from genzoo_core.version import API_VERSION, __version__

FORMAT_NAME = "genzoo-weights"
FORMAT_VERSION = 1
PRECISIONS = ("float32", "float16")


@dataclass
class WeightsHeader:
    """What a weights file says about itself (read without TensorFlow)."""

    path: str
    model: str
    config: dict[str, Any]
    format_version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    components: tuple[str, ...] = ()
    has_optimizers: bool = False
    training_state: dict[str, Any] = field(default_factory=dict)


def _relative_path(component_name: str, variable_path: str) -> str:
    prefix = component_name + "/"
    return variable_path[len(prefix) :] if variable_path.startswith(prefix) else variable_path


SEED_STATE = "seed_generator_state"  # the variable name keras.random.SeedGenerator uses


def _component_variables(name: str, component: Any) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for variable in component.variables:
        if variable.name == SEED_STATE:
            continue  # RNG state of Dropout & co., not a parameter (see the module docstring)
        key = _relative_path(component.name, variable.path)
        if key in variables:
            raise WeightsError(
                f"component '{name}' has two variables at path '{variable.path}': give every "
                f"layer an explicit, unique name"
            )
        variables[key] = variable
    return variables


def _json_attr(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def save_weights(
    model: Any,
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    precision: str | None = None,
    optimizers: Mapping[str, Any] | None = None,
    training_state: Mapping[str, Any] | None = None,
) -> None:
    """Write ``model``'s components, config and metadata to ``path`` atomically.

    Args:
        model: a :class:`~genzoo_core.GenerativeModel`.
        path: destination ``.h5`` file.
        metadata: dataset, training_command, metrics and any other JSON-able facts.
        precision: ``"float16"`` halves the file by storing float variables in
            half precision (they are cast back on load); default ``"float32"``.
        optimizers: name -> optimizer, to include their state (checkpoints).
        training_state: JSON-able trainer state such as the completed epoch.
    """
    import keras
    import tensorflow as tf

    precision = precision or "float32"
    if precision not in PRECISIONS:
        raise WeightsError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    metadata = dict(metadata or {})
    spec = model.spec
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        attrs = {
            "genzoo_format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "model": spec.name,
            "config": _json_attr(model.config),
            "plugin": spec.distribution,
            "plugin_version": spec.version,
            "api_version": API_VERSION,
            "core_version": __version__,
            "keras_version": keras.__version__,
            "tensorflow_version": tf.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "precision": precision,
            "dataset": str(metadata.pop("dataset", "")),
            "training_command": str(metadata.pop("training_command", "")),
            "metrics": _json_attr(metadata.pop("metrics", {})),
        }
        for key, value in metadata.items():
            attrs[key] = value if isinstance(value, (str, int, float)) else _json_attr(value)
        f.attrs.update(attrs)
        components = f.create_group("components")
        for name, component in model.components.items():
            group = components.create_group(name)
            for key, variable in _component_variables(name, component).items():
                value = np.asarray(variable.numpy())
                if precision == "float16" and np.issubdtype(value.dtype, np.floating):
                    value = value.astype(np.float16)
                dataset = group.create_dataset(key, data=value)
                dataset.attrs["path"] = variable.path
        if optimizers:
            opt_root = f.create_group("optimizers")
            for name, optimizer in optimizers.items():
                group = opt_root.create_group(name)
                group.attrs["class"] = type(optimizer).__name__
                for index, variable in enumerate(optimizer.variables):
                    dataset = group.create_dataset(f"{index:06d}", data=np.asarray(variable))
                    dataset.attrs["path"] = variable.path
        if training_state is not None:
            f.create_group("training").attrs["state"] = _json_attr(dict(training_state))


@contextlib.contextmanager
def _open(path: str | os.PathLike[str]) -> Iterator[h5py.File]:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise WeightsError(
            f"cannot read {path} ({path.stat().st_size} bytes): it is not an HDF5 file, or it "
            f"is truncated or corrupt. Re-download or re-export it. ({exc})"
        ) from exc
    with f:
        if f.attrs.get("genzoo_format") != FORMAT_NAME:
            raise WeightsError(
                f"{path} is an HDF5 file but not a genzoo weights file (it has no "
                f"genzoo_format='{FORMAT_NAME}' attribute). Keras '.weights.h5' files load with "
                f"keras' own load_weights into a matching keras.Model."
            )
        version = int(f.attrs.get("format_version", 0))
        if version > FORMAT_VERSION:
            raise WeightsError(
                f"{path} uses weights format {version}, newer than this genzoo-core "
                f"({__version__}, format {FORMAT_VERSION}): pip install -U genzoo-core"
            )
        yield f


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    return value


def read_header(path: str | os.PathLike[str]) -> WeightsHeader:
    """Read a weights file's model name, config and metadata (no TensorFlow needed)."""
    with _open(path) as f:
        attrs = {k: _decode(v) for k, v in f.attrs.items()}
        try:
            config = json.loads(attrs.pop("config"))
            metrics = json.loads(attrs.get("metrics", "{}"))
            state = (
                json.loads(_decode(f["training"].attrs["state"])) if "training" in f else {}
            )
            components = tuple(f["components"].keys())
        except (KeyError, ValueError, OSError) as exc:
            raise WeightsError(f"{path} is damaged: {exc}. Re-download or re-export it.") from exc
        attrs["metrics"] = metrics
        return WeightsHeader(
            path=str(path),
            model=attrs.pop("model", ""),
            config=config,
            format_version=int(attrs.pop("format_version")),
            metadata=attrs,
            components=components,
            has_optimizers="optimizers" in f,
            training_state=state,
        )


def _config_hint(header: WeightsHeader, model: Any) -> str:
    diff = {
        k: (header.config.get(k), v)
        for k, v in model.config.items()
        if header.config.get(k) != v
    }
    if not diff:
        return ""
    parts = ", ".join(f"{k}: file {a!r} vs model {b!r}" for k, (a, b) in sorted(diff.items()))
    return (
        f" The configs differ ({parts}); build the model from the file's config, as "
        f"genzoo_core.load('{header.path}') does."
    )


def load_weights(
    model: Any,
    path: str | os.PathLike[str],
    *,
    optimizers: Mapping[str, Any] | None = None,
) -> WeightsHeader:
    """Load ``path`` into ``model`` (and optimizer state into ``optimizers``).

    Every component, variable path and shape must match; otherwise a
    :class:`~genzoo_core.WeightsError` says what differs and nothing is assigned.
    """
    header = read_header(path)
    if header.model != model.spec.name:
        raise WeightsError(
            f"{path} holds weights for model '{header.model}' "
            f"({header.metadata.get('plugin') or 'unknown plugin'}), not '{model.spec.name}'. "
            f"Load it with genzoo_core.load('{path}') to get the right model."
        )
    assignments: list[tuple[Any, np.ndarray]] = []
    problems: list[str] = []
    with _open(path) as f:
        file_components = set(f["components"].keys())
        model_components = set(model.components)
        if file_components != model_components:
            raise WeightsError(
                f"{path} has components {sorted(file_components)}, the model has "
                f"{sorted(model_components)}." + _config_hint(header, model)
            )
        try:
            for name, component in model.components.items():
                group = f["components"][name]
                stored: dict[str, h5py.Dataset] = {}
                group.visititems(
                    lambda key, obj, stored=stored: stored.__setitem__(key, obj)
                    if isinstance(obj, h5py.Dataset)
                    else None
                )
                variables = _component_variables(name, component)
                for key in [k for k in stored if k.rsplit("/", 1)[-1] == SEED_STATE]:
                    del stored[key]  # RNG state in files written before it was left out
                for key in sorted(set(stored) - set(variables)):
                    problems.append(f"{name}/{key}: in the file, not in the model")
                for key, variable in variables.items():
                    if key not in stored:
                        problems.append(f"{name}/{key}: in the model, not in the file")
                        continue
                    if tuple(stored[key].shape) != tuple(variable.shape):
                        problems.append(
                            f"{name}/{key}: file has shape {tuple(stored[key].shape)}, "
                            f"model has {tuple(variable.shape)}"
                        )
                        continue
                    assignments.append((variable, np.asarray(stored[key][()])))
            if optimizers is not None:
                assignments.extend(_optimizer_assignments(f, optimizers, path, problems))
        except OSError as exc:
            raise WeightsError(
                f"{path} is damaged (reading it failed: {exc}). Re-download or re-export it."
            ) from exc
    if problems:
        shown = "; ".join(problems[:8]) + ("; ..." if len(problems) > 8 else "")
        raise WeightsError(
            f"{path} does not fit this '{model.spec.name}' model: {shown}."
            + _config_hint(header, model)
        )
    for variable, value in assignments:
        variable.assign(value.astype(variable.dtype))
    return header


def _optimizer_assignments(
    f: h5py.File, optimizers: Mapping[str, Any], path: Any, problems: list[str]
) -> list[tuple[Any, np.ndarray]]:
    if "optimizers" not in f:
        raise WeightsError(f"{path} holds no optimizer state (it is not a training checkpoint)")
    out = []
    for name, optimizer in optimizers.items():
        if name not in f["optimizers"]:
            problems.append(f"optimizer '{name}': not in the file")
            continue
        group = f["optimizers"][name]
        keys = sorted(group.keys())
        if len(keys) != len(optimizer.variables):
            problems.append(
                f"optimizer '{name}': file has {len(keys)} variables, optimizer has "
                f"{len(optimizer.variables)}"
            )
            continue
        for key, variable in zip(keys, optimizer.variables):
            if tuple(group[key].shape) != tuple(variable.shape):
                problems.append(
                    f"optimizer '{name}' variable {variable.path}: shape "
                    f"{tuple(group[key].shape)} in file, {tuple(variable.shape)} in optimizer"
                )
                continue
            out.append((variable, np.asarray(group[key][()])))
    return out
