"""The in-memory data sources: images, image pairs, two image domains, captioned images.

Each source holds uint8 NHWC arrays, checks them when it is made, and becomes a
``tf.data.Dataset`` of dicts of float32 images in [0, 1] with ``dataset()``. What
they share (length, image shape, condition, slicing, resizing, shuffling and
batching) is written once here. None of it is required of a source made
elsewhere: the trainer accepts any object that satisfies
:class:`~genzoo_core.data.DataSourceProtocol`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

import numpy as np

from genzoo_core.data.checks import _check_size, check_images, check_labels
from genzoo_core.data.transforms import _jitter, _resize_uint8, _to_unit
from genzoo_core.errors import DataError
from genzoo_core.spec import Condition

DIRECTIONS = ("AtoB", "BtoA")
"""The directions of a paired dataset: ``AtoB`` translates the left halves into the right."""

_Source = TypeVar("_Source", bound="_ArraySource")


class _ArraySource:
    """What the in-memory sources share; each subclass is a dataclass with a ``name`` field.

    ``_IMAGES`` names the array whose length and image shape are the source's, and
    ``_CONDITION`` is the condition of every source of the class.
    """

    name: str
    _IMAGES: ClassVar[str] = "images"
    _CONDITION: ClassVar[Condition]

    def __len__(self) -> int:
        return len(getattr(self, self._IMAGES))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of every image."""
        return tuple(getattr(self, self._IMAGES).shape[1:])  # type: ignore[return-value]

    @property
    def condition(self) -> Condition:
        """The condition this data serves (see each class)."""
        return self._CONDITION

    def _require_uint8(self, what: str, array: np.ndarray) -> None:
        if array.ndim != 4 or array.dtype != np.uint8:
            raise DataError(
                f"{self.name}: {what} must be uint8 NHWC, got {array.dtype} {array.shape}"
            )

    def _sliced(self: _Source, n: int, *fields: str) -> _Source:
        """A copy named ``name[:n]`` that holds the first ``n`` entries of ``fields``."""
        values = {f: getattr(self, f)[:n] for f in fields if getattr(self, f) is not None}
        return replace(self, name=f"{self.name}[:{n}]", **values)  # type: ignore[type-var]

    def _resized(self: _Source, size: int, *fields: str) -> _Source:
        """A copy whose image arrays ``fields`` are ``size`` x ``size``."""
        size = _check_size(size)
        return replace(self, **{f: _resize_uint8(getattr(self, f), size)  # type: ignore[type-var]
                                for f in fields})


def _shuffled(dataset: Any, count: int, shuffle: bool, seed: int | None) -> Any:
    """``dataset`` in an order that changes every epoch, when ``shuffle``; ``seed`` fixes them."""
    if not shuffle:
        return dataset
    return dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)


def _seeded(dataset: Any, seed: int | None) -> Any:
    """Pair each element with a stateless random seed that is new on every pass.

    Random ops inside a ``tf.data`` map draw the same numbers on every pass once a
    global seed is set (``keras.utils.set_random_seed``, as a recipe run does), so
    dynamic binarization and jitter would repeat each epoch. Stateless draws from
    these per-element seeds, re-drawn each iteration, do not; ``seed`` makes the
    sequence reproducible.
    """
    import tensorflow as tf

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(dataset, seeds)


def _batched(dataset: Any, batch_size: int | None) -> Any:
    """Full batches of ``batch_size`` (the remainder dropped); ``dataset`` itself without one."""
    return dataset.batch(batch_size, drop_remainder=True) if batch_size else dataset


