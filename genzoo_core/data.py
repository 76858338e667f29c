"""Data loaders: named datasets and paths, as in-memory :class:`DataSource` objects.

Named datasets (``mnist``, ``fashion-mnist``, and whatever plugins register) are
read from ``$GENZOO_DATA`` when it holds them, in the layouts Keras uses
(``mnist.npz``; ``fashion-mnist/*-ubyte.gz``), and otherwise through
``keras.datasets`` (which downloads once into ``$KERAS_HOME``). A path works
wherever a name does: an ``.npz`` with ``x_train``/``y_train`` arrays, or a
folder of images.

A :class:`DataSource` turns into a ``tf.data.Dataset`` of dicts: ``{"images":
float32 NHWC in [0, 1]}``, plus ``"labels"`` (int32) for labelled data.

Image-to-image models read two more layouts, from any path:

- :class:`PairedDataSource` (pix2pix): ``train/`` and ``val/`` folders of JPEGs
  that hold the input and the target side by side (A|B); it yields
  ``{"inputs", "images"}`` (``images`` are the targets);
- :class:`UnpairedDataSource` (CycleGAN): ``trainA/ trainB/ testA/ testB/``; it
  yields ``{"images_a", "images_b"}``, each domain shuffled on its own.

Text-to-image models read :class:`CaptionedDataSource`: images with several
captions each (and optionally text embeddings), in the CUB / Oxford-102 layout.

Both apply pix2pix's random jitter (resize up by 286/256, random crop back) and
mirroring to training data, the same crop and flip for an input and its target.

``binarized-mnist`` is the protocol of the likelihood models' published numbers:
its test split is MNIST's, binarized once with a fixed seed (pixel ~
Bernoulli(intensity)), so every model is scored on the same bits; its train
split binarizes afresh in every batch (dynamic binarization).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_core.errors import DataError
from genzoo_core.spec import Condition

DATA_ENV = "GENZOO_DATA"
BINARIZATION_SEED = 0
"""The seed of the fixed binarization of ``binarized-mnist``'s test split."""
SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def data_dir() -> Path | None:
    """The folder named by ``$GENZOO_DATA``, or ``None`` when it is unset."""
    value = os.environ.get(DATA_ENV)
    return Path(value).expanduser() if value else None


