"""The user-facing functions: ``load``, ``create``, ``train`` and friends."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genzoo_core import hub
from genzoo_core.errors import ConfigError, GenzooError
from genzoo_core.registry import Registry, default_registry
from genzoo_core.spec import ModelSpec

if TYPE_CHECKING:  # the weights module imports h5py, which `genzoo list` never needs
    from genzoo_core.weights import WeightsHeader

WEIGHT_SUFFIXES = (".h5", ".hdf5")


def _registry(registry: Registry | None) -> Registry:
    return registry if registry is not None else default_registry()


def list_models(*, registry: Registry | None = None) -> list[ModelSpec]:
    """The specs of every installed model, sorted by name (imports no TensorFlow)."""
    models = _registry(registry).models
    return [models[name] for name in sorted(models)]


def get_spec(name: str, *, registry: Registry | None = None) -> ModelSpec:
    """The spec of model ``name``; unknown names raise with close matches."""
    return _registry(registry).get_model(name)


def _is_path(name: str) -> bool:
    """Whether ``name`` reads as a file rather than ``MODEL`` or ``MODEL/WEIGHTS``.

    It does when it ends in a weights suffix, starts as no name can (``/``, ``.``,
    ``~``), holds a separator other than ``/``, or names an existing file (a file
    in the working folder needs no separator). A caller that knows the models
    lets a model name win over a stray file of the same name.
    """
    if name.endswith(WEIGHT_SUFFIXES) or name.startswith(("/", ".", "~")):
        return True
    if any(sep and sep != "/" and sep in name for sep in (os.sep, os.altsep)):
        return True
    return bool(name) and Path(name).is_file()


def _split_name(name: str) -> tuple[str, str | None]:
    """``"model/weights"`` -> ``("model", "weights")``, ``"model"`` -> ``("model", None)``.

    Anything else is neither a name nor (the caller has decided) a file: one error
    that says so, instead of a lookup that would suggest installing a plugin.
    """
    from genzoo_core.errors import UnknownNameError
    from genzoo_core.spec import NAME_PATTERN

    def valid(text: str) -> bool:
        model, sep, weights = text.partition("/")
        return bool(NAME_PATTERN.fullmatch(model)) and (
            not sep or bool(NAME_PATTERN.fullmatch(weights))
        )

    if valid(name):
        model, sep, weights = name.partition("/")
        return model, weights if sep else None
    hint = f" (names are lowercase: '{name.lower()}')" if valid(name.lower()) else ""
    raise UnknownNameError(
        f"'{name}' is neither a model name (MODEL or MODEL/WEIGHTS) nor a weights file"
        f"{hint}: see 'genzoo list' for the names, or give the path of a .h5 file"
    )


def _weights_file(name: str) -> Path:
    """The file ``name`` (a path) points at, refusing folders and files genzoo did not write."""
    from genzoo_core.errors import WeightsError

    path = Path(name).expanduser()
    if path.is_dir():
        inside = path / "model.h5"
        hint = f" (e.g. {inside})" if inside.is_file() else ""
        raise WeightsError(f"{path} is a folder, not a weights file: name the .h5 file in it{hint}")
    if not path.exists() and not name.endswith(WEIGHT_SUFFIXES):
        _split_name(name)  # perhaps a mistyped name: say so
        raise WeightsError(f"weights file {path} does not exist")
    if path.is_file() and not name.endswith(WEIGHT_SUFFIXES):
        import h5py

        if not h5py.is_hdf5(path):
            raise WeightsError(
                f"{path} is not a genzoo weights file (genzoo writes HDF5 .h5 files): pass "
                f"one, or a model name (MODEL or MODEL/WEIGHTS, see 'genzoo list')"
            )
    return path


def resolve_weights(
    name: str, weights: str | None = None, *, registry: Registry | None = None
) -> tuple[ModelSpec, Path]:
    """Resolve ``"model/weights"``, ``("model", weights)`` or a path to (spec, local file)."""
    spec, path, _ = _resolve_weights(name, weights, registry=registry)
    return spec, path


def _resolve_weights(
    name: str, weights: str | None = None, *, registry: Registry | None = None
) -> tuple[ModelSpec, Path, WeightsHeader | None]:
    """:func:`resolve_weights`, plus the file's header when resolving had to read it.

    A path names no model, so its header is read to learn which one; the caller
    passes that header on instead of reading the file again. A name is resolved
    without opening the file: the header is then ``None``.
    """
    registry = _registry(registry)
    if _is_path(name) and name.partition("/")[0] not in registry.models:
        from genzoo_core.weights import read_header

        path = _weights_file(name)
        header = read_header(path)
        return registry.get_model(header.model), path, header
    model_name, from_name = _split_name(name)
    if from_name and weights and from_name != weights:
        raise GenzooError(f"'{name}' and weights={weights!r} name different weights; pick one")
    spec = registry.get_model(model_name)
    entry = spec.get_weights(from_name or weights)
    return spec, hub.resolve(spec, entry), None


def create(
    name: str,
    config: Mapping[str, Any] | None = None,
    *,
    registry: Registry | None = None,
    **overrides: Any,
) -> Any:
    """Build an untrained model: ``create("gan", latent_dim=64)``.

    The config is checked against the spec's schema first (a
    :class:`~genzoo_core.ConfigError` names the key). The model takes Keras'
    current dtype policy: build it inside
    :func:`~genzoo_core.precision.precision_scope` to train it in mixed precision.
    """
    spec = _registry(registry).get_model(name)
    config = spec.resolve_config(config, **overrides)
    return build_model(spec, config, f"model '{spec.name}' with this config", ConfigError)


def build_model(
    spec: ModelSpec, config: Mapping[str, Any], what: str, error: type[GenzooError]
) -> Any:
    """``spec.build(config)``; a failure inside the plugin's code is ``error``.

    The model's spec is ``spec`` itself (see :meth:`ModelSpec.build`). A model
    class that raises something other than a GenzooError for a config it cannot
    build is reported in one line naming ``what`` was being built.
    """
    try:
        return spec.build(config)
    except GenzooError:
        raise
    except Exception as exc:  # noqa: BLE001 - plugin code may raise anything
        owner = f" ({spec.distribution})" if spec.distribution else ""
        raise error(
            f"building {what} failed{owner}: {type(exc).__name__}: {exc}"
        ) from exc


def load(name: str, weights: str | None = None, *, registry: Registry | None = None) -> Any:
    """Build a model and load pretrained weights into it.

    ``load("gan/mnist")``, ``load("gan", weights="mnist")``, ``load("gan")`` (the
    default weights) and ``load("runs/gan/model.h5")`` all work. The model is
    built from the config stored in the file, so the architecture always fits.
    """
    from genzoo_core.weights import read_header

    spec, path, header = _resolve_weights(name, weights, registry=registry)
    # Read once (here or while resolving a path), checked, passed on.
    return _load_resolved(spec, path, header or read_header(path))


def _load_resolved(spec: ModelSpec, path: Path, header: WeightsHeader) -> Any:
    """:func:`load` once the weights are resolved and their header read.

    For a caller that needs the header itself too (``evaluate`` reads the
    dataset it records), so the file's header is read once in all.
    """
    from genzoo_core.backend import without_initializers
    from genzoo_core.errors import WeightsError
    from genzoo_core.precision import precision_scope
    from genzoo_core.weights import check_fits, config_error_in_file, load_weights

    if header.model != spec.name:
        raise WeightsError(
            f"{path} holds weights for model '{header.model}', not '{spec.name}': load it "
            f"with genzoo_core.load('{path}')"
        )
    try:
        config = spec.resolve_config(header.config)
    except ConfigError as exc:
        raise config_error_in_file(path, exc) from None
    # Inference in float32, whatever precision the weights were trained in (they are float32
    # either way) and whatever Keras' global dtype policy is.
    with precision_scope("float32"):
        # Compare the stored shapes with a model built abstractly (no memory) before the real one.
        check_fits(header, spec, config)
        # Every variable is about to be read from the file: on JAX, skip the random
        # initializers (each compiles a kernel per weight shape) and start from zeros.
        with without_initializers():
            model = build_model(spec, config,
                                f"'{spec.name}' from the config stored in {path}", WeightsError)
    load_weights(model, path, header=header)
    return model


def with_batch_size(
    spec: ModelSpec, config: Mapping[str, Any] | None, batch_size: int | None
) -> dict[str, Any]:
    """``config`` with its ``batch_size`` set to the trainer's, where the model has that key.

    A model whose config holds ``batch_size`` (the default batch of its runs)
    then stores the batch it was actually trained with.
    """
    config = dict(config or {})
    if batch_size is not None and "batch_size" in spec.default_config:
        config["batch_size"] = batch_size
    return config


def train(
    model: str | Any,
    data: Any,
    out_dir: str | os.PathLike[str],
    *,
    epochs: int,
    config: Mapping[str, Any] | None = None,
    batch_size: int | None = None,
    strategy: Any = None,
    steps_per_epoch: int | None = None,
    callbacks: Sequence[Any] = (),
    metadata: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
    precision: str | None = None,
    jit_compile: bool | str | None = None,
    **trainer_options: Any,
) -> Any:
    """Train a model (by name, or an instance) and return it; resumes from ``out_dir``.

    Args:
        model: a model name, or a model built under ``strategy.scope()``.
        data: a dataset name (``"mnist"``), a path, or a :class:`~genzoo_core.DataSource`.
        out_dir: folder for checkpoints, sample grids, the log and ``model.h5``.
        epochs: total epochs (a resumed run counts those already done).
        config: config overrides when ``model`` is a name; a resumed run starts from
            the checkpoint's config and these override its keys (only training keys
            may change on resume; see :mod:`genzoo_core.trainer`).
        batch_size: global batch size (default: the model's ``batch_size`` config).
        strategy: a ``tf.distribute.Strategy``; the model is built in its scope.
        steps_per_epoch: cap on the steps of each epoch.
        callbacks: extra Keras callbacks.
        metadata: stored in the checkpoint and final weights (e.g. ``training_command``).
        registry: where to look the model and dataset up (default: installed plugins).
        precision: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"`` (GPU
            only), see :mod:`genzoo_core.precision`: a model given by name is built
            in it. ``None``: the checkpoint's precision when the run resumes, else
            float32. A resumed run may change it (recorded as ``trainer.precision``).
            A model instance trains in the precision it was built in; naming
            another is an error.
        jit_compile: compile the train step with XLA: ``True``, ``False`` or
            ``"auto"`` (measured on the first batch, the decision cached; see
            :mod:`genzoo_core.jit`); ``None`` follows ``GENZOO_JIT``, else ``"auto"``.
        **trainer_options: passed to :class:`~genzoo_core.Trainer`.

    Raises:
        ConfigError: an unknown precision, ``mixed_float16`` without a GPU, or a
            model instance built in another precision than ``precision``.
    """
    from genzoo_core.backend import require_tensorflow

    require_tensorflow("training")  # before the data load or anything is built
    import tensorflow as tf

    from genzoo_core.data import is_data_source, load_data
    from genzoo_core.precision import check_device, model_precision, precision_scope
    from genzoo_core.run import Run
    from genzoo_core.trainer import Trainer

    if precision is not None:
        check_device(precision)  # before the data are loaded
        if not isinstance(model, str) and model_precision(model) != precision:
            raise ConfigError(
                f"the model was built in {model_precision(model)}, not {precision}: build it "
                f"inside genzoo_core.precision.precision_scope({precision!r}), or pass the "
                f"model's name"
            )
    registry = _registry(registry)
    strategy = strategy or tf.distribute.get_strategy()
    condition = registry.get_model(model).condition if isinstance(model, str) else (
        model.spec.condition if hasattr(model, "spec") else None
    )
    source = data if is_data_source(data) else load_data(
        str(data), registry=registry, condition=condition
    )
    metadata = {"dataset": getattr(source, "name", str(data)), **(metadata or {})}
    # The run folder decides resume, for the config here and for the trainer below; it reads
    # the checkpoint once.
    run = Run(out_dir)
    if isinstance(model, str):
        spec = registry.get_model(model)
        precision = check_device(precision or _run_precision(run))
        with strategy.scope(), precision_scope(precision):
            model = spec.build(run.config_for(spec, with_batch_size(spec, config, batch_size)))
    trainer = Trainer(
        model,
        run,
        strategy=strategy,
        batch_size=batch_size,
        callbacks=callbacks,
        metadata=metadata,
        jit_compile=jit_compile,
        **trainer_options,
    )
    trainer.fit(source, epochs=epochs, steps_per_epoch=steps_per_epoch)
    return model


def _run_precision(run: Any) -> str:
    """The precision the checkpoint in ``run``'s folder trained in; float32 for a new run."""
    from genzoo_core.precision import DEFAULT_PRECISION, TRAINING_PRECISIONS

    header = run.header()
    recorded = header.training_state.get("precision") if header is not None else None
    return recorded if recorded in TRAINING_PRECISIONS else DEFAULT_PRECISION
