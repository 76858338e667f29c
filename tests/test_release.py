"""The built distributions install from a package index and work.

genzoo-core, genzoo-pix2pix and genzoo-gan are built (no isolation, no warning
allowed) into a folder that a thread serves on 127.0.0.1 as a simple
repository. A fresh virtual environment installs genzoo-pix2pix from it with
``--index-url`` and nothing else: its third-party dependencies are the
development environment's (shared through a ``.pth`` file, genzoo's own
packages left out), so nothing comes from the internet and genzoo-core has to
come from the local index with the plugin. ``make release-check`` runs the same
checks (scripts/release_check.py) against ``dist/`` with a fresh environment
that installs its dependencies from the usual index.
"""

from __future__ import annotations

import sysconfig
import time
import zipfile
from pathlib import Path

import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]


build_dists = load_script("build_dists")
release_check = load_script("release_check")
release_metadata = load_script("release_metadata")


def test_warning_lines_are_found():
    output = "copying x\nWARNING Package 'genzoo_x.weights' is absent\nwarning: build_py: y\nok"
    assert build_dists.warning_lines(output) == [
        "WARNING Package 'genzoo_x.weights' is absent", "warning: build_py: y"]


def test_the_simple_index_links_every_file_by_its_normalized_name(tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    for name in ("genzoo_core-1.5.0-py3-none-any.whl", "genzoo_core-1.5.0.tar.gz",
                 "genzoo_pix2pix-1.5.0-py3-none-any.whl", "notes.txt"):
        (dist / name).write_bytes(name.encode())
    projects = release_check.write_simple_index(dist, tmp_path / "index")
    assert sorted(projects) == ["genzoo-core", "genzoo-pix2pix"]
    page = (tmp_path / "index" / "simple" / "genzoo-core" / "index.html").read_text()
    assert page.count("<a href=") == 2 and "notes.txt" not in page
    assert "../../files/genzoo_core-1.5.0.tar.gz#sha256=" in page
    assert (tmp_path / "index" / "files" / "genzoo_pix2pix-1.5.0-py3-none-any.whl").is_file()


@pytest.mark.slow
def test_pix2pix_installs_from_a_local_index_into_a_fresh_environment(tmp_path):
    started = time.perf_counter()
    version, _ = release_metadata.core_versions()
    dist = tmp_path / "dist"
    folders = [ROOT, ROOT / "plugins" / "genzoo-pix2pix", ROOT / "plugins" / "genzoo-gan"]
    problems, build_seconds = build_dists.build(folders, dist)
    assert problems == []
    wheels = {p.name for p in dist.glob("*.whl")}
    assert wheels == {f"genzoo_{n}-{version}-py3-none-any.whl" for n in ("core", "pix2pix", "gan")}
    with zipfile.ZipFile(dist / f"genzoo_pix2pix-{version}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
    assert {"genzoo_pix2pix/weights/maps.h5", "genzoo_pix2pix/weights/manifest.json",
            "genzoo_pix2pix/recipes/maps.toml", "genzoo_pix2pix/py.typed",
            f"genzoo_pix2pix-{version}.dist-info/licenses/LICENSE"} <= names
    assert not [n for n in names if n.startswith(("tests/", "build/")) or ".egg-info" in n]

    release_check.write_simple_index(dist, tmp_path / "index")
    python = release_check.fresh_venv(tmp_path / "venv",
                                      share_from=Path(sysconfig.get_paths()["purelib"]))
    with release_check.serve_index(tmp_path / "index") as served:
        times = release_check.check_environment(python, served.url, version, served)
    assert "/simple/genzoo-core/" in served.requests
    total = time.perf_counter() - started
    print(f"\nbuild of 3 distributions {build_seconds:.1f} s; "
          + "; ".join(f"{step} {seconds:.1f} s" for step, seconds in times.items())
          + f"; whole test {total:.1f} s")
