"""Weights files and models: saving, reading and all-or-nothing loading.

The file format itself (writing, and reading and checking the header) lives in
:mod:`genzoo_core.weights_format`; every name of it is importable from here
too (:func:`save_weights`, :func:`read_header`, :data:`FORMAT_VERSION`, ...).
This module compares a file with a model and loads it.

Loading checks everything before it changes anything: the metadata (format
version, model name, config as a JSON object), every stored variable's shape,
dtype and allocated size against the model, then every value (its checksum,
and that it is a finite number) is read; only then are the variables
assigned. :func:`check_fits` compares a file with a model built *abstractly*
from the file's config (shapes only, no memory), so a config edited to absurd
widths is refused before a real model is built from it.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from genzoo_core.errors import ConfigError, GenzooError, WeightsError
from genzoo_core.spec import ModelSpec
from genzoo_core.weights_format import (
    CRC_ATTR,
    FORMAT_NAME,
    FORMAT_VERSION,
    LEFT_OUT_ATTR,
    PRECISIONS,
    READABLE_FORMATS,
    SEED_STATE,
    USE_ATTR,
    USES,
    StoredVariable,
    WeightsHeader,
    _component_variables,
    _damaged,
    _decode,
    _open,
    component_uses,
    read_header,
    save_weights,
    training_only,
)

# The format's private helpers, importable from here as they always were
# (scripts/upgrade_weights.py uses _write_variable).
from genzoo_core.weights_format import _format_version as _format_version
from genzoo_core.weights_format import _json_attr as _json_attr
from genzoo_core.weights_format import _json_object as _json_object
from genzoo_core.weights_format import _relative_path as _relative_path
from genzoo_core.weights_format import _short as _short
from genzoo_core.weights_format import _stored_variables as _stored_variables
from genzoo_core.weights_format import _write_variable as _write_variable

__all__ = [
    "CRC_ATTR",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LEFT_OUT_ATTR",
    "PRECISIONS",
    "READABLE_FORMATS",
    "SEED_STATE",
    "USES",
    "USE_ATTR",
    "StoredVariable",
    "WeightsHeader",
    "abstract_variables",
    "check_fits",
    "component_uses",
    "config_error_in_file",
    "load_weights",
    "read_header",
    "save_weights",
    "training_only",
]


# -- checking a file against a model ---------------------------------------------------------


def _config_hint(header: WeightsHeader, config: Mapping[str, Any]) -> str:
    diff = {
        k: (header.config.get(k), v)
        for k, v in config.items()
        if header.config.get(k) != v
    }
    if not diff:
        return ""
    parts = ", ".join(f"{k}: file {a!r} vs model {b!r}" for k, (a, b) in sorted(diff.items()))
    return (
        f" The configs differ ({parts}); build the model from the file's config, as "
        f"genzoo_core.load('{header.path}') does."
    )


def _compare(
    header: WeightsHeader,
    expected: Mapping[str, Mapping[str, tuple[tuple[int, ...], str]]],
    optional: tuple[str, ...] = (),
) -> list[str]:
    """Problems between the file's stored variables and ``expected`` (shape, dtype) ones.

    The components named in ``optional`` (those only training needs) may be
    missing from the file.
    """
    problems: list[str] = []
    missing = set(expected) - set(header.variables)
    if set(header.variables) - set(expected) or missing - set(optional):
        needed = sorted(missing - set(optional))
        lacks = f" (it lacks {', '.join(needed)}, which sampling needs)" if needed and not (
            set(header.variables) - set(expected)) else ""
        return [
            f"the file has components {sorted(header.variables)}, the model has "
            f"{sorted(expected)}{lacks}"
        ]
    for name, wanted in expected.items():
        if name not in header.variables:
            continue  # a training-only component the file leaves out
        stored = {
            k: v for k, v in header.variables[name].items() if k.rsplit("/", 1)[-1] != SEED_STATE
        }  # RNG state in files written before it was left out
        for key in sorted(set(stored) - set(wanted)):
            problems.append(f"{name}/{key}: in the file, not in the model")
        for key, (shape, dtype) in wanted.items():
            if key not in stored:
                problems.append(f"{name}/{key}: in the model, not in the file")
            elif stored[key].shape != tuple(shape):
                problems.append(
                    f"{name}/{key}: file has shape {stored[key].shape}, model has {tuple(shape)}"
                )
            elif not _castable(stored[key].dtype, dtype):
                problems.append(
                    f"{name}/{key}: file stores {np.dtype(stored[key].dtype).name}, the model "
                    f"holds {dtype}"
                )
    return problems


def _castable(stored: str, wanted: str) -> bool:
    """Whether stored values of dtype ``stored`` may load into a ``wanted`` variable."""
    try:
        kind = np.dtype(stored).kind
    except TypeError:
        return False
    wanted_kind = np.dtype(wanted).kind if wanted != "bfloat16" else "f"
    if wanted_kind == "f":
        return kind == "f"
    if wanted_kind in "iu":
        return kind in "iu"
    if wanted_kind == "b":
        return kind == "b"
    return False


def _model_variables(model: Any) -> dict[str, dict[str, Any]]:
    return {name: _component_variables(name, c) for name, c in model.components.items()}


def _expected(variables: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: {key: (tuple(v.shape), str(v.dtype)) for key, v in found.items()}
        for name, found in variables.items()
    }


def _refuse(path: Any, model_name: str, problems: list[str], hint: str = "") -> WeightsError:
    shown = "; ".join(problems[:8]) + ("; ..." if len(problems) > 8 else "")
    return WeightsError(f"{path} does not fit this '{model_name}' model: {shown}.{hint}")


def abstract_variables(
    spec: ModelSpec, config: Mapping[str, Any], *, cls: type | None = None
) -> dict[str, dict[str, Any]] | None:
    """(shape, dtype) of every variable of ``spec.build(config)``, built without allocating them.

    The model is built (by the spec, like every model; ``cls`` as in
    :meth:`~genzoo_core.spec.ModelSpec.build`) inside a ``keras.StatelessScope``
    that defers every variable's initialisation, so a config of absurd widths
    costs nothing here. Returns ``None`` when the model cannot be built that way
    (the caller then relies on the config schema's ranges and the real build).
    """
    import keras

    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - a Keras without deferred initialisation
        return None
    pending = global_state.get_global_attribute(
        "uninitialized_variables", [], set_to_default=True
    )
    before = len(pending)
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = spec.build(config, cls=cls)
            return _expected(_model_variables(model))
    except GenzooError:
        raise
    except Exception:  # noqa: BLE001 - a model that needs real values to build
        return None
    finally:
        # Never initialise the abstract variables later (Keras keeps them in a list).
        del pending[before:]


def check_fits(
    header: WeightsHeader, spec: ModelSpec, config: Mapping[str, Any], *, cls: type | None = None
) -> None:
    """Refuse a file whose stored variables differ from those ``spec.build(config)`` would have.

    Uses :func:`abstract_variables` (``cls`` is passed on to it), so nothing of
    the model's size is allocated.
    """
    expected = abstract_variables(spec, config, cls=cls)
    if expected is None:
        return
    problems = _compare(header, expected, training_only(spec))
    if problems:
        raise WeightsError(
            f"{header.path} does not fit the '{header.model}' model its own config describes: "
            + "; ".join(problems[:8])
            + ("; ..." if len(problems) > 8 else "")
            + ". The file is damaged or was edited: re-download or re-export it."
        )


# -- reading values ---------------------------------------------------------------------------


def _read_value(dataset: h5py.Dataset, path: Any, where: str, version: int) -> np.ndarray:
    """One variable's values: allocated size, checksum and finiteness checked."""
    shape = tuple(dataset.shape or ())
    nbytes = int(np.prod(shape, dtype=np.int64)) * dataset.dtype.itemsize
    try:
        stored = dataset.id.get_storage_size()
    except (OSError, RuntimeError) as exc:
        raise _damaged(path, f"{where} cannot be read ({exc})") from exc
    if nbytes and stored < nbytes:
        raise _damaged(path, f"{where} declares {nbytes} bytes but holds {stored}")
    checked = dataset.fletcher32
    if version >= 2 and not checked and CRC_ATTR not in dataset.attrs:
        raise _damaged(path, f"{where} has no checksum, which format {version} stores with "
                             f"every variable")
    try:
        value = np.asarray(dataset[()])
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise _damaged(path, f"{where} fails its checksum or cannot be read ({exc})") from exc
    if CRC_ATTR in dataset.attrs and not checked:
        expected = _decode(dataset.attrs[CRC_ATTR])
        if zlib.crc32(np.ascontiguousarray(value).tobytes()) != expected:
            raise _damaged(path, f"{where} fails its crc32 checksum")
    if value.dtype.kind not in "fiub":
        raise _damaged(path, f"{where} holds {value.dtype} values, not numbers")
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        raise _damaged(path, f"{where} holds {bad} NaN or infinite value(s)")
    return value


def load_weights(
    model: Any,
    path: str | os.PathLike[str],
    *,
    optimizers: Mapping[str, Any] | None = None,
    header: WeightsHeader | None = None,
) -> WeightsHeader:
    """Load ``path`` into ``model`` (and optimizer state into ``optimizers``).

    Everything is checked before anything is assigned: every component,
    variable path, shape and dtype must match, and every value must pass its
    checksum and be a finite number. A failed load raises
    :class:`~genzoo_core.WeightsError` and leaves the model (and optimizers)
    exactly as they were.

    A file may lack the components the spec marks ``"training"`` (a published
    file leaves them out): the others are loaded, then
    ``model.restore_components(missing)`` fills those in (see
    :meth:`~genzoo_core.GenerativeModel.restore_components`); if it fails,
    every variable is put back as it was. A file that lacks a component
    sampling needs is refused.

    Args:
        model: the model to load into.
        path: a genzoo weights file.
        optimizers: name -> optimizer, to restore a checkpoint's optimizer state.
        header: the file's :func:`read_header`, if the caller has it already.
    """
    checked = header is not None  # genzoo_core.load has checked the file against its config
    header = header or read_header(path)
    if header.model != model.spec.name:
        raise WeightsError(
            f"{path} holds weights for model '{header.model}' "
            f"({header.metadata.get('plugin') or 'unknown plugin'}), not '{model.spec.name}'. "
            f"Load it with genzoo_core.load('{path}') to get the right model."
        )
    variables = _model_variables(model)
    missing = [name for name in variables if name not in header.variables]
    problems = _compare(header, _expected(variables), training_only(model.spec))
    if problems:
        raise _refuse(path, model.spec.name, problems, _config_hint(header, model.config))
    if not checked:
        # The variables fit this model; the file must also be what its own config says.
        try:
            config = model.spec.resolve_config(header.config)
        except ConfigError as exc:
            raise config_error_in_file(path, exc) from None
        check_fits(header, model.spec, config, cls=type(model))
    if missing and optimizers is not None:
        raise WeightsError(f"{path} leaves out component(s) {', '.join(missing)}: it is a "
                           f"published file, not a training checkpoint with optimizer state")
    assignments: list[tuple[Any, np.ndarray]] = []
    with _open(path) as f:
        for name, found in variables.items():
            if name in missing:
                continue
            group = f["components"][name]
            for key, variable in found.items():
                value = _read_value(group[key], path, f"variable {name}/{key}",
                                    header.format_version)
                assignments.append((variable, value.astype(variable.dtype)))
        if optimizers is not None:
            assignments.extend(_optimizer_assignments(f, optimizers, path, header))
    previous = _assign_all(assignments)
    if missing:
        _restore_missing(model, missing, variables, previous)
    return header


def _restore_missing(model: Any, missing: list[str], variables: Mapping[str, Mapping[str, Any]],
                     previous: list[tuple[Any, np.ndarray]]) -> None:
    """``model.restore_components(missing)``; if it fails, every variable is put back."""
    from genzoo_core.backend import variable_value

    kept = [(v, variable_value(v)) for name in missing for v in variables[name].values()]
    restore = getattr(model, "restore_components", None)
    if not callable(restore):
        return
    try:
        restore(list(missing))
    except Exception as exc:
        for variable, value in [*reversed(previous), *kept]:
            variable.assign(value)
        raise WeightsError(
            f"{type(model).__name__}.restore_components({missing}) failed "
            f"({type(exc).__name__}: {exc}); the model is unchanged"
        ) from exc


def _assign_all(assignments: list[tuple[Any, np.ndarray]]) -> list[tuple[Any, np.ndarray]]:
    """Assign every value, or (if one assignment fails) put back those already assigned.

    Returns each assigned variable with the value it held before.
    """
    from genzoo_core.backend import variable_value

    previous: list[tuple[Any, np.ndarray]] = []
    try:
        for variable, value in assignments:
            old = variable_value(variable)
            variable.assign(value)
            previous.append((variable, old))
    except Exception as exc:
        for variable, value in reversed(previous):
            variable.assign(value)
        raise WeightsError(f"assigning the loaded weights failed ({exc}); the model is "
                           f"unchanged") from exc
    return previous


def _optimizer_assignments(
    f: h5py.File, optimizers: Mapping[str, Any], path: Any, header: WeightsHeader
) -> list[tuple[Any, np.ndarray]]:
    if "optimizers" not in f:
        raise WeightsError(f"{path} holds no optimizer state (it is not a training checkpoint)")
    problems: list[str] = []
    pending: list[tuple[Any, h5py.Dataset, str]] = []
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
            dataset = group[key]
            if not isinstance(dataset, h5py.Dataset):
                problems.append(f"optimizer '{name}' entry {key}: not a variable")
            elif tuple(dataset.shape or ()) != tuple(variable.shape):
                problems.append(
                    f"optimizer '{name}' variable {variable.path}: shape "
                    f"{tuple(dataset.shape or ())} in file, {tuple(variable.shape)} in optimizer"
                )
            elif not _castable(dataset.dtype.str, str(variable.dtype)):
                problems.append(
                    f"optimizer '{name}' variable {variable.path}: file stores "
                    f"{dataset.dtype}, optimizer holds {variable.dtype}"
                )
            else:
                pending.append((variable, dataset, f"optimizer '{name}' variable {key}"))
    if problems:
        raise _refuse(path, header.model, problems)
    return [
        (variable, _read_value(dataset, path, where, header.format_version).astype(
            variable.dtype))
        for variable, dataset, where in pending
    ]


def config_error_in_file(path: Any, error: ConfigError) -> WeightsError:
    """A file whose stored config breaks the model's schema, as a WeightsError."""
    return WeightsError(
        f"{path} stores a config this model refuses ({error}): the file is damaged or was "
        f"edited. Re-download or re-export it."
    )
