"""Model, weights and dataset specifications.

A plugin describes what it offers with these plain dataclasses. They are cheap:
building a spec imports nothing heavy, so ``genzoo list`` never loads TensorFlow.
The model class itself is named by an import string (``"pkg.module:Class"``) and
imported only when a model is built, by :meth:`ModelSpec.build`, which hands the
spec in: a model never looks itself up in a registry.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from genzoo_core import schema as _schema
from genzoo_core.errors import ConfigError, PluginError, UnknownNameError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
URL_SCHEMES = ("https://", "http://")

# The (class, spec) that ModelSpec.build is building right now. A context variable, not an
# argument, because plugin classes take ``(config, **overrides)`` and pass exactly those on to
# GenerativeModel.__init__: an extra keyword would land among the config overrides.
_BUILDING: ContextVar[tuple[type, ModelSpec] | None] = ContextVar("genzoo_building", default=None)


def _enum(kind: type[Enum], value: Any, what: str) -> Any:
    """``kind(value)``, or a PluginError listing the allowed values."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in kind)
        raise PluginError(f"{what} {value!r} is not one of {allowed}") from None


def _import(target: str, what: str) -> Any:
    """Import ``"package.module:attr.attr"`` for ``what``; any failure is a PluginError.

    The module is plugin code: whatever its import raises (``SystemExit`` included,
    ``KeyboardInterrupt`` excepted) is reported with the name of what needed it.
    """
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - plugin code may raise anything
        raise PluginError(
            f"cannot import {target} ({what}): {type(exc).__name__}: {exc}. Reinstall the "
            f"plugin that provides it, or see 'genzoo plugins -v'."
        ) from exc
    return obj


def _strings(value: Any, what: str) -> tuple[str, ...]:
    """A tuple of strings from a list or tuple; a bare string is an error, not its letters."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise PluginError(f"{what} must be a list of strings, got {value!r}")
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise PluginError(f"{what} must be a list of strings, got {value!r}")
    return items


class Condition(str, Enum):
    """What a model is conditioned on, and so which data it trains on."""

    UNCONDITIONAL = "unconditional"
    """Images alone (GAN, DCGAN, VAE, PixelCNN, RBM)."""
    CLASS_LABEL = "class_label"
    """Images with integer class labels (cGAN, class-conditional PixelCNN)."""
    PAIRED_IMAGE = "paired_image"
    """Aligned image pairs A -> B (pix2pix)."""
    UNPAIRED_DOMAINS = "unpaired_domains"
    """Two unaligned image sets A <-> B (CycleGAN)."""
    TEXT = "text"
    """Images with captions or text embeddings (StackGAN)."""


class Role(str, Enum):
    """The part a component plays in its model (the values of :attr:`ModelSpec.roles`).

    Each has a protocol of :mod:`genzoo_core.protocols` and a shape rule that
    :func:`genzoo_core.protocols.role_problem` (and the conformance kit) checks.
    """

    GENERATOR = "generator"
    """Latent and condition to images (:class:`~genzoo_core.protocols.Generator`)."""
    DISCRIMINATOR = "discriminator"
    """Images and condition to scores (:class:`~genzoo_core.protocols.Discriminator`)."""
    ENCODER = "encoder"
    """Images to latent distribution parameters (:class:`~genzoo_core.protocols.Encoder`)."""
    DECODER = "decoder"
    """Latents to image distribution parameters (:class:`~genzoo_core.protocols.Decoder`)."""


class Capability(str, Enum):
    """Methods a model offers beyond the contract every model satisfies."""

    SAMPLE = "sample"
    """``sample(n, *, condition=None, seed=None)``: new images (every generative model)."""
    TRANSLATE = "translate"
    """``translate(x, **kwargs)``: image-to-image (pix2pix, CycleGAN)."""
    LOG_PROB = "log_prob"
    """``log_prob(x)`` in nats per image, exact or a bound (PixelCNN, VAE, RBM)."""
    ENCODE = "encode"
    """``encode(x)``: images to latent codes or hidden units (VAE, RBM)."""
    DECODE = "decode"
    """``decode(z)``: latent codes to images (VAE, RBM)."""
    RECONSTRUCT = "reconstruct"
    """``reconstruct(x)``: encode then decode (VAE, RBM)."""


@dataclass(frozen=True)
class WeightsSpec:
    """One set of pretrained weights a plugin offers.

    Exactly one of ``file`` (a relative path inside the plugin's package, shipped
    in its wheel) or ``url`` (an ``https://`` or ``http://`` address, fetched into
    ``GENZOO_HOME`` on first use) is set. The file's ``sha256`` is always checked
    before it is used, and its ``size`` in bytes (optional, but record it with
    ``url``: the conformance kit asks for it) caps what a download may write;
    without it a download may write at most ``hub.UNSIZED_LIMIT`` bytes.
    """

    name: str
    sha256: str
    file: str | None = None
    url: str | None = None
    description: str = ""
    dataset: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    size: int | None = None

    def validate(self, model: str) -> None:
        """Raise :class:`PluginError` if this entry is malformed."""
        name = self.name if isinstance(self.name, str) else repr(self.name)
        where = f"weights '{model}/{name}'"
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise PluginError(f"{where}: name must match {NAME_PATTERN.pattern}")
        if not isinstance(self.sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise PluginError(f"{where}: sha256 must be 64 lowercase hex digits")
        if (self.file is None) == (self.url is None):
            raise PluginError(f"{where}: set exactly one of file= (packaged) or url= (download)")
        if self.file is not None:
            _check_package_path(self.file, where)
        if self.url is not None:
            if not isinstance(self.url, str) or not self.url.startswith(URL_SCHEMES):
                raise PluginError(f"{where}: url must start with https:// or http://, got "
                                  f"{self.url!r}")
        if self.size is not None and (
            isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1
        ):
            raise PluginError(f"{where}: size must be a positive number of bytes, got "
                              f"{self.size!r}")
        if not isinstance(self.metrics, Mapping):
            raise PluginError(f"{where}: metrics must be a dict of name: number")


def _check_package_path(path: Any, where: str) -> None:
    """A packaged file is a relative path that stays inside the plugin's package."""
    if not isinstance(path, str) or not path.strip():
        raise PluginError(f"{where}: file must be a path inside the plugin package, got {path!r}")
    posix, windows = PurePosixPath(path), PureWindowsPath(path)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or path.startswith("~"):
        raise PluginError(
            f"{where}: file {path!r} is absolute; give a path inside the plugin package, e.g. "
            f"'weights/{PurePosixPath(path).name}'"
        )
    if ".." in posix.parts or ".." in windows.parts:
        raise PluginError(
            f"{where}: file {path!r} leaves the plugin package ('..'); give a path inside it, "
            f"e.g. 'weights/{PurePosixPath(path).name}'"
        )


