"""What a plugin declares of a named dataset and of a feature extractor.

:class:`DatasetSpec` is what ``genzoo train NAME --data DATASET`` accepts besides
a path; :class:`FeatureExtractorSpec` is what ``genzoo eval --features NAME``
scores with. Like every spec they import nothing heavy; the loader and the
builder are import strings, imported only when used. Both are importable from
:mod:`genzoo_core.spec` too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from genzoo_core.errors import PluginError
from genzoo_core.spec_checks import _enum, _import, _shape
from genzoo_core.spec_enums import NAME_PATTERN, Condition


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