@dataclass
class DataSource:
    """An in-memory image dataset.

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

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels)."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def condition(self) -> Condition:
        """``class_label`` when labels are present, else ``unconditional``."""
        return Condition.CLASS_LABEL if self.labels is not None else Condition.UNCONDITIONAL

    def take(self, n: int) -> DataSource:
        """The first ``n`` examples (for quick runs and tests)."""
        labels = None if self.labels is None else self.labels[:n]
        return DataSource(f"{self.name}[:{n}]", self.images[:n], labels, self.num_classes,
                          self.dynamic_binarization)

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
        if shuffle:  # shuffle the uint8 examples, before they grow 4x as floats
            dataset = dataset.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        if batch_size:
            dataset = dataset.batch(batch_size, drop_remainder=True)

        binarize_dynamically = self.dynamic_binarization

        def to_float(example: dict[str, Any]) -> dict[str, Any]:
            example = dict(example)
            images = tf.cast(example["images"], tf.float32) / 255.0
            if binarize_dynamically:
                images = tf.cast(tf.random.uniform(tf.shape(images)) < images, tf.float32)
            example["images"] = images
            return example

        return dataset.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)


def _range(values: np.ndarray) -> str:
    return f"[{values.min():g}, {values.max():g}]"


def check_images(name: str, images: Any, what: str = "images") -> np.ndarray:
    """Return ``images`` as uint8 NHWC (NHW gains a channel axis), or raise a DataError.

    The error names ``name`` and ``what`` and says how to convert what was
    given (floats in [0, 1], integers in 0..255, NaN, wrong rank, empty images).
    """
    images = np.asarray(images)
    has = "have" if what == "images" else "has"
    if images.ndim == 3:  # greyscale without a channel axis
        images = images[..., None]
    if images.ndim != 4:
        raise DataError(
            f"{name}: {what} {has} shape {images.shape}; images must be NHWC (count, height, "
            f"width, channels), or NHW for greyscale: reshape them (e.g. x.reshape(-1, 28, 28, 1))"
        )
    if len(images) == 0:
        raise DataError(f"{name}: {what} holds no images (the dataset is empty): point at data "
                        f"that holds some")
    if 0 in images.shape[1:]:
        raise DataError(
            f"{name}: {what} {has} shape {images.shape}: every image is empty (zero height, "
            f"width or channels); check how the array was made"
        )
    if images.dtype == np.uint8:
        return images
    must = f"{name}: {what} must be uint8 NHWC in [0, 255]"
    kind = images.dtype.kind
    if kind == "f":
        if not np.all(np.isfinite(images)):
            raise DataError(f"{must}, but it is {images.dtype} and holds NaN or infinite "
                            f"values: remove or repair those images")
        if images.min() >= 0 and images.max() <= 1:
            raise DataError(f"{must}, but it is {images.dtype} in [0, 1]: convert it with "
                            f"(x * 255).round().astype(np.uint8)")
        if images.min() >= 0 and images.max() <= 255:
            raise DataError(f"{must}, but it is {images.dtype} in {_range(images)}: convert it "
                            f"with x.round().astype(np.uint8)")
        raise DataError(f"{must}, but it is {images.dtype} with values in {_range(images)}: "
                        f"rescale it to 0..255 and store it as uint8")
    if kind in "iu":
        if images.min() >= 0 and images.max() <= 255:
            raise DataError(f"{must}, but it is {images.dtype} (values within 0..255): store it "
                            f"with x.astype(np.uint8)")
        raise DataError(f"{must}, but it is {images.dtype} with values up to {images.max()} "
                        f"(from {images.min()}): rescale it to 0..255 and store it as uint8")
    raise DataError(f"{must}, but it is {images.dtype}: store the pixels as uint8")


def check_labels(
    name: str, labels: Any, count: int, num_classes: int = 0, what: str = "labels"
) -> tuple[np.ndarray, int]:
    """Return ``(labels as int64 of shape (count,), num_classes)``, or raise a DataError.

    Labels must be integers in ``[0, num_classes)``; a ``(count, 1)`` column is
    flattened. ``num_classes`` 0 means one more than the largest label.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:  # Keras' CIFAR stores (n, 1) columns
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DataError(
            f"{name}: {what} has shape {labels.shape}; labels must be one integer class per "
            f"image, shape ({count},) (one-hot labels? store y.argmax(axis=1))"
        )
    if len(labels) != count:
        raise DataError(f"{name}: {count} images but {len(labels)} labels: give every image "
                        f"exactly one label")
    if labels.dtype.kind not in "iu":
        raise DataError(f"{name}: {what} must be integer class labels, got {labels.dtype}: "
                        f"store them with y.astype(np.int64)")
    labels = labels.astype(np.int64)
    if count and labels.min() < 0:
        bad = int(labels.min())
        classes = num_classes or int(labels.max()) + 1
        raise DataError(f"{name}: label {bad} is outside [0, {classes}): {what} must hold "
                        f"class labels 0, 1, ...; renumber them from 0")
    largest = int(labels.max()) if count else -1
    if num_classes and largest >= num_classes:
        raise DataError(f"{name}: label {largest} is outside [0, {num_classes}): {what} must "
                        f"hold class labels 0 to {num_classes - 1}; fix the labels or "
                        f"num_classes")
    return labels, int(num_classes or largest + 1)


def _npz_labels(path: Path, y: np.ndarray, what: str) -> np.ndarray:
    """Labels read from a file: whole-number floats are accepted as integers."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise DataError(f"{path}: {what} holds NaN: every image needs a class label")
        fractional = y[np.isfinite(y) & (y != np.round(y))]
        if fractional.size or not np.all(np.isfinite(y)):
            value = fractional[0] if fractional.size else y[~np.isfinite(y)][0]
            raise DataError(f"{path}: {what} holds {value:g}: class labels are whole numbers "
                            f"0, 1, ...; store them with np.int64")
        return y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise DataError(f"{path}: {what} must be integer class labels, got {y.dtype}: store "
                        f"them with np.int64")
    return y


# -- image-to-image data ------------------------------------------------------------

JITTER_SCALE = 286 / 256
"""pix2pix's random jitter: resize up by this factor, then crop back at random."""
DIRECTIONS = ("AtoB", "BtoA")


