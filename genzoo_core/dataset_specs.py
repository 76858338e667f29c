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
        loader: import string of a function ``(split: str) -> DataSource``; for a
            dataset with ``folder`` or ``archive_url``, ``(folder: Path, split: str)
            -> DataSource``, called with the local folder that holds its files (the
            core's readers, e.g. ``genzoo_core:load_paired_folder``, take exactly that).
        description: one line for listings.
        condition: the richest condition the data supports (class-labelled data
            also serves unconditional models).
        image_shape: (height, width, channels) of every image.
        num_classes: number of classes for labelled data, else 0.
        features: the feature extractor that scores images of this dataset (FID,
            KID, precision/recall), e.g. ``"mnist-cnn"``; ``""``: ``inception-v3``.
        classifiers: the scoring classifiers of this dataset, purpose -> registered
            feature-extractor name: ``{"labels": "mnist-cnn"}`` (label accuracy),
            ``{"domain": ...}`` (unpaired translation), ``{"attributes": ...}`` (text).
        compare_with: the dataset whose images a model's samples are compared with,
            when not this one (``binarized-mnist``: ``mnist``, as likelihood models
            sample grey p(x = 1) images); its likelihood is still scored on this one.
        folder: where its files lie under ``$GENZOO_DATA`` (e.g. ``"pix2pix/maps"``),
            a relative path with ``/``; a copy there always wins over a download.
        archive_url: the official archive that holds the files (``https://`` or
            ``http://``; zip or tar, any compression), fetched into ``$GENZOO_HOME``
            and unpacked the first time the dataset is used without a ``folder`` copy.
        archive_sha256: the archive's sha256 (64 lowercase hex digits), checked before
            it is unpacked; without it the archive is never downloaded, and errors
            only name ``archive_url`` as where to get the files by hand.
        archive_size: the archive's size in bytes, which caps what a download may write.
        archive_folder: the folder inside the archive that holds the dataset (what
            ``folder`` holds under ``$GENZOO_DATA``), e.g. ``"maps"``; ``""``: its top.
        distribution: the distribution that registered it (set by the registry).
    """

    name: str
    loader: str
    description: str = ""
    condition: Condition = Condition.UNCONDITIONAL
    image_shape: tuple[int, int, int] = (0, 0, 0)
    num_classes: int = 0
    features: str = ""
    classifiers: Mapping[str, str] = field(default_factory=dict)
    compare_with: str = ""
    folder: str = ""
    archive_url: str = ""
    archive_sha256: str = ""
    archive_size: int | None = None
    archive_folder: str = ""
    distribution: str = ""

    def __post_init__(self) -> None:
        what = f"DatasetSpec {self.name!r}"
        for attr in ("name", "loader", "description", "features", "compare_with",
                     "distribution"):
            if not isinstance(getattr(self, attr), str):
                raise PluginError(f"{what}: {attr} must be a string, got "
                                  f"{getattr(self, attr)!r}")
        object.__setattr__(self, "condition", _enum(Condition, self.condition,
                                                    f"{what}: condition"))
        object.__setattr__(self, "image_shape", _shape(self.image_shape, what))
        _check_files(self, what)
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) or (
            self.num_classes < 0
        ):
            raise PluginError(f"{what}: num_classes must be an integer >= 0, got "
                              f"{self.num_classes!r}")
        if not isinstance(self.classifiers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.classifiers.items()
        ):
            raise PluginError(f"{what}: classifiers must map purposes to extractor names "
                              f"(strings), e.g. {{'labels': 'mnist-cnn'}}, got "
                              f"{self.classifiers!r}")
        object.__setattr__(self, "classifiers", dict(self.classifiers))

    def validate(self) -> None:
        """Raise :class:`PluginError` if this spec is malformed."""
        if not NAME_PATTERN.match(self.name):
            raise PluginError(f"dataset name {self.name!r} is invalid ({NAME_PATTERN.pattern})")
        named = {"features": self.features, "compare_with": self.compare_with,
                 **{f"classifiers[{k!r}]": v for k, v in self.classifiers.items()}}
        for where, value in named.items():
            if value and not NAME_PATTERN.match(value):
                raise PluginError(f"dataset '{self.name}': {where} {value!r} is not a "
                                  f"registered name ({NAME_PATTERN.pattern})")
        for purpose in self.classifiers:
            if not NAME_PATTERN.match(purpose):
                raise PluginError(f"dataset '{self.name}': classifier purpose {purpose!r} "
                                  f"is invalid ({NAME_PATTERN.pattern})")
        if not re.fullmatch(r"[\w.]+:[\w.]+", self.loader):
            raise PluginError(f"dataset '{self.name}': loader must be 'package.module:function'")

    def load(self, split: str = "train") -> Any:
        """Import the loader and return its :class:`~genzoo_core.data.DataSource`.

        A dataset with ``folder`` or ``archive_url`` is first found under
        ``$GENZOO_DATA``, or in ``$GENZOO_HOME``, downloading and unpacking its archive
        the first time (:func:`genzoo_core.data.dataset_folder`); its loader is then
        called with that folder.
        """
        owner = f" from {self.distribution}" if self.distribution else ""
        loader = _import(self.loader, f"the loader of dataset '{self.name}'{owner}")
        if not (self.folder or self.archive_url):
            return loader(split)
        from genzoo_core.data.archives import dataset_folder  # numpy: imported when used

        return loader(dataset_folder(self), split)


def _check_files(spec: DatasetSpec, what: str) -> None:
    """``folder`` and the ``archive_*`` fields: well-formed, and an archive has a URL."""
    for attr in ("folder", "archive_url", "archive_sha256", "archive_folder"):
        value = getattr(spec, attr)
        if not isinstance(value, str):
            raise PluginError(f"{what}: {attr} must be a string, got {value!r}")
    for attr in ("folder", "archive_folder"):
        value = getattr(spec, attr)
        parts = value.split("/")
        if value and (any(p in ("", ".", "..") for p in parts) or "\\" in value
                      or ":" in value or value.startswith("~")):
            raise PluginError(f"{what}: {attr} must be a relative folder path with '/', "
                              f"without '..', e.g. 'pix2pix/maps', got {value!r}")
    if spec.archive_url and not spec.archive_url.startswith(("https://", "http://")):
        raise PluginError(f"{what}: archive_url must start with https:// or http://, got "
                          f"{spec.archive_url!r}")
    if spec.archive_sha256 and not re.fullmatch(r"[0-9a-f]{64}", spec.archive_sha256):
        raise PluginError(f"{what}: archive_sha256 must be 64 lowercase hex digits, got "
                          f"{spec.archive_sha256!r}")
    size = spec.archive_size
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise PluginError(f"{what}: archive_size must be a positive number of bytes, got "
                          f"{size!r}")
    if not spec.archive_url and (spec.archive_sha256 or size is not None
                                 or spec.archive_folder):
        raise PluginError(f"{what}: archive_sha256, archive_size and archive_folder describe "
                          f"an archive: set archive_url too")


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