@dataclass
class DataSource(_ArraySource):
    """An in-memory image dataset; its condition is ``class_label`` when labelled.

    Attributes:
        name: what it is called in logs and weight metadata (e.g. ``"mnist:train"``).
        images: uint8 array, NHWC.
        labels: int class labels, or ``None``.
        num_classes: number of classes (0 when unlabelled).
        dynamic_binarization: ``dataset()`` yields images of 0s and 1s drawn
            afresh in every batch, each pixel ~ Bernoulli(intensity).
    """

    name: str
    images: np.ndarray
    labels: np.ndarray | None = None
    num_classes: int = 0
    dynamic_binarization: bool = False

    def __post_init__(self) -> None:
        self.images = check_images(self.name, self.images)
        if self.labels is not None:
            self.labels, self.num_classes = check_labels(
                self.name, self.labels, len(self.images), self.num_classes
            )

    @property
    def condition(self) -> Condition:
        """``class_label`` when labels are present, else ``unconditional``."""
        return Condition.CLASS_LABEL if self.labels is not None else Condition.UNCONDITIONAL

    def take(self, n: int) -> DataSource:
        """The first ``n`` examples (for quick runs and tests)."""
        return self._sliced(n, "images", "labels")

    def dataset(
        self, *, shuffle: bool = False, seed: int | None = None, batch_size: int | None = None
    ) -> Any:
        """A ``tf.data.Dataset`` of ``{"images", ["labels"]}`` dicts, images float32 in [0, 1].

        With ``shuffle``, the order changes every epoch; a fixed ``seed`` makes the
        sequence of orders reproducible (and equal across multi-worker processes).
        With ``batch_size``, it yields full batches (the remainder is dropped), and
        converts whole batches to float, which is much cheaper than per example.
        """
        import tensorflow as tf

        tensors: dict[str, np.ndarray] = {"images": self.images}
        if self.labels is not None:
            tensors["labels"] = self.labels.astype(np.int32)
        dataset = tf.data.Dataset.from_tensor_slices(tensors)
        # shuffle the uint8 examples, before they grow 4x as floats
        dataset = _batched(_shuffled(dataset, len(self), shuffle, seed), batch_size)

        def to_float(example: dict[str, Any]) -> dict[str, Any]:
            return {**example, "images": _to_unit(example["images"])}

        def binarized(example: dict[str, Any], key: Any) -> dict[str, Any]:
            images = _to_unit(example["images"])
            draws = tf.random.stateless_uniform(tf.shape(images), seed=key)
            return {**example, "images": tf.cast(draws < images, tf.float32)}

        if self.dynamic_binarization:  # fresh bits on every pass over the data
            return _seeded(dataset, seed).map(binarized, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)


@dataclass
class PairedDataSource(_ArraySource):
    """Aligned image pairs in memory, for image-to-image translation (pix2pix).

    Its condition is always ``paired_image``; its image shape is that of every
    input and target.

    Attributes:
        name: e.g. ``"maps:train"``.
        inputs: uint8 NHWC, what the model translates.
        targets: uint8 NHWC, what it should produce; same shape as ``inputs``.
        jitter: random jitter (resize by 286/256, random crop) in ``dataset()``.
        mirror: random left-right flips in ``dataset()``.
        direction: ``"AtoB"`` when inputs are the left halves of the files.
        files: the file each pair came from.
    """

    _IMAGES = "targets"
    _CONDITION = Condition.PAIRED_IMAGE

    name: str
    inputs: np.ndarray
    targets: np.ndarray
    jitter: bool = False
    mirror: bool = False
    direction: str = "AtoB"
    files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._require_uint8("inputs", self.inputs)
        self._require_uint8("targets", self.targets)
        if self.inputs.shape != self.targets.shape:
            raise DataError(
                f"{self.name}: inputs {self.inputs.shape} and targets {self.targets.shape} "
                f"must have the same shape"
            )
        if len(self.inputs) == 0:
            raise DataError(f"{self.name}: the dataset is empty")
        if self.direction not in DIRECTIONS:
            raise DataError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")

    def take(self, n: int) -> PairedDataSource:
        """The first ``n`` pairs."""
        return self._sliced(n, "inputs", "targets", "files")

    def resized(self, size: int) -> PairedDataSource:
        """The same pairs at ``size`` x ``size`` (antialiased bilinear)."""
        return self._resized(size, "inputs", "targets")

    def reversed(self) -> PairedDataSource:
        """Swap inputs and targets (A->B becomes B->A)."""
        other = "BtoA" if self.direction == "AtoB" else "AtoB"
        return replace(self, inputs=self.targets, targets=self.inputs, direction=other)

    def dataset(
        self, *, shuffle: bool = False, seed: int | None = None, batch_size: int | None = None
    ) -> Any:
        """A ``tf.data.Dataset`` of ``{"inputs", "images"}``, float32 in [0, 1].

        ``images`` are the targets. Jitter and mirroring, when on, are drawn per
        pair and shared by its input and target.
        """
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices((self.inputs, self.targets))
        dataset = _seeded(_shuffled(dataset, len(self), shuffle, seed), seed)
        height, _, channels = self.image_shape
        jitter, mirror = self.jitter, self.mirror

        def to_example(pair: Any, key: Any) -> dict[str, Any]:
            both = _to_unit(tf.concat(list(pair), axis=-1))
            both = _jitter(both, height, jitter, mirror, key)
            return {"inputs": both[..., :channels], "images": both[..., channels:]}

        dataset = dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
        return _batched(dataset, batch_size)


