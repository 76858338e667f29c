"""``GenerativeModel``: the Keras base class every first-party model derives from.

A subclass is an ordinary ``keras.Model`` with a ``train_step``; it adds what the
genzoo contract asks for:

- ``spec``: the class attribute linking it to its :class:`~genzoo_core.plugin.ModelSpec`;
- ``config``: the resolved configuration it was built from;
- ``components``: its named Keras sub-models (attributes of the same names);
- ``make_optimizers()``: one optimizer per trained part, named;
- ``generate(n, condition, rng)``: the family-specific sampler behind ``sample``.

Because a subclass is a ``keras.Model`` with a ``train_step``, ``model.fit`` works
on a single device; :class:`~genzoo_core.Trainer` runs the same ``train_step`` in
its own compiled loop, which also works under ``MultiWorkerMirroredStrategy``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import keras
import numpy as np
import tensorflow as tf

from genzoo_core.backend import to_numpy
from genzoo_core.errors import ConfigError, GenzooError
from genzoo_core.image_checks import (  # noqa: F401 - public through genzoo_core.plugin
    IMAGE_TOLERANCE,
    check_images,
    input_images,
    resized_images,
)
from genzoo_core.progress import active as active_progress
from genzoo_core.spec import Capability, ModelSpec, spec_being_built


def replica_scale(loss: Any) -> tf.Tensor:
    """Divide a local-batch mean loss by the number of replicas in sync.

    Keras optimizers sum gradients across replicas, so the gradients of the
    scaled loss equal those of the global-batch mean. Take gradients of this
    inside ``train_step``; outside any strategy it returns ``loss`` unchanged.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / tf.cast(replicas, loss.dtype)