@dataclass(frozen=True)
class ModelSpec:
    """Everything genzoo needs to list, build, train and load one model.

    Attributes:
        name: unique model name, e.g. ``"dcgan"``; also the first half of
            ``"dcgan/mnist"``.
        builder: import string of the model class, ``"package.module:Class"``;
            imported only when a model is built.
        description: one line for ``genzoo list``.
        components: names of the Keras models the model is made of, e.g.
            ``("generator", "discriminator")``.
        condition: what the model is conditioned on (see :class:`Condition`).
        capabilities: what it can do besides the contract (see :class:`Capability`).
        default_config: JSON-serialisable configuration the class is built from.
        weights: the pretrained weights on offer; the first is the default.
        config_schema: key -> :class:`genzoo_core.schema.Field`, the type and
            range of config keys; keys left out are checked against the type of
            their default value. Every config a model is built from is checked.
        roles: component name -> the :class:`Role` it plays, e.g.
            ``{"generator": "generator", "discriminator": "discriminator"}``;
            components that play none of them (a text encoder, an energy-based
            or autoregressive network) are left out. Added in API 1.2.
        distribution: the installed distribution that registered it (set by the
            registry).
        version: that distribution's version (set by the registry).
    """

    name: str
    builder: str
    description: str = ""
    components: tuple[str, ...] = ()
    condition: Condition = Condition.UNCONDITIONAL
    capabilities: frozenset[Capability] = frozenset({Capability.SAMPLE})
    default_config: Mapping[str, Any] = field(default_factory=dict)
    weights: tuple[WeightsSpec, ...] = ()
    config_schema: Mapping[str, _schema.Field] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)
    distribution: str = ""
    version: str = ""

    def __post_init__(self) -> None:
        # Accept plain strings and lists from plugin authors; store the canonical types.
        what = f"ModelSpec {self.name!r}"
        for attr in ("name", "builder", "description", "distribution", "version"):
            if not isinstance(getattr(self, attr), str):
                raise PluginError(f"{what}: {attr} must be a string, got "
                                  f"{getattr(self, attr)!r}")
        object.__setattr__(self, "condition", _enum(Condition, self.condition,
                                                    f"{what}: condition"))
        capabilities = self.capabilities
        if isinstance(capabilities, (str, Capability)) or not isinstance(
            capabilities, (list, tuple, set, frozenset)
        ):
            raise PluginError(f"{what}: capabilities must be a list, got {capabilities!r}")
        object.__setattr__(self, "capabilities", frozenset(
            _enum(Capability, c, f"{what}: capability") for c in capabilities
        ))
        object.__setattr__(self, "components", _strings(self.components, f"{what}: components"))
        if isinstance(self.weights, WeightsSpec) or not isinstance(self.weights, (list, tuple)):
            raise PluginError(f"{what}: weights must be a list of WeightsSpec, got "
                              f"{self.weights!r}")
        for entry in self.weights:
            if not isinstance(entry, WeightsSpec):
                raise PluginError(f"{what}: weights must be WeightsSpec entries, got {entry!r}")
        object.__setattr__(self, "weights", tuple(self.weights))
        if not isinstance(self.default_config, Mapping):
            raise PluginError(f"{what}: default_config must be a dict, got "
                              f"{type(self.default_config).__name__}")
        object.__setattr__(self, "default_config", dict(self.default_config))
        if not isinstance(self.config_schema, Mapping) or not all(
            isinstance(rule, _schema.Field) for rule in self.config_schema.values()
        ):
            raise PluginError(f"{what}: config_schema must map config keys to "
                              f"genzoo_core.schema fields")
        object.__setattr__(self, "config_schema", dict(self.config_schema))
        if not isinstance(self.roles, Mapping) or not all(
            isinstance(component, str) for component in self.roles
        ):
            raise PluginError(f"{what}: roles must map component names to roles, got "
                              f"{self.roles!r}")
        object.__setattr__(self, "roles", {
            component: _enum(Role, role, f"{what}: role of component {component!r}")
            for component, role in self.roles.items()
        })

    def validate(self) -> None:
        """Raise :class:`PluginError` naming the first problem with this spec."""
        if not NAME_PATTERN.match(self.name):
            raise PluginError(
                f"model name {self.name!r} is invalid: use lowercase letters, digits, '-' "
                f"and '_', starting with a letter ({NAME_PATTERN.pattern})"
            )
        if not re.fullmatch(r"[\w.]+:[\w.]+", self.builder):
            raise PluginError(
                f"model '{self.name}': builder {self.builder!r} must be 'package.module:Class'"
            )
        if not self.components:
            raise PluginError(f"model '{self.name}': list at least one component")
        unknown = sorted(set(self.roles) - set(self.components))
        if unknown:
            raise PluginError(
                f"model '{self.name}': roles name component(s) {', '.join(unknown)} that "
                f"components does not list ({', '.join(self.components)})"
            )
        if Capability.SAMPLE not in self.capabilities:
            raise PluginError(f"model '{self.name}': every model must declare 'sample'")
        try:
            json.dumps(self.default_config)
        except (TypeError, ValueError) as exc:
            raise PluginError(
                f"model '{self.name}': default_config is not JSON-serialisable ({exc})"
            ) from exc
        stray = sorted(set(self.config_schema) - set(self.default_config))
        if stray:
            raise PluginError(
                f"model '{self.name}': config_schema names key(s) {', '.join(stray)} that "
                f"default_config lacks"
            )
        try:
            _schema.check_config(self.name, self.default_config, self.default_config,
                                 self.config_schema)
        except ConfigError as exc:
            raise PluginError(f"its default_config breaks its config_schema: {exc}") from None
        seen = set()
        for w in self.weights:
            w.validate(self.name)
            if w.name in seen:
                raise PluginError(f"model '{self.name}': weights '{w.name}' listed twice")
            seen.add(w.name)

    @property
    def package(self) -> str:
        """The top-level import package of the plugin (where packaged weights live)."""
        return self.builder.split(":", 1)[0].split(".", 1)[0]

    def get_weights(self, name: str | None) -> WeightsSpec:
        """Return the weights entry called ``name`` (the default one for ``None``)."""
        if not self.weights:
            raise UnknownNameError(
                f"model '{self.name}' ships no pretrained weights: train it with "
                f"'genzoo train {self.name} ...' and pass the resulting .h5 file instead"
            )
        if name is None:
            return self.weights[0]
        for w in self.weights:
            if w.name == name:
                return w
        available = ", ".join(f"{self.name}/{w.name}" for w in self.weights)
        raise UnknownNameError(
            f"model '{self.name}' has no weights '{name}'; available: {available}"
        )

    def load_class(self) -> type:
        """Import and return the model class named by :attr:`builder`.

        Raises:
            PluginError: the import failed, whatever the plugin's code raised.
        """
        owner = f" from {self.distribution}" if self.distribution else ""
        return _import(self.builder, f"the class of model '{self.name}'{owner}")

    def build(self, config: Mapping[str, Any] | None = None, *, cls: type | None = None) -> Any:
        """Build this spec's model from ``config`` and hand this spec in.

        The model's ``spec`` is this very object (for a registry's spec, the copy
        that knows :attr:`distribution` and :attr:`version`), so building never
        looks the model up in a registry. Every place that builds a model from a
        spec goes through here; a class instantiated directly (``MyModel(config)``)
        keeps its class-level ``spec``.

        Args:
            config: the configuration, passed to the class as it is (the class
                merges it over :attr:`default_config` and checks it).
            cls: the class to build, when it is not :meth:`load_class` (a subclass
                of it, say); default: the class :attr:`builder` names.

        Raises:
            PluginError: the class cannot be imported.
        """
        cls = self.load_class() if cls is None else cls
        token = _BUILDING.set((cls, self))
        try:
            return cls(None if config is None else dict(config))
        finally:
            _BUILDING.reset(token)

    @property
    def training_keys(self) -> frozenset[str]:
        """Config keys that change training but not the variables (may change on resume)."""
        return frozenset(_schema.training_keys(self.default_config, self.config_schema))

    def check_config(self, config: Mapping[str, Any]) -> None:
        """Raise :class:`ConfigError` naming the first key whose value breaks its rule."""
        _schema.check_config(self.name, config, self.default_config, self.config_schema)

    def resolve_config(
        self, config: Mapping[str, Any] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """Merge ``config`` and ``overrides`` over the defaults, refusing unknown keys.

        The result is checked against :attr:`config_schema` (types and ranges), so
        a model is never built from a config that could not have been meant.
        """
        if config is not None and not isinstance(config, Mapping):
            raise ConfigError(
                f"the config of model '{self.name}' must be a JSON object of key: value "
                f"pairs, got {type(config).__name__}"
            )
        merged = dict(self.default_config)
        for source in (config or {}), overrides:
            unknown = sorted(set(source) - set(merged))
            if unknown:
                raise ConfigError(
                    f"model '{self.name}' has no config key(s) {', '.join(unknown)}; "
                    f"valid keys: {', '.join(sorted(merged))}"
                )
            merged.update(source)
        self.check_config(merged)
        return merged


def spec_being_built(cls: type) -> ModelSpec | None:
    """The spec whose :meth:`ModelSpec.build` is building ``cls`` now, else ``None``.

    Only an instance of exactly that class takes it: a different model that the
    one being built creates inside its own ``__init__`` keeps its class's spec.
    """
    building = _BUILDING.get()
    if building is not None and building[0] is cls:
        return building[1]
    return None


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset that ``genzoo train --data NAME`` can use.

    Attributes:
        name: e.g. ``"mnist"``.
        loader: import string of a function ``(split: str) -> DataSource``.
        description: one line for listings.
        condition: the richest condition the data supports (class-labelled data
            also serves unconditional models).
        image_shape: (height, width, channels) of every image.
        num_classes: number of classes for labelled data, else 0.
        distribution: the distribution that registered it (set by the registry).
    """

    name: str
    loader: str
    description: str = ""
    condition: Condition = Condition.UNCONDITIONAL
    image_shape: tuple[int, int, int] = (0, 0, 0)
    num_classes: int = 0
    distribution: str = ""

    def __post_init__(self) -> None:
        what = f"DatasetSpec {self.name!r}"
        for attr in ("name", "loader", "description", "distribution"):
            if not isinstance(getattr(self, attr), str):
                raise PluginError(f"{what}: {attr} must be a string, got "
                                  f"{getattr(self, attr)!r}")
        object.__setattr__(self, "condition", _enum(Condition, self.condition,
                                                    f"{what}: condition"))
        object.__setattr__(self, "image_shape", _shape(self.image_shape, what))
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) or (
            self.num_classes < 0
        ):
            raise PluginError(f"{what}: num_classes must be an integer >= 0, got "
                              f"{self.num_classes!r}")

    def validate(self) -> None:
        """Raise :class:`PluginError` if this spec is malformed."""
        if not NAME_PATTERN.match(self.name):
            raise PluginError(f"dataset name {self.name!r} is invalid ({NAME_PATTERN.pattern})")
        if not re.fullmatch(r"[\w.]+:[\w.]+", self.loader):
            raise PluginError(f"dataset '{self.name}': loader must be 'package.module:function'")

    def load(self, split: str = "train") -> Any:
        """Import the loader and return its :class:`~genzoo_core.data.DataSource`."""
        owner = f" from {self.distribution}" if self.distribution else ""
        return _import(self.loader, f"the loader of dataset '{self.name}'{owner}")(split)


@dataclass(frozen=True)
class FeatureExtractorSpec:
    """A named feature extractor for evaluation metrics (``--features NAME``).

    Attributes:
        name: e.g. ``"mnist-cnn"`` or ``"inception-v3"``.
        builder: import string of a callable returning a
            :class:`~genzoo_core.protocols.FeatureExtractor`; imported only when used.
        description: one line for listings.
        image_shape: the (height, width, channels) it was trained on, or ``None``
            when it resizes any image itself (InceptionV3).
        feature_dim: length of the feature vector used by FID, KID and precision/recall.
        num_classes: classes of its classifier head (for IS and label accuracy), else 0.
        sha256: hash of its weights file, when it ships one (part of the cache key of
            real statistics and of every reported number).
        metrics: its own measured quality, e.g. ``{"test_accuracy": 0.993}``.
        distribution: the distribution that registered it (set by the registry).
    """

    name: str
    builder: str
    description: str = ""
    image_shape: tuple[int, int, int] | None = None
    feature_dim: int = 0
    num_classes: int = 0
    sha256: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    distribution: str = ""

    def __post_init__(self) -> None:
        what = f"FeatureExtractorSpec {self.name!r}"
        for attr in ("name", "builder", "description", "sha256", "distribution"):
            if not isinstance(getattr(self, attr), str):
                raise PluginError(f"{what}: {attr} must be a string, got "
                                  f"{getattr(self, attr)!r}")
        if self.image_shape is not None:
            object.__setattr__(self, "image_shape", _shape(self.image_shape, what))
        for attr in ("feature_dim", "num_classes"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PluginError(f"{what}: {attr} must be an integer >= 0, got {value!r}")

    def validate(self) -> None:
        """Raise :class:`PluginError` if this spec is malformed."""
        if not NAME_PATTERN.match(self.name):
            raise PluginError(
                f"feature extractor name {self.name!r} is invalid: use lowercase letters, "
                f"digits, '-' and '_', starting with a letter ({NAME_PATTERN.pattern})"
            )
        if not re.fullmatch(r"[\w.]+:[\w.]+", self.builder):
            raise PluginError(
                f"feature extractor '{self.name}': builder must be 'package.module:callable'"
            )
        if self.feature_dim < 1:
            raise PluginError(f"feature extractor '{self.name}': feature_dim must be positive")

    def build(self) -> Any:
        """Import the builder and return the extractor."""
        owner = f" from {self.distribution}" if self.distribution else ""
        return _import(self.builder, f"feature extractor '{self.name}'{owner}")()


def _shape(value: Any, what: str) -> tuple[int, int, int]:
    """(height, width, channels) of non-negative integers, or a PluginError."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise PluginError(f"{what}: image_shape must be (height, width, channels), got {value!r}")
    shape = tuple(value)
    if len(shape) != 3 or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise PluginError(f"{what}: image_shape must be (height, width, channels), got {value!r}")
    return shape  # type: ignore[return-value]