@dataclass
class UnpairedDataSource(_ArraySource):
    """Two unaligned image sets, domain A and domain B (CycleGAN).

    Its condition is always ``unpaired_domains``; its image shape is that of
    every image in both domains.

    Attributes:
        name: e.g. ``"summer2winter:train"``.
        images_a: uint8 NHWC, domain A.
        images_b: uint8 NHWC, domain B; same height, width and channels as A.
        jitter: random jitter (resize by 286/256, random crop) in ``dataset()``.
        mirror: random left-right flips in ``dataset()``.
    """

    _IMAGES = "images_a"
    _CONDITION = Condition.UNPAIRED_DOMAINS

    name: str
    images_a: np.ndarray
    images_b: np.ndarray
    jitter: bool = False
    mirror: bool = False

    def __post_init__(self) -> None:
        for what, array in (("domain A", self.images_a), ("domain B", self.images_b)):
            self._require_uint8(what, array)
            if len(array) == 0:
                raise DataError(f"{self.name}: {what} is empty")
        if self.images_a.shape[1:] != self.images_b.shape[1:]:
            raise DataError(
                f"{self.name}: domain A images are {self.images_a.shape[1:]} but domain B "
                f"images are {self.images_b.shape[1:]}: both must share one size"
            )

    def __len__(self) -> int:
        """One epoch is a pass over the larger domain."""
        return max(len(self.images_a), len(self.images_b))

    def take(self, n: int) -> UnpairedDataSource:
        """The first ``n`` images of each domain."""
        return self._sliced(n, "images_a", "images_b")

    def resized(self, size: int) -> UnpairedDataSource:
        """Both domains at ``size`` x ``size`` (antialiased bilinear)."""
        return self._resized(size, "images_a", "images_b")

    def reversed(self) -> UnpairedDataSource:
        """Swap the domains."""
        return replace(self, images_a=self.images_b, images_b=self.images_a)

    def dataset(
        self, *, shuffle: bool = False, seed: int | None = None, batch_size: int | None = None
    ) -> Any:
        """A ``tf.data.Dataset`` of ``{"images_a", "images_b"}``, float32 in [0, 1].

        Each domain is shuffled (and, when smaller, repeated) independently, so an
        A image meets a different B image in every epoch; an epoch has
        ``len(self)`` examples.
        """
        import tensorflow as tf

        size = self.image_shape[0]
        jitter, mirror = self.jitter, self.mirror

        def domain(images: np.ndarray, offset: int) -> Any:
            part = tf.data.Dataset.from_tensor_slices(images)
            part_seed = None if seed is None else seed + offset
            part = _shuffled(part, len(images), shuffle, part_seed)
            return _seeded(part.repeat(), part_seed).map(
                lambda x, key: _jitter(_to_unit(x), size, jitter, mirror, key),
                num_parallel_calls=tf.data.AUTOTUNE,
            )

        dataset = tf.data.Dataset.zip(domain(self.images_a, 0), domain(self.images_b, 1))
        dataset = dataset.take(len(self)).map(lambda a, b: {"images_a": a, "images_b": b})
        return _batched(dataset, batch_size)


