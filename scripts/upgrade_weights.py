"""Rewrite genzoo weights files in the current format, keeping every value and attribute.

    python scripts/upgrade_weights.py plugins/*/genzoo_*/weights/*.h5

Format 2 adds a checksum to every variable (fletcher32 on arrays, a crc32
attribute on scalars). The values, dtypes (float16 stays float16), variable
paths and metadata are copied exactly; only ``format_version`` changes. Each
file is first loaded and checked (format 1 files still load), and written to a
temporary name and renamed, so an interrupted run leaves the old file. Prints
each file's new sha256 and size for the plugin's ``WeightsSpec``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import h5py
import numpy as np

from genzoo_core import sha256_file
from genzoo_core._files import atomic_path
from genzoo_core.weights import FORMAT_VERSION, _read_value, _write_variable, read_header


def copy_variables(source: h5py.Group, target: h5py.Group, path: Path, version: int) -> None:
    """Copy every dataset below ``source`` with its checksum, checking each value first."""
    for key, obj in source.items():
        if isinstance(obj, h5py.Group):
            group = target.create_group(key)
            group.attrs.update(dict(obj.attrs))
            copy_variables(obj, group, path, version)
            continue
        value = _read_value(obj, path, f"variable {obj.name}", version)
        _write_variable(target, key, np.asarray(value), str(obj.attrs.get("path", key)))


def upgrade(path: Path) -> bool:
    """Rewrite ``path`` in the current format; ``False`` if it already is."""
    header = read_header(path)
    if header.format_version == FORMAT_VERSION:
        return False
    with h5py.File(path, "r") as old, atomic_path(path) as tmp, h5py.File(tmp, "w") as new:
        attrs = dict(old.attrs)
        attrs["format_version"] = FORMAT_VERSION
        new.attrs.update(attrs)
        for name in old:
            group = new.create_group(name)
            group.attrs.update(dict(old[name].attrs))
            copy_variables(old[name], group, path, header.format_version)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.files:
        changed = upgrade(path)
        print(f"{path}: {'rewritten' if changed else 'already current'}, "
              f"sha256={sha256_file(path)} size={os.path.getsize(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
