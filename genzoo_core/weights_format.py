"""The genzoo weights file: one HDF5 file per model, readable with plain h5py.

Layout::

    /                    attributes: genzoo_format, format_version, model, config (JSON),
                         plugin, plugin_version, api_version, core_version, keras_version,
                         tensorflow_version, created, precision, dataset,
                         training_command, metrics (JSON), and any other metadata
    /components/<name>/  one dataset per variable, named by its Keras variable path
                         (without the component's own name); attribute 'path' is the full path.
                         Group attribute 'use': "inference", "training" or "both" (what
                         ModelSpec.component_use says of it; files written before API 1.4
                         have none, and every component of theirs serves both)
    /optimizers/<name>/  checkpoints only: the optimizer's variables, '000000', '000001', ...
    /training            checkpoints only: attribute 'state' (JSON: epoch, ...)

Format 2 (this core writes it; format 1 files still load) stores a checksum
with every variable: HDF5's fletcher32 filter on every array, and a ``crc32``
attribute on the few scalars (HDF5 cannot filter a scalar dataset), so a
damaged byte inside a local file is detected when it is read, without an
outside hash.

A file may leave out the components only training needs (``save_weights(...,
leave_out_training=True)``, as ``genzoo publish`` writes by default): its root
attribute ``left_out_components`` (JSON list) names them. Such a file loads into
a model for sampling; :meth:`~genzoo_core.GenerativeModel.restore_components`
then fills the left-out components in (a diffusion model copies its averaged
network into its training network), so fine-tuning can start from it. A file
that lacks a component sampling needs is refused.

This module writes the file (:func:`save_weights`) and reads and checks its
header (:func:`read_header`); loading the values into a model lives in
:mod:`genzoo_core.weights`, which re-exports every name defined here.

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
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from genzoo_core._files import atomic_path
from genzoo_core.errors import WeightsError
from genzoo_core.spec import NAME_PATTERN
from genzoo_core.version import API_VERSION, __version__

FORMAT_NAME = "genzoo-weights"
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
"""Format 1: no per-variable checksums. Format 2: fletcher32 / crc32 on every variable."""
PRECISIONS = ("float32", "float16")
CRC_ATTR = "crc32"  # checksum of a scalar variable's bytes (fletcher32 needs a chunked array)
SEED_STATE = "seed_generator_state"  # the variable name keras.random.SeedGenerator uses


@dataclass(frozen=True)
class StoredVariable:
    """What a weights file says about one stored variable, read without its data."""

    shape: tuple[int, ...]
    dtype: str


@dataclass
class WeightsHeader:
    """What a weights file says about itself (read without TensorFlow).

    ``variables`` maps each component to its stored variables (path -> shape and
    dtype); ``optimizers`` likewise for a checkpoint's optimizer state.
    ``component_use`` maps each stored component to its recorded use
    (``"inference"``, ``"training"`` or ``"both"``; ``"both"`` in files written
    before it was recorded), and ``left_out`` names the training-only components
    the file leaves out.
    """

    path: str
    model: str
    config: dict[str, Any]
    format_version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    components: tuple[str, ...] = ()
    has_optimizers: bool = False
    training_state: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, StoredVariable]] = field(default_factory=dict)
    component_use: dict[str, str] = field(default_factory=dict)
    left_out: tuple[str, ...] = ()


USE_ATTR = "use"
"""The attribute of each component group saying what it serves: one of :data:`USES`."""
USES = ("inference", "training", "both")
LEFT_OUT_ATTR = "left_out_components"
"""The root attribute (JSON list) naming the training-only components a file leaves out."""


def component_uses(spec: Any) -> dict[str, str]:
    """Component name -> ``"inference"``, ``"training"`` or ``"both"``, as ``spec`` declares."""
    declared = getattr(spec, "component_use", {}) or {}
    return {name: declared.get(name, "both") for name in spec.components}


def training_only(spec: Any) -> tuple[str, ...]:
    """The components of ``spec`` that only training needs (a file may leave them out)."""
    return tuple(name for name, use in component_uses(spec).items() if use == "training")


def _relative_path(component_name: str, variable_path: str) -> str:
    prefix = component_name + "/"
    return variable_path[len(prefix) :] if variable_path.startswith(prefix) else variable_path


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


# -- writing ------------------------------------------------------------------------------


def _write_variable(group: h5py.Group, key: str, value: np.ndarray, path: str) -> None:
    """One variable with its checksum: fletcher32 on arrays, a crc32 attribute on scalars."""
    if value.ndim > 0 and value.size > 0:
        # One chunk per variable (HDF5's limit is 4 GiB a chunk): automatic chunk shapes
        # pad the edge chunks, which grew small convolution kernels by up to a half.
        chunks = value.shape if value.nbytes < (1 << 31) else True
        dataset = group.create_dataset(key, data=value, fletcher32=True, chunks=chunks)
    else:
        dataset = group.create_dataset(key, data=value)
        dataset.attrs[CRC_ATTR] = zlib.crc32(np.ascontiguousarray(value).tobytes())
    dataset.attrs["path"] = path


def save_weights(
    model: Any,
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    precision: str | None = None,
    optimizers: Mapping[str, Any] | None = None,
    training_state: Mapping[str, Any] | None = None,
    leave_out_training: bool = False,
) -> None:
    """Write ``model``'s components, config and metadata to ``path`` atomically.

    Each component group records its use (attribute ``use``: ``inference``,
    ``training`` or ``both``, from ``ModelSpec.component_use``).

    Args:
        model: a :class:`~genzoo_core.GenerativeModel`.
        path: destination ``.h5`` file.
        metadata: dataset, training_command, metrics and any other JSON-able facts.
        precision: ``"float16"`` halves the file by storing float variables in
            half precision (they are cast back on load); default ``"float32"``.
        optimizers: name -> optimizer, to include their state (checkpoints).
        training_state: JSON-able trainer state such as the completed epoch.
        leave_out_training: write only the components sampling needs
            (``spec.components_for("inference")``), leaving out those the spec marks
            ``"training"``; the root attribute ``left_out_components`` names them.
            For published files; checkpoints and a run's ``model.h5`` keep every
            component. Refused together with ``optimizers``.
    """
    import keras
    import tensorflow as tf

    from genzoo_core.backend import variable_value

    precision = precision or "float32"
    if precision not in PRECISIONS:
        raise WeightsError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    metadata = dict(metadata or {})
    spec = model.spec
    uses = component_uses(spec)
    left_out = training_only(spec) if leave_out_training else ()
    if left_out and optimizers:
        raise WeightsError("a checkpoint keeps every component: leave_out_training does not "
                           "go with optimizers")
    metadata.pop(LEFT_OUT_ATTR, None)  # said by this file alone, never copied from another
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
        structured = []
        for key, value in metadata.items():
            if isinstance(value, (str, int, float)):
                attrs[key] = value
            else:  # stored as JSON text; listed so that read_header decodes it again
                attrs[key] = _json_attr(value)
                structured.append(key)
        if left_out:
            attrs[LEFT_OUT_ATTR] = _json_attr(list(left_out))
            structured.append(LEFT_OUT_ATTR)
        if structured:
            attrs["json_attrs"] = _json_attr(sorted(structured))
        f.attrs.update(attrs)
        components = f.create_group("components")
        for name, component in model.components.items():
            if name in left_out:
                continue
            group = components.create_group(name)
            group.attrs[USE_ATTR] = uses.get(name, "both")
            for key, variable in _component_variables(name, component).items():
                value = variable_value(variable)
                if precision == "float16" and np.issubdtype(value.dtype, np.floating):
                    value = value.astype(np.float16)
                _write_variable(group, key, value, variable.path)
        if optimizers:
            opt_root = f.create_group("optimizers")
            for name, optimizer in optimizers.items():
                group = opt_root.create_group(name)
                group.attrs["class"] = type(optimizer).__name__
                for index, variable in enumerate(optimizer.variables):
                    _write_variable(group, f"{index:06d}", variable_value(variable),
                                    variable.path)
        if training_state is not None:
            f.create_group("training").attrs["state"] = _json_attr(dict(training_state))


# -- reading the header ------------------------------------------------------------------------


def _damaged(path: Any, what: str) -> WeightsError:
    reason = f"{path} is damaged: {what}"
    return WeightsError(f"{reason}. Re-download or re-export it.", reason=reason)


@contextlib.contextmanager
def _open(path: str | os.PathLike[str]) -> Iterator[h5py.File]:
    path = Path(path)
    if path.is_dir():
        raise WeightsError(f"{path} is a folder, not a weights file")
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        reason = (f"cannot read {path} ({path.stat().st_size} bytes): it is not an HDF5 file, "
                  f"or it is truncated or corrupt ({exc})")
        raise WeightsError(f"{reason}. Re-download or re-export it.", reason=reason) from exc
    with f:
        try:
            genzoo_format = _decode(f.attrs.get("genzoo_format"))
        except OSError as exc:
            raise _damaged(path, f"its attributes cannot be read ({exc})") from exc
        if genzoo_format != FORMAT_NAME:
            raise WeightsError(
                f"{path} is an HDF5 file but not a genzoo weights file (it has no "
                f"genzoo_format='{FORMAT_NAME}' attribute). Keras '.weights.h5' files load with "
                f"keras' own load_weights into a matching keras.Model."
            )
        _format_version(f, path)
        yield f


def _format_version(f: h5py.File, path: Any) -> int:
    """The file's format version, refused unless this core reads it."""
    raw = _decode(f.attrs.get("format_version"))
    readable = f"{READABLE_FORMATS[0]} to {READABLE_FORMATS[-1]}"
    if isinstance(raw, (int, np.integer)) and not isinstance(raw, bool):
        version = int(raw)
        if version > FORMAT_VERSION:
            raise WeightsError(
                f"{path} uses weights format {version}, newer than this genzoo-core "
                f"({__version__}) reads (formats {readable}): pip install -U genzoo-core"
            )
        if version in READABLE_FORMATS:
            return version
    raise WeightsError(
        f"{path} declares format_version {raw!r}, which is not a weights format genzoo-core "
        f"{__version__} reads (formats {readable}): the file is damaged or was edited. "
        f"Re-download or re-export it."
    )


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _json_object(path: Any, key: str, text: Any, *, required: bool = True) -> dict[str, Any]:
    """Parse attribute ``key`` as a JSON object, or say the file is damaged."""
    if text is None and not required:
        return {}
    if not isinstance(text, str):
        raise _damaged(path, f"its '{key}' attribute is {_short(text)}, not JSON text")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _damaged(path, f"its '{key}' attribute is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise _damaged(
            path, f"its '{key}' attribute is a JSON {type(value).__name__}, not an object"
        )
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _stored_variables(group: h5py.Group, path: Any, where: str) -> dict[str, StoredVariable]:
    """Every dataset under ``group`` (by relative path), without reading any data."""
    found: dict[str, StoredVariable] = {}

    def visit(key: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found[key] = StoredVariable(tuple(int(d) for d in obj.shape or ()), obj.dtype.str)

    try:
        group.visititems(visit)
    except (OSError, RuntimeError, ValueError) as exc:
        raise _damaged(path, f"the variables of {where} cannot be listed ({exc})") from exc
    return found


def _decode_structured(path: str | os.PathLike[str], attrs: dict[str, Any]) -> None:
    """Decode the metadata values written as JSON text (those ``json_attrs`` lists)."""
    listed = attrs.pop("json_attrs", None)
    if listed is None:
        return
    try:
        keys = json.loads(listed) if isinstance(listed, str) else None
    except ValueError:
        keys = None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _damaged(path, f"its 'json_attrs' attribute is {_short(listed)}, not a list of names")
    for key in keys:
        if key in attrs and isinstance(attrs[key], str):
            try:
                attrs[key] = json.loads(attrs[key])
            except ValueError:
                raise _damaged(path, f"its '{key}' attribute is not valid JSON") from None


def read_header(path: str | os.PathLike[str]) -> WeightsHeader:
    """Read and check a weights file's metadata and variable list (no TensorFlow needed).

    Raises:
        WeightsError: the file is missing, not a genzoo weights file, of a format
            this core does not read, or its metadata is damaged.
    """
    with _open(path) as f:
        try:
            attrs = {k: _decode(v) for k, v in f.attrs.items()}
        except OSError as exc:
            raise _damaged(path, f"its attributes cannot be read ({exc})") from exc
        version = _format_version(f, path)
        attrs.pop("format_version", None)
        if "config" not in attrs:
            raise _damaged(path, "it has no 'config' attribute")
        config = _json_object(path, "config", attrs.pop("config"))
        model = attrs.pop("model", None)
        if not isinstance(model, str) or not NAME_PATTERN.match(model):
            raise _damaged(path, f"its 'model' attribute is {_short(model)}, not a model name")
        attrs["metrics"] = _json_object(path, "metrics", attrs.get("metrics"), required=False)
        _decode_structured(path, attrs)
        state: dict[str, Any] = {}
        if "training" in f:
            state = _json_object(path, "training state", _decode(f["training"].attrs.get("state")))
            epoch = state.get("epoch", 0)
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
                raise _damaged(path, f"its training state has epoch {_short(epoch)}")
        components_group = f.get("components")
        if not isinstance(components_group, h5py.Group):
            raise _damaged(path, "it has no 'components' group")
        variables = {
            name: _stored_variables(group, path, f"component '{name}'")
            for name, group in components_group.items()
            if isinstance(group, h5py.Group)
        }
        if len(variables) != len(components_group):
            raise _damaged(path, "an entry of 'components' is not a group of variables")
        component_use = {}
        for name in variables:
            use = _decode(components_group[name].attrs.get(USE_ATTR, "both"))
            if use not in USES:
                raise _damaged(path, f"component '{name}' has use {_short(use)}, not one of "
                                     f"{', '.join(USES)}")
            component_use[name] = use
        left_out = attrs.get(LEFT_OUT_ATTR, [])
        if not isinstance(left_out, list) or not all(isinstance(c, str) for c in left_out):
            raise _damaged(path, f"its '{LEFT_OUT_ATTR}' attribute is {_short(left_out)}, not "
                                 f"a list of component names")
        return WeightsHeader(
            path=str(path),
            model=model,
            config=config,
            format_version=version,
            metadata=attrs,
            components=tuple(variables),
            has_optimizers="optimizers" in f,
            training_state=state,
            variables=variables,
            component_use=component_use,
            left_out=tuple(left_out),
        )