@dataclass
class CaptionedDataSource(_ArraySource):
    """Images with one or more captions each (text-to-image models such as StackGAN).

    Its condition is always ``text``.

    Attributes:
        name: e.g. ``"shapes:train"``.
        images: uint8 NHWC.
        captions: one tuple of strings per image, at least one caption each.
        embeddings: optional float32 text embeddings, ``(n_images,
            captions_per_image, dim)``, aligned with ``captions`` (every image then
            has the same number of captions); user-supplied (e.g. the char-CNN-RNN
            embeddings of CUB) or computed by a model's own text encoder.
    """

    _CONDITION = Condition.TEXT

    name: str
    images: np.ndarray
    captions: Sequence[tuple[str, ...]]
    embeddings: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._require_uint8("images", self.images)
        if len(self.images) == 0:
            raise DataError(f"{self.name}: the dataset is empty")
        self.captions = [tuple(c) for c in self.captions]
        if len(self.captions) != len(self.images):
            raise DataError(
                f"{self.name}: {len(self.images)} images but {len(self.captions)} caption lists"
            )
        for index, captions in enumerate(self.captions):
            if not captions or not all(isinstance(c, str) and c.strip() for c in captions):
                raise DataError(
                    f"{self.name}: image {index} needs at least one non-empty caption, "
                    f"got {captions!r}"
                )
        if self.embeddings is not None:
            self.embeddings = np.asarray(self.embeddings, dtype=np.float32)
            counts = {len(c) for c in self.captions}
            expected = (len(self.images), max(counts))
            if (len(counts) != 1 or self.embeddings.ndim != 3
                    or self.embeddings.shape[:2] != expected):
                raise DataError(
                    f"{self.name}: embeddings must have shape (images, captions per image, "
                    f"dim) = ({expected[0]}, {expected[1]}, dim) with the same number of "
                    f"captions for every image; got {self.embeddings.shape}"
                )

    def take(self, n: int) -> CaptionedDataSource:
        """The first ``n`` images with their captions (and embeddings).

        Always a plain :class:`CaptionedDataSource`, whatever subclass ``self`` is:
        a subclass's extra per-caption arrays are not sliced with it.
        """
        embeddings = None if self.embeddings is None else self.embeddings[:n]
        return CaptionedDataSource(f"{self.name}[:{n}]", self.images[:n],
                                   self.captions[:n], embeddings)

    def resized(self, size: int) -> CaptionedDataSource:
        """The same examples with images at ``size`` x ``size``."""
        return self._resized(size, "images")

    def with_embeddings(self, embeddings: np.ndarray) -> CaptionedDataSource:
        """A copy holding ``embeddings`` (n_images, captions_per_image, dim)."""
        return CaptionedDataSource(self.name, self.images, self.captions, embeddings)

    def dataset(
        self, *, shuffle: bool = False, seed: int | None = None, batch_size: int | None = None
    ) -> Any:
        """A ``tf.data.Dataset`` of ``{"images", "captions"[, "embeddings"]}``.

        Each time an image is visited one of its captions is drawn at random
        (uniformly); ``embeddings`` is that caption's embedding when present.
        """
        import tensorflow as tf

        counts = np.array([len(c) for c in self.captions], np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        flat = tf.constant([c for captions in self.captions for c in captions])
        embeddings = (None if self.embeddings is None
                      else tf.constant(self.embeddings.reshape(-1, self.embeddings.shape[-1])))
        dataset = tf.data.Dataset.from_tensor_slices(
            {"images": self.images, "count": counts, "offset": offsets}
        )
        dataset = _shuffled(dataset, len(self), shuffle, seed)
        generator = tf.random.Generator.from_seed(0 if seed is None else seed)

        def pick_caption(example: dict[str, Any]) -> dict[str, Any]:
            choice = example["offset"] + generator.uniform_full_int((), tf.int64) % example["count"]
            result = {"images": _to_unit(example["images"]),
                      "captions": tf.gather(flat, choice)}
            if embeddings is not None:
                result["embeddings"] = tf.gather(embeddings, choice)
            return result

        # Sequential map: the caption generator's draws then follow the visiting order.
        return _batched(dataset.map(pick_caption), batch_size)