def _resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    """Resize uint8 NHWC images to ``size`` x ``size`` (antialiased bilinear)."""
    import tensorflow as tf

    if images.shape[1:3] == (size, size):
        return images
    resized = tf.image.resize(tf.cast(images, tf.float32), (size, size), antialias=True)
    return np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)


def _jitter(images: Any, size: int, jitter: bool, mirror: bool) -> Any:
    """Random jitter and mirroring of one example (channels may stack several images).

    Stacking an input and its target along the channels gives both the same crop
    and the same flip.
    """
    import tensorflow as tf

    if jitter:
        larger = int(round(size * JITTER_SCALE))
        images = tf.image.resize(images, (larger, larger))
        images = tf.image.random_crop(images, (size, size, images.shape[-1]))
    if mirror:
        images = tf.image.random_flip_left_right(images)
    return images


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise DataError(f"image_size must be an integer of at least 8, got {size!r}")
    return int(size)


@dataclass
class PairedDataSource:
    """Aligned image pairs in memory, for image-to-image translation (pix2pix).

    Attributes:
        name: e.g. ``"maps:train"``.
        inputs: uint8 NHWC, what the model translates.
        targets: uint8 NHWC, what it should produce; same shape as ``inputs``.
        jitter: random jitter (resize by 286/256, random crop) in ``dataset()``.
        mirror: random left-right flips in ``dataset()``.
        direction: ``"AtoB"`` when inputs are the left halves of the files.
        files: the file each pair came from.
    """

    name: str
    inputs: np.ndarray
    targets: np.ndarray
    jitter: bool = False
    mirror: bool = False
    direction: str = "AtoB"
    files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, array in (("inputs", self.inputs), ("targets", self.targets)):
            if array.ndim != 4 or array.dtype != np.uint8:
                raise DataError(
                    f"{self.name}: {what} must be uint8 NHWC, got {array.dtype} {array.shape}"
                )
        if self.inputs.shape != self.targets.shape:
            raise DataError(
                f"{self.name}: inputs {self.inputs.shape} and targets {self.targets.shape} "
                f"must have the same shape"
            )
        if len(self.inputs) == 0:
            raise DataError(f"{self.name}: the dataset is empty")
        if self.direction not in DIRECTIONS:
            raise DataError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of every input and target."""
        return tuple(self.targets.shape[1:])  # type: ignore[return-value]

    @property
    def condition(self) -> Condition:
        """Always ``paired_image``."""
        return Condition.PAIRED_IMAGE

    def take(self, n: int) -> PairedDataSource:
        """The first ``n`` pairs."""
        return replace(self, name=f"{self.name}[:{n}]", inputs=self.inputs[:n],
                       targets=self.targets[:n], files=self.files[:n])

    def resized(self, size: int) -> PairedDataSource:
        """The same pairs at ``size`` x ``size`` (antialiased bilinear)."""
        size = _check_size(size)
        return replace(self, inputs=_resize_uint8(self.inputs, size),
                       targets=_resize_uint8(self.targets, size))

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
        if shuffle:
            dataset = dataset.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        height, _, channels = self.image_shape
        jitter, mirror = self.jitter, self.mirror

        def to_example(inputs: Any, targets: Any) -> dict[str, Any]:
            both = tf.concat([inputs, targets], axis=-1)
            both = tf.cast(both, tf.float32) / 255.0
            both = _jitter(both, height, jitter, mirror)
            return {"inputs": both[..., :channels], "images": both[..., channels:]}

        dataset = dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
        if batch_size:
            dataset = dataset.batch(batch_size, drop_remainder=True)
        return dataset


@dataclass
class UnpairedDataSource:
    """Two unaligned image sets, domain A and domain B (CycleGAN).

    Attributes:
        name: e.g. ``"summer2winter:train"``.
        images_a: uint8 NHWC, domain A.
        images_b: uint8 NHWC, domain B; same height, width and channels as A.
        jitter: random jitter (resize by 286/256, random crop) in ``dataset()``.
        mirror: random left-right flips in ``dataset()``.
    """

    name: str
    images_a: np.ndarray
    images_b: np.ndarray
    jitter: bool = False
    mirror: bool = False

    def __post_init__(self) -> None:
        for what, array in (("domain A", self.images_a), ("domain B", self.images_b)):
            if array.ndim != 4 or array.dtype != np.uint8:
                raise DataError(
                    f"{self.name}: {what} must be uint8 NHWC, got {array.dtype} {array.shape}"
                )
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

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of every image in both domains."""
        return tuple(self.images_a.shape[1:])  # type: ignore[return-value]

    @property
    def condition(self) -> Condition:
        """Always ``unpaired_domains``."""
        return Condition.UNPAIRED_DOMAINS

    def take(self, n: int) -> UnpairedDataSource:
        """The first ``n`` images of each domain."""
        return replace(self, name=f"{self.name}[:{n}]", images_a=self.images_a[:n],
                       images_b=self.images_b[:n])

    def resized(self, size: int) -> UnpairedDataSource:
        """Both domains at ``size`` x ``size`` (antialiased bilinear)."""
        size = _check_size(size)
        return replace(self, images_a=_resize_uint8(self.images_a, size),
                       images_b=_resize_uint8(self.images_b, size))

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
            if shuffle:
                part = part.shuffle(len(images), seed=None if seed is None else seed + offset,
                                    reshuffle_each_iteration=True)
            part = part.repeat()
            return part.map(
                lambda x: _jitter(tf.cast(x, tf.float32) / 255.0, size, jitter, mirror),
                num_parallel_calls=tf.data.AUTOTUNE,
            )

        dataset = tf.data.Dataset.zip(domain(self.images_a, 0), domain(self.images_b, 1))
        dataset = dataset.take(len(self)).map(lambda a, b: {"images_a": a, "images_b": b})
        if batch_size:
            dataset = dataset.batch(batch_size, drop_remainder=True)
        return dataset


