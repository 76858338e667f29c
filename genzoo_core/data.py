"""Data loaders: named datasets and paths, as in-memory :class:`DataSource` objects.

Named datasets (``mnist``, ``fashion-mnist``, and whatever plugins register) are
read from ``$GENZOO_DATA`` when it holds them, in the layouts Keras uses
(``mnist.npz``; ``fashion-mnist/*-ubyte.gz``), and otherwise through
``keras.datasets`` (which downloads once into ``$KERAS_HOME``). A path works
wherever a name does: an ``.npz`` with ``x_train``/``y_train`` arrays, or a
folder of images.

A :class:`DataSource` turns into a ``tf.data.Dataset`` of dicts: ``{"images":
float32 NHWC in [0, 1]}``, plus ``"labels"`` (int32) for labelled data.

``binarized-mnist`` is the protocol of the likelihood models' published numbers:
its test split is MNIST's, binarized once with a fixed seed (pixel ~
Bernoulli(intensity)), so every model is scored on the same bits; its train
split binarizes afresh in every batch (dynamic binarization).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
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
        if self.images.ndim == 3:  # greyscale without a channel axis
            self.images = self.images[..., None]
        if self.images.ndim != 4 or self.images.dtype != np.uint8:
            raise DataError(
                f"{self.name}: images must be uint8 NHWC, got {self.images.dtype} "
                f"{self.images.shape}"
            )
        if len(self.images) == 0:
            raise DataError(f"{self.name}: the dataset is empty")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise DataError(
                f"{self.name}: {len(self.images)} images but {len(self.labels)} labels"
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
    if x.dtype != np.uint8:
        raise DataError(f"{path}: x_{split} must be uint8 in [0, 255], got {x.dtype}")
    num_classes = int(y.max()) + 1 if y is not None else 0
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


def load_data(name_or_path: str, split: str = "train", *, registry: Any = None) -> DataSource:
    """Load a registered dataset by name, or an ``.npz`` file or image folder by path."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return load_image_folder(path)
    if path.suffix == ".npz" and path.is_file():
        return load_npz(path, split)
    if registry is None:
        from genzoo_core.registry import default_registry

        registry = default_registry()
    return registry.get_dataset(name_or_path).load(split)
