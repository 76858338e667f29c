"""The named datasets the core registers: the MNIST family.

They are read from ``$GENZOO_DATA`` when it holds them, in the layouts Keras
uses (``mnist.npz``; ``fashion-mnist/*-ubyte.gz``), and otherwise come through
``keras.datasets`` (which downloads once into ``$KERAS_HOME``). Datasets of one
model family (pix2pix's ``maps``, CycleGAN's ``summer2winter``) come with their
plugins, which declare where their files are; :mod:`genzoo_core.data.archives`
finds or downloads them.

``binarized-mnist`` is the protocol of the likelihood models' published numbers:
its test split is MNIST's, binarized once with a fixed seed (pixel ~
Bernoulli(intensity)), so every model is scored on the same bits; its train
split binarizes afresh in every batch (dynamic binarization).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from genzoo_core.data.checks import _check_split
from genzoo_core.data.sources import DataSource
from genzoo_core.errors import DataError

DATA_ENV = "GENZOO_DATA"
"""The environment variable naming the folder that holds the datasets."""
BINARIZATION_SEED = 0
"""The seed of the fixed binarization of ``binarized-mnist``'s test split."""


def data_dir() -> Path | None:
    """The folder named by ``$GENZOO_DATA``, or ``None`` when it is unset."""
    value = os.environ.get(DATA_ENV)
    return Path(value).expanduser() if value else None


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
            f"{DATA_ENV} to a folder holding {filename} (the files keras.datasets.{module} "
            f"downloads), or connect to the network once so that Keras caches them."
        ) from exc
    return (x_train, y_train) if split == "train" else (x_test, y_test)