# -- captioned images ----------------------------------------------------------------


@dataclass
class CaptionedDataSource:
    """Images with one or more captions each (text-to-image models such as StackGAN).

    Attributes:
        name: e.g. ``"shapes:train"``.
        images: uint8 NHWC.
        captions: one tuple of strings per image, at least one caption each.
        embeddings: optional float32 text embeddings, ``(n_images,
            captions_per_image, dim)``, aligned with ``captions`` (every image then
            has the same number of captions); user-supplied (e.g. the char-CNN-RNN
            embeddings of CUB) or computed by a model's own text encoder.
    """

    name: str
    images: np.ndarray
    captions: Sequence[tuple[str, ...]]
    embeddings: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != np.uint8:
            raise DataError(
                f"{self.name}: images must be uint8 NHWC, got {self.images.dtype} "
                f"{self.images.shape}"
            )
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

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels)."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def condition(self) -> Condition:
        """Always ``text``."""
        return Condition.TEXT

    def take(self, n: int) -> CaptionedDataSource:
        """The first ``n`` images with their captions (and embeddings)."""
        embeddings = None if self.embeddings is None else self.embeddings[:n]
        return CaptionedDataSource(f"{self.name}[:{n}]", self.images[:n],
                                   self.captions[:n], embeddings)

    def resized(self, size: int) -> CaptionedDataSource:
        """The same examples with images at ``size`` x ``size``."""
        return replace(self, images=_resize_uint8(self.images, _check_size(size)))

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
        if shuffle:
            dataset = dataset.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        generator = tf.random.Generator.from_seed(0 if seed is None else seed)

        def pick_caption(example: dict[str, Any]) -> dict[str, Any]:
            choice = example["offset"] + generator.uniform_full_int((), tf.int64) % example["count"]
            result = {"images": tf.cast(example["images"], tf.float32) / 255.0,
                      "captions": tf.gather(flat, choice)}
            if embeddings is not None:
                result["embeddings"] = tf.gather(embeddings, choice)
            return result

        # Sequential map: the caption generator's draws then follow the visiting order.
        dataset = dataset.map(pick_caption)
        if batch_size:
            dataset = dataset.batch(batch_size, drop_remainder=True)
        return dataset


