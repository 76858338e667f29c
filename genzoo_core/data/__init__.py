"""Data loaders: named datasets and paths, as in-memory data sources.

Named datasets (``mnist``, ``fashion-mnist``, and whatever plugins register) are
read from ``$GENZOO_DATA`` when it holds them, in the layouts Keras uses
(``mnist.npz``; ``fashion-mnist/*-ubyte.gz``), and otherwise through
``keras.datasets`` (which downloads once into ``$KERAS_HOME``). A path works
wherever a name does: an ``.npz`` with ``x_train``/``y_train`` arrays, or a
folder of images.

A plugin's dataset may declare where its files lie under ``$GENZOO_DATA``
(``DatasetSpec.folder``) and the official archive that holds them
(``archive_url``, ``archive_sha256``, ``archive_size``, ``archive_folder``):
:func:`dataset_folder` then uses the ``$GENZOO_DATA`` copy when there is one, and
otherwise downloads the archive into ``$GENZOO_HOME/datasets/`` the first time,
verifies its size and sha256, unpacks it safely and atomically, and reuses it
afterwards. ``maps`` (genzoo-pix2pix) and ``summer2winter`` (genzoo-cyclegan)
are declared this way.

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

The trainer accepts any object that satisfies :class:`DataSourceProtocol`
(``name``, ``len()``, ``condition``, ``image_shape`` and
``dataset(shuffle=, seed=, batch_size=)``), not only the classes above.

One module per job, every name re-exported here:

- :mod:`~genzoo_core.data.protocol`: :class:`DataSourceProtocol`,
  :func:`is_data_source`, :func:`check_data_source`;
- :mod:`~genzoo_core.data.sources`: the four in-memory sources;
- :mod:`~genzoo_core.data.checks`: :func:`check_images`, :func:`check_labels`;
- :mod:`~genzoo_core.data.transforms`: resizing and pix2pix's jitter;
- :mod:`~genzoo_core.data.folders`: :func:`read_image` and the folder readers;
- :mod:`~genzoo_core.data.named`: the MNIST family and ``GENZOO_DATA``;
- :mod:`~genzoo_core.data.archives`: :func:`dataset_folder` (a declared dataset's
  files, found or downloaded) and :func:`unpack_archive`;
- :mod:`~genzoo_core.data.loading`: :func:`load_npz` and :func:`load_data`.
"""

from __future__ import annotations

from genzoo_core.data.archives import dataset_folder, unpack_archive
from genzoo_core.data.checks import SPLITS, check_images, check_labels
from genzoo_core.data.folders import (
    IMAGE_SUFFIXES,
    load_captioned_folder,
    load_image_folder,
    load_paired_folder,
    load_unpaired_folders,
    read_image,
)
from genzoo_core.data.loading import load_data, load_npz
from genzoo_core.data.named import (
    BINARIZATION_SEED,
    DATA_ENV,
    binarize,
    data_dir,
    load_binarized_mnist,
    load_fashion_mnist,
    load_mnist,
)
from genzoo_core.data.protocol import (
    DataSourceProtocol,
    check_data_source,
    is_data_source,
)
from genzoo_core.data.sources import (
    DIRECTIONS,
    CaptionedDataSource,
    DataSource,
    PairedDataSource,
    UnpairedDataSource,
)
from genzoo_core.data.transforms import JITTER_SCALE

SOURCE_TYPES: tuple[type, ...] = (DataSourceProtocol,)
"""Deprecated: use :func:`is_data_source` (or :class:`DataSourceProtocol`).

Once the closed tuple of the four core sources; ``isinstance(x, SOURCE_TYPES)``
is now the protocol check, so it also accepts a plugin's own source classes.
"""

__all__ = [
    "BINARIZATION_SEED",
    "DATA_ENV",
    "DIRECTIONS",
    "IMAGE_SUFFIXES",
    "JITTER_SCALE",
    "SOURCE_TYPES",
    "SPLITS",
    "CaptionedDataSource",
    "DataSource",
    "DataSourceProtocol",
    "PairedDataSource",
    "UnpairedDataSource",
    "binarize",
    "check_data_source",
    "check_images",
    "check_labels",
    "data_dir",
    "dataset_folder",
    "is_data_source",
    "load_binarized_mnist",
    "load_captioned_folder",
    "load_data",
    "load_fashion_mnist",
    "load_image_folder",
    "load_mnist",
    "load_npz",
    "load_paired_folder",
    "load_unpaired_folders",
    "read_image",
    "unpack_archive",
]
