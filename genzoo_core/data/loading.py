"""``load_data``: a dataset by registered name, or an ``.npz`` file or folder by path.

A path works wherever a name does: an ``.npz`` with ``x_train``/``y_train``
arrays (:func:`load_npz`), or a folder in one of the layouts of
:mod:`genzoo_core.data.folders`, chosen by the model's condition or by what the
folder holds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_core.data.checks import _check_split, check_images, check_labels
from genzoo_core.data.folders import (
    load_captioned_folder,
    load_image_folder,
    load_paired_folder,
    load_unpaired_folders,
)
from genzoo_core.data.sources import DataSource
from genzoo_core.errors import DataError
from genzoo_core.spec import Condition


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
