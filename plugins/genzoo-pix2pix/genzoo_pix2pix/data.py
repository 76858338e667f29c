"""The loader of the registered ``maps`` dataset: the core's pix2pix-pair reader at 256x256.

The core finds the files (``$GENZOO_DATA/pix2pix/maps``, or the official
``maps.tar.gz`` downloaded into ``$GENZOO_HOME``) and passes their folder here;
both hold the published layout, ``train/`` and ``val/`` of side-by-side A|B JPEGs.
"""

from __future__ import annotations

from pathlib import Path

from genzoo_core import load_paired_folder
from genzoo_core.plugin import PairedDataSource


def load_maps(folder: Path, split: str = "train") -> PairedDataSource:
    """pix2pix maps (aerial photo -> map) from ``folder``, each half read at 256x256."""
    return load_paired_folder(folder, split, image_size=256)