def load_captioned_folder(
    path: str | os.PathLike[str],
    split: str = "train",
    *,
    image_size: int | None = None,
    channels: int = 3,
) -> CaptionedDataSource:
    """Read captioned images in the CUB / Oxford-102 layout.

    ::

        root/images/<name>.jpg          any sub-folders; JPEG or PNG
        root/text/<name>.txt            one caption per line
        root/embeddings/<name>.npy      optional: (captions, dim) float text embeddings
        root/train.txt, root/test.txt   optional: the <name>s of each split, one per line

    Without ``train.txt``/``test.txt`` every image belongs to the train split.
    Embeddings, when the folder exists, must be present for every image with one
    row per caption.

    Args:
        path: the dataset root.
        split: ``"train"`` or ``"test"``.
        image_size: resize every image to this square size (``None``: keep; then
            every image must share one size).
        channels: channels of every image file (3 for RGB).
    """
    _check_split(split)
    root = Path(path).expanduser()
    images_dir, text_dir = root / "images", root / "text"
    for folder in (images_dir, text_dir):
        if not folder.is_dir():
            raise DataError(
                f"{root} has no {folder.name}/ folder: a captioned dataset holds images/ and "
                f"text/ (one .txt of captions per image), optionally embeddings/"
            )
    split_file = root / f"{split}.txt"
    if split_file.is_file():
        names = [line.strip() for line in split_file.read_text().splitlines() if line.strip()]
    elif split == "train" and not (root / "test.txt").is_file():
        names = sorted(
            (str(p.relative_to(images_dir).with_suffix("")) for p in images_dir.rglob("*")
             if p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda name: _natural_key(Path(name)),
        )
    else:
        raise DataError(f"{root} has no {split}.txt listing the images of split {split!r}")
    if not names:
        raise DataError(f"{root}: split {split!r} lists no images")
    embeddings_dir = root / "embeddings"
    images, captions, embeddings = [], [], []
    same_size = _SameSize("pass image_size= to resize them all")
    for name in names:
        candidates = [images_dir / f"{name}{s}" for s in IMAGE_SUFFIXES]
        image_file = next((c for c in candidates if c.is_file()), None)
        if image_file is None:
            raise DataError(f"{images_dir}/{name}.* not found (listed in split {split!r})")
        image = read_image(image_file, channels)
        if image_size is not None:
            image = _resize_uint8(image[None], _check_size(image_size))[0]
        else:
            same_size.check(image_file, image)
        text_file = text_dir / f"{name}.txt"
        if not text_file.is_file():
            raise DataError(f"{text_file} is missing: every image needs its captions file")
        try:
            lines = text_file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DataError(f"{text_file} is not UTF-8 text ({exc.reason})") from exc
        lines = tuple(line.strip() for line in lines if line.strip())
        if not lines:
            raise DataError(f"{text_file} holds no captions")
        if embeddings_dir.is_dir():
            embedding_file = embeddings_dir / f"{name}.npy"
            try:
                embedding = np.load(embedding_file, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise DataError(f"cannot read {embedding_file} as a .npy array: {exc}") from exc
            if embedding.ndim != 2 or len(embedding) != len(lines):
                raise DataError(
                    f"{embedding_file} has shape {embedding.shape}; expected ({len(lines)}, dim): "
                    f"one embedding per caption in {text_file.name}"
                )
            embeddings.append(embedding)
        images.append(image)
        captions.append(lines)
    stacked = None
    if embeddings:
        if len({e.shape for e in embeddings}) != 1:
            raise DataError(
                f"{embeddings_dir}: every image needs the same number of captions and "
                f"embedding size to use embeddings, found shapes "
                f"{sorted({e.shape for e in embeddings})}"
            )
        stacked = np.stack(embeddings).astype(np.float32)
    return CaptionedDataSource(f"{root.name}:{split}", np.stack(images), captions, stacked)


SOURCE_TYPES = (DataSource, PairedDataSource, UnpairedDataSource, CaptionedDataSource)
"""The in-memory data sources the Trainer and ``genzoo train`` accept."""


def read_image(path: str | os.PathLike[str], channels: int = 3) -> np.ndarray:
    """Decode one image file (JPEG, PNG, BMP, GIF) as uint8 HWC, naming the file on failure.

    A file with another number of channels than ``channels`` is an error, not
    a silent conversion, because it usually means the wrong folder.
    """
    import tensorflow as tf

    path = Path(path)
    try:
        data = tf.io.read_file(str(path))
        image = tf.io.decode_image(data, expand_animations=False).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.DataLossError,
            tf.errors.UnknownError) as exc:
        raise DataError(
            f"cannot read {path} as an image ({exc.message.strip().splitlines()[0]}): replace "
            f"or remove the file"
        ) from exc
    if image.shape[-1] != channels:
        raise DataError(
            f"{path} has {image.shape[-1]} channel(s), expected {channels} "
            f"({'RGB' if channels == 3 else 'greyscale' if channels == 1 else 'channels'}): "
            f"convert it, or remove it from the folder"
        )
    return image


class _SameSize:
    """Remembers the first image's shape and refuses any later image of another."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.first: tuple[Path, tuple[int, ...]] | None = None

    def check(self, file: Path, image: np.ndarray) -> None:
        if self.first is None:
            self.first = (file, image.shape)
        elif image.shape != self.first[1]:
            name, (height, width) = self.first[0].name, self.first[1][:2]
            raise DataError(
                f"{file} is {image.shape[1]}x{image.shape[0]} but {name} is "
                f"{width}x{height}: {self.rule}"
            )


def _natural_key(path: Path) -> list[Any]:
    """Sort ``2.jpg`` before ``10.jpg``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key
    )
    if not files:
        raise DataError(
            f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)}): point at the folder "
            f"that holds them"
        )
    return files