def _read_only(value: Any) -> Any:
    """A copy of JSON-like ``value`` that cannot be changed: proxies for dicts, tuples for lists."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _read_only(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_read_only(item) for item in value)
    return value


# Modules whose reads of ``_genzoo_config`` are no plugin's: Keras and TensorFlow look
# attributes up while tracking them (``self.x = ...`` first reads ``self.x``).
_FRAMEWORK_MODULES = ("keras", "tensorflow", "genzoo_core")


def _registered_spec(cls: type) -> ModelSpec | None:
    """The spec building ``cls``: the one :meth:`ModelSpec.build` hands in, else ``cls.spec``.

    Nothing is looked up: the spec a registry builds from (which knows the
    distribution and version that installed it) hands itself in, and a class
    instantiated directly keeps its class-level spec. ``None`` when there is neither.
    """
    handed_in = spec_being_built(cls)
    if handed_in is not None:
        return handed_in
    own = getattr(cls, "spec", None)
    return own if isinstance(own, ModelSpec) else None


class GenerativeModel(keras.Model):
    """Base class of genzoo models: a ``keras.Model`` plus the genzoo contract.

    Args:
        config: configuration overriding the spec's ``default_config``.
        **overrides: individual config keys, applied after ``config``.

    The author contract, the methods a subclass implements or overrides (the
    class attribute ``spec`` links it to its :class:`~genzoo_core.plugin.ModelSpec`):

    - ``generate(n, *, condition, rng, **options)`` (required): the sampler
      behind ``sample``; ``options`` are the spec's declared ``sample_options``
      the caller set. An iterative sampler calls :meth:`report_progress` after
      each step.
    - ``train_step(data)`` (required, Keras' signature): one update, built on
      :meth:`minimize`, returning the losses to log.
    - ``make_optimizers()``: the named optimizers (default: one Adam per component).
    - ``optimizer_variables(name)``: what optimizer ``name`` trains (default: the
      same-named component).
    - ``prepare_data(data)``: the data it trains on, checked and adapted
      (default: :meth:`check_data`, then ``data`` unchanged).
    - ``check_data(data)``: refuse data it cannot train on (default: image shape,
      class labels).
    - ``preview(n, *, seed)``: the per-epoch sample grid (default: ``sample``);
      an iterative sampler may draw it with fewer steps.
    - ``restore_components(missing)``: fill in the training-only components a
      published file leaves out (default: nothing).
    - ``example_data(n)``: a small data source of ``n`` examples, for the
      conformance kit's train step; required of models conditioned on anything
      but class labels or images (default: raises ``NotImplementedError``).
    - ``sample_shape``: the shape of the images ``sample`` returns (default:
      the config's ``image_shape``).

    A subclass reads its options from :attr:`settings` and calls
    :meth:`minimize` for each update; everything else is the core's.
    """

    spec: ClassVar[ModelSpec]

    def __init__(self, config: Mapping[str, Any] | None = None, **overrides: Any) -> None:
        """Resolve ``config`` and ``overrides`` against the spec (see :meth:`ModelSpec.build`).

        The spec is the one building this model (``spec.build(config)``, as
        :func:`genzoo_core.create` and :func:`genzoo_core.load` do), else the
        class attribute ``spec``; no registry is consulted.
        """
        spec = _registered_spec(type(self))
        if spec is None:
            raise TypeError(f"{type(self).__name__} must set the class attribute 'spec'")
        super().__init__(name=spec.name)
        self.spec = spec
        self._genzoo_config = self.spec.resolve_config(config, **overrides)
        self._genzoo_optimizers: dict[str, keras.optimizers.Optimizer] = {}

    # -- the contract ----------------------------------------------------------

    @property
    def config(self) -> dict[str, Any]:
        """A copy of the JSON-serialisable configuration that rebuilds this model."""
        # Keras wraps dict attributes in tracking containers that refer back to the
        # model; a JSON round trip copies the values alone (deepcopy would copy the model).
        return json.loads(json.dumps(self._config_values))

    @property
    def settings(self) -> Mapping[str, Any]:
        """The resolved configuration, read-only: what a subclass reads its options from.

        A ``types.MappingProxyType`` made once when the model is built: lists are
        tuples and nested mappings are proxies too, so nothing can be changed
        through it and reading it costs no copy. :attr:`config` is the JSON
        copy to serialise or to build a changed model from.
        """
        return self._settings_view

    @property
    def _genzoo_config(self) -> dict[str, Any]:
        """Deprecated: the configuration; read :attr:`settings` (read-only) instead."""
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if not caller.startswith(_FRAMEWORK_MODULES):
            warnings.warn(
                f"{type(self).__name__}: self._genzoo_config is deprecated; read the "
                f"configuration from self.settings (a read-only mapping)",
                DeprecationWarning, stacklevel=2,
            )
        return self._config_values

    @_genzoo_config.setter
    def _genzoo_config(self, values: Mapping[str, Any]) -> None:
        # The core's own storage; the read-only view is made once, here, from a JSON
        # copy (the stored dict is wrapped by Keras' attribute tracking).
        self._config_values = values
        self._settings_view = _read_only(json.loads(json.dumps(values)))

    @property
    def capabilities(self) -> frozenset[Capability]:
        """The capabilities declared in the spec."""
        return self.spec.capabilities

    @property
    def components(self) -> dict[str, keras.Model]:
        """Component name -> Keras model, in the order the spec lists them."""
        return {name: getattr(self, name) for name in self.spec.components}

    def sample(
        self, n: int, *, condition: Any = None, seed: int | None = None, **options: Any
    ) -> np.ndarray:
        """Draw ``n`` images: float32, NHWC, values in [0, 1].

        Args:
            n: number of images, at least 1.
            condition: what the model is conditioned on (class labels, input
                images, captions); ``None`` picks the model's default.
            seed: the same seed gives the same images; ``None`` is random.
            **options: the sampling options the spec declares
                (:attr:`~genzoo_core.plugin.ModelSpec.sample_options`, e.g. an
                iterative sampler's ``steps``), checked and handed to
                ``generate``; ``None`` means the model's default.
        """
        if Capability.SAMPLE not in self.spec.capabilities:
            raise GenzooError(
                f"'{self.spec.name}' draws no images: it is an auxiliary network of "
                f"'{self.spec.auxiliary}' (genzoo sample {self.spec.auxiliary} draws them)"
            )
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise GenzooError(f"n must be a positive integer, got {n!r}")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
        ):
            raise GenzooError(f"seed must be a non-negative integer or None, got {seed!r}")
        options = self.spec.check_sample_options(options)
        rng = np.random.default_rng(seed)
        progress = active_progress()
        with progress.call(int(n)) if progress is not None else contextlib.nullcontext():
            images = self.generate(int(n), condition=condition, rng=rng, **options)
        return check_images(images, n, f"{type(self).__name__}.generate", self.sample_shape)

    def report_progress(self, done: int, total: int) -> None:
        """Tell whoever shows progress that ``done`` of ``total`` sampling steps are finished.

        An iterative sampler calls this after each step of ``generate``; inside
        :func:`genzoo_core.progress.sampling_progress` (``genzoo sample`` and
        ``genzoo eval`` open one) it moves the progress bar, elsewhere it does nothing.
        """
        progress = active_progress()
        if progress is not None:
            progress.step(done, total)

    @property
    def sample_shape(self) -> tuple[int, ...] | None:
        """(height, width, channels) of the images ``sample`` returns, if the model declares it.

        The default reads the config's ``image_shape``; a model whose output size
        differs from that key overrides this.
        """
        shape = self._config_values.get("image_shape")
        return tuple(int(d) for d in shape) if shape else None

    def class_labels(self, n: int, condition: Any) -> np.ndarray:
        """``condition`` as int32 class labels of shape ``(n,)`` in ``[0, num_classes)``.

        For class-conditional models (the config's ``num_classes``): ``None``
        gives the class grid ``arange(n) % num_classes``; anything else must
        already be integer labels of that shape, or a ConfigError says what to pass.
        """
        k = int(self._config_values["num_classes"])
        name = self.spec.name
        if condition is None:
            return (np.arange(n) % k).astype(np.int32)
        labels = np.asarray(condition)
        if labels.dtype == bool or labels.dtype.kind not in "iu":
            raise ConfigError(
                f"{name} labels must be integers in [0, {k}), got an array of dtype "
                f"{labels.dtype}: pass e.g. condition=np.full(n, 7)"
            )
        if labels.shape != (n,):
            raise ConfigError(
                f"{name} needs one label per image: shape ({n},) for n={n}, got shape "
                f"{labels.shape}"
            )
        if labels.min() < 0 or labels.max() >= k:
            bad = labels[(labels < 0) | (labels >= k)]
            raise ConfigError(
                f"{name} labels must lie in [0, {k}) (the model has {k} classes), got {bad[0]}"
            )
        return labels.astype(np.int32)

    def generate(
        self, n: int, *, condition: Any, rng: np.random.Generator, **options: Any
    ) -> np.ndarray:
        """Return ``n`` images in [0, 1], NHWC, drawing all randomness from ``rng``.

        ``options`` are the declared sampling options the caller set (checked
        against the spec; options left unset are not passed).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")

    def preview(self, n: int, *, seed: int) -> np.ndarray:
        """Images for the per-epoch sample grid (by default, ``sample(n, seed=seed)``)."""
        return self.sample(n, seed=seed)

    # -- training --------------------------------------------------------------

    def example_data(self, n: int) -> Any:
        """A data source of ``n`` examples this model trains on, for tests and the kit.

        The conformance kit makes random images, labels, pairs or domains itself;
        a model conditioned on anything else (captions, ...) overrides this to
        return a source of what its ``train_step`` expects. The default raises
        ``NotImplementedError`` saying so.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no example_data(n): a '{self.spec.name}' model is "
            f"conditioned on {self.spec.condition.value}, so override "
            f"GenerativeModel.example_data(n) to return a data source of n examples, or pass "
            f"train_data= (a function returning its training data) to the conformance kit"
        )

    def check_data(self, data: Any) -> None:
        """Raise :class:`~genzoo_core.DataError` if ``data`` (a DataSource) cannot train this.

        The default checks ``image_shape`` and, for class-conditional models,
        labels and ``num_classes``, when the config has those keys.
        """
        from genzoo_core.errors import DataError
        from genzoo_core.spec import Condition

        config = self._config_values
        shape = config.get("image_shape")
        if shape is not None and tuple(data.image_shape) != tuple(shape):
            raise DataError(
                f"{data.name} has images of shape {tuple(data.image_shape)}, but this "
                f"'{self.spec.name}' model is configured for {tuple(shape)}: pick matching "
                f"data or pass --config image_shape=..."
            )
        if self.spec.condition == Condition.CLASS_LABEL:
            if data.labels is None:
                raise DataError(f"'{self.spec.name}' needs class labels; {data.name} has none")
            classes = config.get("num_classes")
            labels = getattr(data, "labels", None)
            largest = int(labels.max()) if labels is not None and len(labels) else -1
            needed = max(data.num_classes, largest + 1)
            if classes is not None and needed > classes:
                # Labels the model has no class for would train it silently on garbage.
                raise DataError(
                    f"{data.name} has {needed} classes (labels 0 to {needed - 1}) but this "
                    f"'{self.spec.name}' model has num_classes={classes}: train with "
                    f"--config num_classes={needed}, or use data with {classes} classes"
                )

    def prepare_data(self, data: Any) -> Any:
        """Return the data this model trains on, checked (and adapted where it can be).

        The Trainer calls this before building its input pipeline. The default
        runs :meth:`check_data` and returns ``data`` unchanged; image-to-image
        models override it to resize pairs or domains to their configured size.
        """
        self.check_data(data)
        return data

    def make_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """Create the optimizers from the config, keyed by what they train.

        The default makes one ``keras.optimizers.Adam`` per component the spec
        names, each named after its component, from the config keys
        ``learning_rate``, ``beta_1`` and ``beta_2`` where the config has them
        (Keras' defaults where it does not). Override it for other optimizers,
        schedules, or optimizers that train several components together (then
        override :meth:`optimizer_variables` too).
        """
        settings = self.settings
        options = {key: settings[key] for key in ("learning_rate", "beta_1", "beta_2")
                   if key in settings}
        return {name: keras.optimizers.Adam(**options, name=name)
                for name in self.spec.components}

    def optimizer_variables(self, name: str) -> list[keras.Variable]:
        """The variables optimizer ``name`` updates (default: the same-named component)."""
        return list(self.components[name].trainable_variables)

    def minimize(self, tape: tf.GradientTape, loss: tf.Tensor, name: str) -> None:
        """One update of optimizer ``name``: the gradients of ``loss``, scaled for the replicas.

        Compute ``loss`` (the mean over this replica's batch) inside the
        ``with tf.GradientTape() as tape:`` block and call this after it::

            with tf.GradientTape() as tape:
                d_loss = self.adversarial_loss.discriminator(real_logits, fake_logits)
            self.minimize(tape, d_loss, "discriminator")

        The loss is divided by the number of replicas in sync on ``tape`` itself
        (see :func:`replica_scale`): Keras optimizers sum gradients across
        replicas, so the update is that of the global-batch mean under any
        ``tf.distribute`` strategy, and unchanged on a single device. The
        gradients are taken with respect to :meth:`optimizer_variables` and
        applied by ``self.optimizers[name]``.

        Mixed precision (see :mod:`genzoo_core.precision`) needs nothing of the
        caller but a float32 loss: a loss in another float dtype is cast to
        float32 here. Under ``mixed_float16`` the loss is also scaled
        dynamically on the tape and the gradients unscaled before they are
        applied (``keras.optimizers.LossScaleOptimizer`` around the optimizer,
        see :meth:`loss_scale_optimizer`); a step whose gradients overflow is
        skipped and the scale halved.
        """
        if getattr(tape, "_recording", False):
            raise GenzooError(
                f"minimize(tape, loss, {name!r}) was called inside 'with tape:'; call it "
                f"after the with block, where the loss has been recorded"
            )
        # Re-entering the tape records the division, so it is differentiated like a
        # loss scaled inside the block; ops outside any 'with tape' would be invisible.
        scaler = self.loss_scale_optimizer(name)
        with tape:
            loss = tf.convert_to_tensor(loss)
            if loss.dtype.is_floating and loss.dtype != tf.float32:
                loss = tf.cast(loss, tf.float32)
            scaled = replica_scale(loss)
            if scaler is not None:
                scaled = scaler.scale_loss(scaled)
        variables = self.optimizer_variables(name)
        gradients = tape.gradient(scaled, variables)
        optimizer = scaler if scaler is not None else self.optimizers[name]
        optimizer.apply_gradients(zip(gradients, variables, strict=True))

    def loss_scale_optimizer(self, name: str) -> keras.optimizers.LossScaleOptimizer | None:
        """The loss-scaling wrapper of optimizer ``name`` under ``mixed_float16``, else ``None``.

        :meth:`compile` wraps each optimizer of a model built under the
        ``mixed_float16`` policy in a ``keras.optimizers.LossScaleOptimizer``
        (a dynamic scale, starting at 32768); :meth:`minimize` scales the
        loss with it and applies the gradients through it, which unscales them
        and updates the wrapped optimizer. :attr:`optimizers` stays the
        wrapped ones: checkpoints hold their state, not the loss scale, which
        a resumed run finds again within a few steps.
        """
        return getattr(self, "_genzoo_loss_scalers", {}).get(name)

    def finalize_weights(self) -> list[str]:
        """Put each optimizer's moving average of its variables into the weights.

        An optimizer made with ``use_ema=True`` keeps an exponential moving average
        of the variables it updates; as Keras' ``fit`` does when training ends,
        this overwrites those variables with their averages. The trainer calls it
        just before writing a finished run's ``model.h5`` (checkpoints keep the
        raw weights and the averages, so a resumed run goes on exactly).

        Returns:
            The names of the optimizers whose averages were applied.
        """
        applied = []
        for name, optimizer in self.optimizers.items():
            if getattr(optimizer, "use_ema", False) and optimizer.built:
                optimizer.finalize_variable_values(self.optimizer_variables(name))
                applied.append(name)
        return applied

    @property
    def optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """The named optimizers created by :meth:`compile`."""
        if not self._genzoo_optimizers:
            raise GenzooError(f"{type(self).__name__} is not compiled: call model.compile() first")
        return self._genzoo_optimizers

    def compile(self, **kwargs: Any) -> None:
        """Create the optimizers (call inside ``strategy.scope()`` when distributing).

        Keyword arguments are passed to ``keras.Model.compile``; the optimizers
        themselves come from the config via :meth:`make_optimizers`.
        """
        super().compile(**kwargs)
        self._genzoo_optimizers = dict(self.make_optimizers())
        # float16 gradients underflow without loss scaling; bfloat16 has float32's range.
        self._genzoo_loss_scalers = {
            name: keras.optimizers.LossScaleOptimizer(optimizer, name=f"{name}_loss_scale")
            for name, optimizer in self._genzoo_optimizers.items()
        } if self.dtype_policy.name == "mixed_float16" else {}

    def build_optimizers(self) -> None:
        """Create every optimizer's slot variables now (needed before restoring them)."""
        for name, optimizer in self.optimizers.items():
            if not optimizer.built:
                optimizer.build(self.optimizer_variables(name))
            scaler = self.loss_scale_optimizer(name)
            if scaler is not None and not scaler.built:
                scaler.build(self.optimizer_variables(name))

    # -- weights ---------------------------------------------------------------

    def save_weights(
        self,
        filepath: str,
        overwrite: bool = True,
        *,
        metadata: Mapping[str, Any] | None = None,
        precision: str | None = None,
        leave_out_training: bool = False,
    ) -> None:
        """Write every component, the config and ``metadata`` to one HDF5 file.

        The file is written to a temporary name and renamed, so an interrupted
        save never leaves a half-written file. ``leave_out_training=True``
        writes only the components sampling needs (see
        :attr:`~genzoo_core.plugin.ModelSpec.component_use`), as ``genzoo
        publish`` does. See :mod:`genzoo_core.weights`.
        """
        from genzoo_core import weights

        if not overwrite and tf.io.gfile.exists(filepath):
            raise GenzooError(f"{filepath} exists; pass overwrite=True to replace it")
        weights.save_weights(self, filepath, metadata=metadata, precision=precision,
                             leave_out_training=leave_out_training)

    def load_weights(self, filepath: str, skip_mismatch: bool = False, **kwargs: Any) -> None:
        """Load a genzoo weights file into this model, checking that it fits."""
        from genzoo_core import weights

        if skip_mismatch:
            raise ConfigError("genzoo weights never load partially; skip_mismatch is unsupported")
        weights.load_weights(self, filepath)

    def restore_components(self, missing: list[str]) -> None:
        """Fill in the training-only components a loaded file left out.

        A published file leaves out the components the spec marks
        ``"training"`` in :attr:`~genzoo_core.plugin.ModelSpec.component_use`.
        Loading one assigns every component it holds, then calls this with the
        names of those it lacks; they still hold the weights they were built
        with. Override it so that fine-tuning can start from a published file:
        a diffusion model copies its averaged network into its training one::

            def restore_components(self, missing):
                if "net" in missing:
                    self.net.set_weights(self.ema.get_weights())

        The default does nothing (sampling needs none of them). If this raises,
        the load fails and the model is left as it was before it.

        Args:
            missing: the component names the file left out, in the spec's order.
        """
        return None

    def initialize_from(
        self, source: GenerativeModel, components: Mapping[str, str] | None = None
    ) -> list[str]:
        """Start from another model's weights, layer by layer (a recipe stage's ``init``).

        ``components`` maps this model's components to ``source``'s (default:
        every component both have). Within each pair, a layer takes the weights of
        the same-named source layer when their shapes agree; the others keep the
        weights they were built with. Only weights are copied: optimizers start
        afresh. Override it where new layers need a particular start (a deepened
        network's extra layers as the identity, say).

        Returns:
            The ``component/layer`` names left as built.

        Raises:
            ConfigError: a named component is missing on either side.
        """
        if components is None:
            components = {c: c for c in self.spec.components if c in source.spec.components}
        left: list[str] = []
        for target_name, source_name in components.items():
            for model, name in ((self, target_name), (source, source_name)):
                if not isinstance(getattr(model, name, None), keras.Model):
                    raise ConfigError(f"cannot start '{self.spec.name}' from "
                                      f"'{source.spec.name}': '{model.spec.name}' has no "
                                      f"component '{name}'")
            known = {layer.name: layer for layer in getattr(source, source_name).layers}
            for layer in getattr(self, target_name).layers:
                match = known.get(layer.name)
                shapes = [tuple(w.shape) for w in layer.weights]
                if match is not None and layer.weights and (
                    [tuple(w.shape) for w in match.weights] == shapes
                ):
                    layer.set_weights(match.get_weights())
                elif layer.weights:
                    left.append(f"{target_name}/{layer.name}")
        return left

    # -- helpers for subclasses -----------------------------------------------

    @staticmethod
    def predict_in_batches(
        fn: Callable[..., Any], *inputs: np.ndarray, batch_size: int = 256
    ) -> np.ndarray:
        """Apply a (compiled) function to numpy inputs batch by batch; concatenate.

        Floats of less than 32 bits (a model built under a mixed-precision
        policy computes in bfloat16 or float16) come back as float32.
        """
        n = len(inputs[0])
        outputs = [
            to_numpy(fn(*(x[start : start + batch_size] for x in inputs)))
            for start in range(0, n, batch_size)
        ]
        return np.concatenate(outputs, axis=0)  # to_numpy widened narrow floats
