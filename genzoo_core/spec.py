"""Model, weights and dataset specifications.

A plugin describes what it offers with these plain dataclasses. They are cheap:
building a spec imports nothing heavy, so ``genzoo list`` never loads TensorFlow.
The model class itself is named by an import string (``"pkg.module:Class"``) and
imported only when a model is built.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from genzoo_core.errors import ConfigError, PluginError, UnknownNameError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


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

    Exactly one of ``file`` (a path inside the plugin's package, shipped in its
    wheel) or ``url`` (fetched into ``GENZOO_HOME`` on first use) is set. The
    file's ``sha256`` is always checked before it is used.
    """

    name: str
    sha256: str
    file: str | None = None
    url: str | None = None
    description: str = ""
    dataset: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)

    def validate(self, model: str) -> None:
        """Raise :class:`PluginError` if this entry is malformed."""
        where = f"weights '{model}/{self.name}'"
        if not NAME_PATTERN.match(self.name):
            raise PluginError(f"{where}: name must match {NAME_PATTERN.pattern}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256 or ""):
            raise PluginError(f"{where}: sha256 must be 64 lowercase hex digits")
        if (self.file is None) == (self.url is None):
            raise PluginError(f"{where}: set exactly one of file= (packaged) or url= (download)")


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
    distribution: str = ""
    version: str = ""

    def __post_init__(self) -> None:
        # Accept plain strings and lists from plugin authors; store the canonical types.
        object.__setattr__(self, "condition", Condition(self.condition))
        object.__setattr__(
            self, "capabilities", frozenset(Capability(c) for c in self.capabilities)
        )
        object.__setattr__(self, "components", tuple(self.components))
        object.__setattr__(self, "weights", tuple(self.weights))
        object.__setattr__(self, "default_config", dict(self.default_config))

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
        if Capability.SAMPLE not in self.capabilities:
            raise PluginError(f"model '{self.name}': every model must declare 'sample'")
        try:
            json.dumps(self.default_config)
        except TypeError as exc:
            raise PluginError(
                f"model '{self.name}': default_config is not JSON-serialisable ({exc})"
            ) from exc
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
        """Import and return the model class named by :attr:`builder`."""
        module_name, _, attr = self.builder.partition(":")
        module = importlib.import_module(module_name)
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    def resolve_config(
        self, config: Mapping[str, Any] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """Merge ``config`` and ``overrides`` over the defaults, refusing unknown keys."""
        merged = dict(self.default_config)
        for source in (config or {}), overrides:
            unknown = sorted(set(source) - set(merged))
            if unknown:
                raise ConfigError(
                    f"model '{self.name}' has no config key(s) {', '.join(unknown)}; "
                    f"valid keys: {', '.join(sorted(merged))}"
                )
            merged.update(source)
        return merged


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
        object.__setattr__(self, "condition", Condition(self.condition))
        object.__setattr__(self, "image_shape", tuple(self.image_shape))

    def validate(self) -> None:
        """Raise :class:`PluginError` if this spec is malformed."""
        if not NAME_PATTERN.match(self.name):
            raise PluginError(f"dataset name {self.name!r} is invalid ({NAME_PATTERN.pattern})")
        if not re.fullmatch(r"[\w.]+:[\w.]+", self.loader):
            raise PluginError(f"dataset '{self.name}': loader must be 'package.module:function'")

    def load(self, split: str = "train") -> Any:
        """Import the loader and return its :class:`~genzoo_core.data.DataSource`."""
        module_name, _, attr = self.loader.partition(":")
        return getattr(importlib.import_module(module_name), attr)(split)


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
        if self.image_shape is not None:
            object.__setattr__(self, "image_shape", tuple(self.image_shape))

    def validate(self) -> None:
        """Raise :class:`PluginError` if this spec is malformed."""
        if not NAME_PATTERN.match(self.name):
            raise PluginError(f"feature extractor name {self.name!r} is invalid")
        if not re.fullmatch(r"[\w.]+:[\w.]+", self.builder):
            raise PluginError(
                f"feature extractor '{self.name}': builder must be 'package.module:callable'"
            )
        if self.feature_dim < 1:
            raise PluginError(f"feature extractor '{self.name}': feature_dim must be positive")

    def build(self) -> Any:
        """Import the builder and return the extractor."""
        module_name, _, attr = self.builder.partition(":")
        return getattr(importlib.import_module(module_name), attr)()