def _split_folder(root: Path, split: str, names: tuple[str, ...]) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise DataError(
        f"{root} has no {' or '.join(f'{n}/' for n in names)} folder for split {split!r}: "
        f"point at the dataset root that holds it"
    )


def load_paired_folder(
    path: str | os.PathLike[str],
    split: str = "train",
    *,
    direction: str = "AtoB",
    image_size: int | None = None,
    jitter: bool | None = None,
    mirror: bool | None = None,
    channels: int = 3,
) -> PairedDataSource:
    """Read pix2pix side-by-side pairs (A|B in one image) from ``path``.

    Args:
        path: the dataset root holding ``train/`` and ``val/`` (or ``test/``), or a
            folder of pair images itself.
        split: ``"train"``; ``"test"`` reads ``test/``, else ``val/`` (pix2pix's
            maps has no test split and is evaluated on ``val/``); ``"val"`` too.
        direction: ``"AtoB"`` translates the left halves into the right ones;
            ``"BtoA"`` the reverse.
        image_size: each half is resized to this square size (``None``: kept
            as it is; models resize to their own size when they train).
        jitter: random jitter when iterating; default on for the train split only.
        mirror: random left-right flips when iterating; default as ``jitter``.
        channels: channels of every file (3 for RGB).

    Every file must be twice as wide as it is high and share the first file's
    size; anything else is a :class:`DataError` naming the file.
    """
    if split not in ("train", "test", "val"):
        raise DataError(f"unknown split {split!r}; use train, val or test")
    if direction not in DIRECTIONS:
        raise DataError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
    size = None if image_size is None else _check_size(image_size)
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root} does not exist")
    names = ("train",) if split == "train" else ("val",) if split == "val" else ("test", "val")
    folder = root if _has_images(root) else _split_folder(root, split, names)
    inputs, targets, files = [], [], []
    same_size = _SameSize("every pair in a folder must have the same size")
    for file in _image_files(folder):
        image = read_image(file, channels)
        height, width = image.shape[:2]
        if width != 2 * height:
            raise DataError(
                f"{file} is {width}x{height}: a pix2pix pair holds input and target side by "
                f"side, so it must be exactly twice as wide as it is high"
            )
        same_size.check(file, image)
        left, right = image[:, :height], image[:, height:]
        inputs.append(_resize_uint8(left[None], size or height)[0])
        targets.append(_resize_uint8(right[None], size or height)[0])
        files.append(file.name)
    source = PairedDataSource(
        f"{root.name}:{split}", np.stack(inputs), np.stack(targets),
        jitter=split == "train" if jitter is None else jitter,
        mirror=split == "train" if mirror is None else mirror,
        files=tuple(files),
    )
    return source.reversed() if direction == "BtoA" else source


def _has_images(folder: Path) -> bool:
    return folder.is_dir() and any(
        p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()
    )


def _read_domain(folder: Path, size: int | None, channels: int) -> np.ndarray:
    images = []
    same_size = _SameSize("every image of a domain must have the same size")
    for file in _image_files(folder):
        image = read_image(file, channels)
        same_size.check(file, image)
        images.append(image if size is None else _resize_uint8(image[None], size)[0])
    return np.stack(images)


