"""The loader of the registered ``summer2winter`` dataset: the core's CycleGAN reader at 256x256.

The core finds the files (``$GENZOO_DATA/cyclegan/summer2winter_yosemite``, or the
official ``summer2winter_yosemite.zip`` downloaded into ``$GENZOO_HOME``) and passes
their folder here; both hold the published layout, ``trainA/ trainB/ testA/ testB/``.
"""

from __future__ import annotations

from pathlib import Path

from genzoo_core import load_unpaired_folders
from genzoo_core.plugin import UnpairedDataSource


def load_summer2winter(folder: Path, split: str = "train") -> UnpairedDataSource:
    """CycleGAN summer2winter_yosemite from ``folder``: summer (A) and winter (B) at 256x256."""
    return load_unpaired_folders(folder, split, image_size=256)