def load_unpaired_folders(
    path: str | os.PathLike[str],
    split: str = "train",
    *,
    image_size: int | None = None,
    jitter: bool | None = None,
    mirror: bool | None = None,
    channels: int = 3,
) -> UnpairedDataSource:
    """Read a CycleGAN dataset: ``<split>A/`` and ``<split>B/`` under ``path``.

    Args:
        path: the dataset root holding ``trainA/ trainB/ testA/ testB/``.
        split: ``"train"`` or ``"test"``.
        image_size: every image is resized to this square size (``None``: kept
            as it is, and then every image of both domains must share one size).
        jitter: random jitter when iterating; default on for the train split only.
        mirror: random left-right flips when iterating; default as ``jitter``.
        channels: channels of every file (3 for RGB).
    """
    _check_split(split)
    size = None if image_size is None else _check_size(image_size)
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root} does not exist")
    domains = []
    for letter in "AB":
        folder = root / f"{split}{letter}"
        if not folder.is_dir():
            raise DataError(
                f"{root} has no {split}{letter}/ folder: a CycleGAN dataset holds "
                f"trainA/ trainB/ testA/ testB/"
            )
        domains.append(_read_domain(folder, size, channels))
    return UnpairedDataSource(
        f"{root.name}:{split}", domains[0], domains[1],
        jitter=split == "train" if jitter is None else jitter,
        mirror=split == "train" if mirror is None else mirror,
    )


def _shared_folder(relative: str, what: str) -> Path:
    root = data_dir()
    folder = root / relative if root is not None else None
    if folder is None or not folder.is_dir():
        where = f"{root}/{relative}" if root is not None else f"$GENZOO_DATA/{relative}"
        raise DataError(
            f"{what} is not available: {where} does not exist. Set {DATA_ENV} to a folder "
            f"holding {relative}/ (see shared/data/SOURCES.md), or pass the dataset's path"
        )
    return folder


def load_maps(split: str = "train") -> PairedDataSource:
    """pix2pix maps (aerial photo -> map) from ``$GENZOO_DATA/pix2pix/maps``, at 256x256."""
    return load_paired_folder(_shared_folder("pix2pix/maps", "the maps dataset"), split,
                              image_size=256)


def load_summer2winter(split: str = "train") -> UnpairedDataSource:
    """CycleGAN summer2winter_yosemite from ``$GENZOO_DATA/cyclegan``, at 256x256."""
    folder = _shared_folder("cyclegan/summer2winter_yosemite", "summer2winter")
    return load_unpaired_folders(folder, split, image_size=256)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")


def load_mnist(split: str = "train") -> DataSource:
    """MNIST from ``$GENZOO_DATA/mnist.npz``, else ``keras.datasets.mnist``."""
    _check_split(split)
    root = data_dir()
    if root is not None and (root / "mnist.npz").is_file():
        with np.load(root / "mnist.npz") as f:
            x, y = f[f"x_{split}"], f[f"y_{split}"]
    else:
        x, y = _keras_dataset("mnist", split, "mnist.npz")
    return DataSource(f"mnist:{split}", x, y.astype(np.int64), 10)


def binarize(images: np.ndarray, seed: int) -> np.ndarray:
    """Stochastic binarization: each pixel is 255 with probability intensity / 255, else 0.

    The same seed gives the same bits, so a test set binarized this way is
    identical for every model scored on it.
    """
    rng = np.random.default_rng(seed)
    bits = rng.random(images.shape) < images.astype(np.float64) / 255.0
    return bits.astype(np.uint8) * 255


def load_binarized_mnist(split: str = "train") -> DataSource:
    """MNIST for likelihood models: test split binarized with a fixed seed, train split dynamically.

    The test images are ``binarize(mnist test, BINARIZATION_SEED)``; the train
    images stay grey and are binarized afresh in every batch.
    """
    mnist = load_mnist(split)
    name = f"binarized-mnist:{split}"
    if split == "test":
        return DataSource(name, binarize(mnist.images, BINARIZATION_SEED), mnist.labels, 10)
    return DataSource(name, mnist.images, mnist.labels, 10, dynamic_binarization=True)


def _read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) IDX file as used by MNIST and Fashion-MNIST."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise DataError(f"{path} is not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path} is truncated: expected {int(np.prod(dims))} values")
    return body.reshape(dims)


def load_fashion_mnist(split: str = "train") -> DataSource:
    """Fashion-MNIST from ``$GENZOO_DATA/fashion-mnist/``, else ``keras.datasets``."""
    _check_split(split)
    prefix = "train" if split == "train" else "t10k"
    root = data_dir()
    folder = root / "fashion-mnist" if root is not None else None
    if folder is not None and (folder / f"{prefix}-images-idx3-ubyte.gz").is_file():
        x = _read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
        y = _read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")
    else:
        x, y = _keras_dataset("fashion_mnist", split, "fashion-mnist/")
    return DataSource(f"fashion-mnist:{split}", x, y.astype(np.int64), 10)


def _keras_dataset(module: str, split: str, filename: str) -> tuple[np.ndarray, np.ndarray]:
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, module).load_data()
    except Exception as exc:  # network errors surface as many types
        raise DataError(
            f"{module} is not available locally and could not be downloaded ({exc}). Set "
            f"{DATA_ENV} to a folder holding {filename} (see shared/data/SOURCES.md)."
        ) from exc
    return (x_train, y_train) if split == "train" else (x_test, y_test)


def load_npz(path: str | os.PathLike[str], split: str = "train") -> DataSource:
    """An ``.npz`` holding ``x_<split>`` (uint8 images) and optionally ``y_<split>``."""
    _check_split(split)
    path = Path(path)
    try:
        with np.load(path) as f:
            if f"x_{split}" not in f:
                raise DataError(
                    f"{path} has no array 'x_{split}' (it has {', '.join(f.files)}); store "
                    f"images as x_train/x_test and labels as y_train/y_test"
                )
            x = f[f"x_{split}"]
            y = f[f"y_{split}"] if f"y_{split}" in f else None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} as .npz: {exc}") from exc
    x = check_images(str(path), x, f"x_{split}")
    if y is None:
        return DataSource(f"{path.name}:{split}", x)
    y, num_classes = check_labels(str(path), _npz_labels(path, y, f"y_{split}"), len(x),
                                  what=f"y_{split}")
    return DataSource(f"{path.name}:{split}", x, y, num_classes)


def load_image_folder(path: str | os.PathLike[str]) -> DataSource:
    """Every image in a folder (recursively), which must all share one size."""
    import tensorflow as tf

    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for file in files:
        try:
            image = tf.io.decode_image(tf.io.read_file(str(file)), expand_animations=False)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as exc:
            raise DataError(f"cannot decode image {file}: {exc.message}") from exc
        if images and image.shape != images[0].shape:
            raise DataError(
                f"{file} is {tuple(image.shape)} but {files[0]} is {tuple(images[0].shape)}: "
                f"every image in a folder must have the same size and channels"
            )
        images.append(image.numpy())
    return DataSource(f"{path.name}", np.stack(images))


def load_data(
    name_or_path: str,
    split: str = "train",
    *,
    registry: Any = None,
    condition: Condition | str | None = None,
) -> Any:
    """Load a registered dataset by name, or an ``.npz`` file or folder by path.

    A folder is read as pix2pix pairs when ``condition`` is ``paired_image``; as
    a CycleGAN dataset when it is ``unpaired_domains`` or the folder holds
    ``trainA/``; as captioned images when it is ``text`` or the folder holds
    ``text/``; and otherwise as a folder of images.
    """
    path = Path(name_or_path).expanduser()
    condition = Condition(condition) if condition is not None else None
    if path.is_dir():
        if condition == Condition.PAIRED_IMAGE:
            return load_paired_folder(path, split)
        if condition == Condition.UNPAIRED_DOMAINS or (path / "trainA").is_dir():
            return load_unpaired_folders(path, split)
        if condition == Condition.TEXT or (path / "text").is_dir():
            return load_captioned_folder(path, split)
        return load_image_folder(path)
    if path.suffix == ".npz" and path.is_file():
        return load_npz(path, split)
    if registry is None:
        from genzoo_core.registry import default_registry

        registry = default_registry()
    return registry.get_dataset(name_or_path).load(split)
