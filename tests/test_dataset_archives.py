"""Datasets that download: a DatasetSpec's archive fetched, verified, unpacked, cached, loaded.

Nothing here touches the internet: every archive is built here, a few kilobytes
in the official layouts (pix2pix's ``maps/train`` and ``maps/val`` of A|B pairs,
CycleGAN's ``trainA trainB testA testB``), and served by an HTTP server each test
starts on 127.0.0.1 (the fixtures of test_hub.py). Each download is bounded by
``GENZOO_DOWNLOAD_TIMEOUT``.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import json
import os
import stat
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from test_hub import files_in, serve_bytes, serve_status, serve_truncated
from test_hub import server as server  # noqa: F401 - the fixture

from genzoo_core.data import (
    PairedDataSource,
    UnpairedDataSource,
    archives,
    dataset_folder,
    load_data,
    unpack_archive,
)
from genzoo_core.errors import DataError, DownloadError, PluginError
from genzoo_core.hub import genzoo_home
from genzoo_core.spec import DatasetSpec


@pytest.fixture(autouse=True)
def _bounded(monkeypatch, tmp_path):
    """No GENZOO_DATA copy unless a test makes one, and every download bounded in time."""
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("GENZOO_DOWNLOAD_TIMEOUT", "30")
    monkeypatch.delenv("GENZOO_OFFLINE", raising=False)


def png(image: np.ndarray) -> bytes:
    return tf.io.encode_png(tf.constant(image)).numpy()


def pair_image(i: int, height: int = 8) -> np.ndarray:
    """An A|B pair: the left half holds ``10 * i``, the right half ``10 * i + 5``."""
    image = np.empty((height, 2 * height, 3), np.uint8)
    image[:, :height], image[:, height:] = 10 * i, 10 * i + 5
    return image


def maps_members() -> dict[str, bytes]:
    """pix2pix's published layout: maps/train/*.jpg and maps/val/*.jpg (PNG here: exact)."""
    members = {f"maps/train/{i}.png": png(pair_image(i)) for i in (1, 2, 10)}
    members.update({f"maps/val/{i}.png": png(pair_image(20 + i)) for i in (1, 2)})
    return members


def seasons_members() -> dict[str, bytes]:
    """CycleGAN's published layout: summer2winter_yosemite/{train,test}{A,B}/."""
    members = {}
    for split, count in (("train", 3), ("test", 2)):
        for domain, value in (("A", 40), ("B", 200)):
            for i in range(count):
                image = np.full((8, 8, 3), value + i, np.uint8)
                members[f"summer2winter_yosemite/{split}{domain}/{i}.png"] = png(image)
    return members


def tar_gz(members: dict[str, bytes], *, extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        for info in extra or []:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buffer.getvalue()


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def maps_spec(url: str, body: bytes, **changes) -> DatasetSpec:
    fields = dict(name="toy-maps", loader="genzoo_core:load_paired_folder",
                  condition="paired_image", folder="pix2pix/maps", archive_url=url,
                  archive_sha256=sha(body), archive_size=len(body), archive_folder="maps",
                  distribution="genzoo-toy")
    fields.update(changes)
    return DatasetSpec(**fields)


def seasons_spec(url: str, body: bytes) -> DatasetSpec:
    return DatasetSpec(name="toy-seasons", loader="genzoo_core:load_unpaired_folders",
                       condition="unpaired_domains", folder="cyclegan/summer2winter_yosemite",
                       archive_url=url, archive_sha256=sha(body), archive_size=len(body),
                       archive_folder="summer2winter_yosemite")


def datasets_dir() -> Path:
    return genzoo_home() / archives.DATASETS_DIR


def only_the_entry(spec: DatasetSpec) -> None:
    """The cache holds the finished entry and nothing else: no archive, no temporary folder."""
    entry = archives.cache_entry(spec)
    assert sorted(p.name for p in datasets_dir().iterdir()) == [entry.name]
    marker = json.loads((entry / archives.MARKER).read_text())
    assert marker == {"url": spec.archive_url, "sha256": spec.archive_sha256}


class _Registry:
    """The smallest registry load_data needs: one dataset."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec

    def get_dataset(self, name: str) -> DatasetSpec:
        assert name == self.spec.name
        return self.spec


# -- fetched, unpacked, cached, loaded -----------------------------------------------------


def test_a_paired_archive_is_fetched_unpacked_cached_and_loaded(server):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)

    train = load_data("toy-maps", "train", registry=_Registry(spec))

    assert isinstance(train, PairedDataSource) and len(train) == 3
    assert train.files == ("1.png", "2.png", "10.png")
    np.testing.assert_array_equal(train.inputs[:, 0, 0, 0], [10, 20, 100])
    np.testing.assert_array_equal(train.targets[:, 0, 0, 0], [15, 25, 105])
    val = spec.load("val")
    assert len(val) == 2 and val.inputs[0, 0, 0, 0] == 210
    assert server.count("/maps.tar.gz") == 1  # the second split came from the cache
    assert dataset_folder(spec) == archives.cache_entry(spec) / "maps"
    only_the_entry(spec)


def test_a_second_use_does_not_download_again(server):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    first = dataset_folder(spec, progress=False)
    server.routes.clear()  # a second download would now fail with 404

    again = spec.load("train")

    assert dataset_folder(spec) == first and len(again) == 3
    assert server.count() == 1


def test_an_unpaired_zip_in_the_cyclegan_layout_is_loaded(server):
    body = zip_bytes(seasons_members())
    server.routes["/s2w.zip"] = serve_bytes(body)
    spec = seasons_spec(server.url("/s2w.zip"), body)

    train, test = spec.load("train"), spec.load("test")

    assert isinstance(train, UnpairedDataSource)
    assert (len(train.images_a), len(train.images_b)) == (3, 3)
    assert (len(test.images_a), len(test.images_b)) == (2, 2)
    np.testing.assert_array_equal(test.images_b[:, 0, 0, 0], [200, 201])
    assert server.count() == 1
    only_the_entry(spec)


# -- GENZOO_DATA wins ----------------------------------------------------------------------


def test_a_genzoo_data_copy_wins_and_nothing_is_downloaded(server, tmp_path, monkeypatch):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_status(500)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    data = tmp_path / "data"
    for name, member in maps_members().items():
        if name.startswith("maps/val/"):  # only val: so the copy is told from the archive
            target = data / "pix2pix" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(member)
    (data / "pix2pix" / "maps" / "train").mkdir()
    monkeypatch.setenv("GENZOO_DATA", str(data))

    val = spec.load("val")

    assert dataset_folder(spec) == data / "pix2pix" / "maps"
    assert len(val) == 2 and server.count() == 0
    assert files_in(datasets_dir()) == []


def test_without_a_genzoo_data_copy_the_archive_is_used(server, tmp_path, monkeypatch):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    (tmp_path / "data" / "pix2pix").mkdir(parents=True)  # GENZOO_DATA set, without maps/
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "data"))

    assert len(spec.load("train")) == 3 and server.count() == 1


# -- nothing half-done is ever left --------------------------------------------------------


def test_a_wrong_sha256_is_one_error_and_leaves_no_cache(server):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body, archive_sha256=sha(b"another file"))

    with pytest.raises(DownloadError) as info:
        spec.load("train")

    message = str(info.value)
    assert "\n" not in message
    assert f"gave a file with sha256 {sha(body)}, expected {sha(b'another file')}" in message
    assert files_in(datasets_dir()) == []
    assert list(datasets_dir().iterdir()) == []  # no folder either


def test_a_dropped_connection_leaves_no_cache_and_a_retry_works(server):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_truncated(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)

    with pytest.raises(DownloadError, match="nothing was saved"):
        spec.load("train")
    assert files_in(datasets_dir()) == []

    server.routes["/maps.tar.gz"] = serve_bytes(body)
    assert len(spec.load("train")) == 3
    only_the_entry(spec)


def test_an_unpack_killed_midway_leaves_no_half_dataset(server, monkeypatch):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    real_write, written = archives._write, []

    def write(source, target, root):
        if len(written) == 2:
            raise KeyboardInterrupt  # as Ctrl-C in the middle of unpacking
        written.append(target)
        real_write(source, target, root)

    monkeypatch.setattr(archives, "_write", write)
    with pytest.raises(KeyboardInterrupt):
        spec.load("train")
    assert len(written) == 2
    assert files_in(datasets_dir()) == []
    assert not archives.cache_entry(spec).exists()

    monkeypatch.setattr(archives, "_write", real_write)
    assert len(spec.load("train")) == 3
    only_the_entry(spec)


def test_what_a_killed_process_left_is_cleaned_up_or_reused(server):
    """A verified archive is reused without the network; a stale unpack folder is removed."""
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_status(500)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    entry = archives.cache_entry(spec)
    entry.parent.mkdir(parents=True)
    entry.with_name(entry.name + ".tar.gz").write_bytes(body)  # downloaded, then killed
    stale = entry.parent / f".{entry.name}.abc123.unpack"
    (stale / "maps" / "train").mkdir(parents=True)
    (stale / "maps" / "train" / "1.png").write_bytes(b"half")
    old = time.time() - 2 * archives.STALE_PART_AGE
    os.utime(stale, (old, old))

    assert len(spec.load("train")) == 3

    assert server.count() == 0
    assert not stale.exists()
    only_the_entry(spec)


def test_an_entry_without_its_marker_is_replaced(server):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    entry = archives.cache_entry(spec)
    (entry / "maps" / "train").mkdir(parents=True)  # half a dataset, not ours
    (entry / "maps" / "train" / "1.png").write_bytes(b"damaged")

    assert len(spec.load("train")) == 3
    assert server.count() == 1
    only_the_entry(spec)


def test_offline_with_an_empty_cache_says_what_to_do(server, monkeypatch):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    monkeypatch.setenv("GENZOO_OFFLINE", "1")

    with pytest.raises(DownloadError) as info:
        spec.load("train")

    message = str(info.value)
    assert "\n" not in message and "GENZOO_OFFLINE is set" in message
    assert spec.archive_url in message and "GENZOO_DATA" in message
    assert "pix2pix/maps/ is its maps/ folder" in message
    assert server.count() == 0


def test_without_a_recorded_sha256_nothing_is_downloaded(server):
    server.routes["/maps.tar.gz"] = serve_bytes(tar_gz(maps_members()))
    spec = DatasetSpec(name="toy-maps", loader="genzoo_core:load_paired_folder",
                       folder="pix2pix/maps", archive_url=server.url("/maps.tar.gz"),
                       archive_folder="maps", distribution="genzoo-toy")

    with pytest.raises(DataError) as info:
        spec.load("train")

    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("dataset 'toy-maps' from genzoo-toy is not available: ")
    assert "Set GENZOO_DATA to a folder holding pix2pix/maps/" in message
    assert f"download {spec.archive_url} and unpack it so that pix2pix/maps/ is its maps/" in (
        message)
    assert "sha256 is not recorded" in message
    assert server.count() == 0


def test_a_dataset_only_in_genzoo_data_says_where_it_belongs(monkeypatch):
    spec = DatasetSpec(name="local", loader="genzoo_core.data:load_image_folder", folder="mine/x")
    monkeypatch.delenv("GENZOO_DATA")
    with pytest.raises(DataError, match=r"^dataset 'local' is not available: GENZOO_DATA is "
                                        r"unset\. Set GENZOO_DATA to a folder holding mine/x/, "
                                        r"or pass the dataset's path$"):
        spec.load("train")


# -- unpacking safely ----------------------------------------------------------------------


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(("make", "refusal"), [
    (lambda: tar_gz({"maps/train/1.png": b"x", "../escape.txt": b"out"}), "leaves its folder"),
    (lambda: tar_gz({"maps/train/1.png": b"x", "maps/../../escape.txt": b"out"}),
     "leaves its folder"),
    (lambda: tar_gz({"/tmp/escape.txt": b"out"}), "absolute path"),
    (lambda: tar_gz({"maps/train/1.png": b"x"}, extra=[_link("maps/link", "/etc/passwd")]),
     "not a plain file or folder"),
    (lambda: tar_gz({"maps/train/1.png": b"x"},
                    extra=[_link("maps/hard", "/etc/passwd", tarfile.LNKTYPE)]),
     "not a plain file or folder"),
    (lambda: zip_bytes({"maps/train/1.png": b"x", "../escape.txt": b"out"}), "leaves its folder"),
    (lambda: zip_bytes({"C:/escape.txt": b"out"}), "absolute path"),
], ids=["tar-dotdot", "tar-nested-dotdot", "tar-absolute", "tar-symlink", "tar-hardlink",
        "zip-dotdot", "zip-drive"])
def test_an_unsafe_archive_is_refused_whole(server, tmp_path, make, refusal):
    body = make()
    server.routes["/bad"] = serve_bytes(body)
    spec = maps_spec(server.url("/bad"), body)

    with pytest.raises(DataError) as info:
        spec.load("train")

    message = str(info.value)
    assert "\n" not in message and refusal in message and "nothing was unpacked" in message
    assert files_in(datasets_dir()) == []  # no entry, no archive, no temporary folder
    assert not (tmp_path / "escape.txt").exists()
    assert not (genzoo_home() / "escape.txt").exists()


def test_a_zip_symlink_is_refused(tmp_path):
    info = zipfile.ZipInfo("maps/link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    archive = tmp_path / "a.zip"
    archive.write_bytes(buffer.getvalue())
    (tmp_path / "out").mkdir()
    with pytest.raises(DataError, match="not a plain file or folder"):
        unpack_archive(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_an_archive_too_big_to_unpack_is_refused(tmp_path, monkeypatch):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_gz({"maps/train/1.png": b"x" * 1000}))
    (tmp_path / "out").mkdir()
    monkeypatch.setattr(archives, "UNPACKED_LIMIT", 999)
    with pytest.raises(DataError, match="would unpack to 1000 bytes, more than the 999"):
        unpack_archive(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_macos_resource_forks_are_skipped(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"s/trainA/1.png": b"x", "__MACOSX/s/trainA/._1.png": b"y"}))
    (tmp_path / "out").mkdir()
    assert unpack_archive(archive, tmp_path / "out") == ["s"]
    assert files_in(tmp_path / "out") == [tmp_path / "out" / "s" / "trainA" / "1.png"]


def test_an_archive_without_its_folder_is_one_error_and_leaves_nothing(server):
    body = tar_gz({"facades/train/1.png": png(pair_image(1))})
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)

    with pytest.raises(DataError) as info:
        spec.load("train")

    assert str(info.value) == (
        f"the archive of dataset 'toy-maps' from genzoo-toy ({spec.archive_url}) holds no "
        f"maps/ folder (its top level: facades); nothing was saved. The published archive "
        f"may have changed: report it to the plugin's authors."
    )
    assert files_in(datasets_dir()) == []


def test_a_damaged_archive_with_the_right_hash_is_one_error(server):
    body = tar_gz(maps_members())[:-200] + b"\0" * 200  # its hash is recorded as is
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    with pytest.raises(DataError, match="cannot unpack the archive of dataset 'toy-maps'"):
        spec.load("train")
    assert files_in(datasets_dir()) == []


# -- the spec's fields ---------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "error"), [
    ({"folder": "../maps"}, "folder must be a relative folder path"),
    ({"folder": "/data/maps"}, "folder must be a relative folder path"),
    ({"folder": "pix2pix\\maps"}, "folder must be a relative folder path"),
    ({"folder": 3}, "folder must be a string"),
    ({"archive_url": "ftp://host/maps.tar.gz"}, "archive_url must start with https:// or"),
    ({"archive_url": "https://h/m.zip", "archive_sha256": "ABC"}, "64 lowercase hex"),
    ({"archive_url": "https://h/m.zip", "archive_size": 0}, "positive number of bytes"),
    ({"archive_url": "https://h/m.zip", "archive_size": True}, "positive number of bytes"),
    ({"archive_url": "https://h/m.zip", "archive_folder": "a/../b"}, "archive_folder must"),
    ({"archive_sha256": "0" * 64}, "set archive_url too"),
    ({"archive_folder": "maps"}, "set archive_url too"),
])
def test_archive_fields_are_checked(fields, error):
    with pytest.raises(PluginError, match=error):
        DatasetSpec(name="d", loader="m.n:f", **fields)


def test_archive_fields_are_kept():
    spec = DatasetSpec(name="d", loader="m.n:f", folder="a/b", archive_url="https://h/m.zip",
                       archive_sha256="0" * 64, archive_size=12, archive_folder="m")
    assert (spec.folder, spec.archive_size, spec.archive_folder) == ("a/b", 12, "m")
    assert dataclasses.replace(spec, archive_size=None).archive_size is None


# -- two processes, and a cache that cannot be written -------------------------------------


def test_when_another_process_finishes_first_its_entry_is_used(server, monkeypatch):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    real_rename = os.rename

    def rename(source, target):
        # The other process renames its complete copy into place just before this one.
        real_rename(source, str(source) + ".theirs")
        os.mkdir(source)
        real_rename(str(source) + ".theirs", target)
        (Path(source) / "late").write_text("mine, unfinished")
        return real_rename(source, target)  # fails: the entry is there, complete

    monkeypatch.setattr(archives.os, "rename", rename)
    assert len(spec.load("train")) == 3
    only_the_entry(spec)  # and no temporary folder of the loser


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
def test_a_cache_that_cannot_be_written_is_one_error_and_keeps_nothing(server, monkeypatch,
                                                                        code):
    body = tar_gz(maps_members())
    server.routes["/maps.tar.gz"] = serve_bytes(body)
    spec = maps_spec(server.url("/maps.tar.gz"), body)
    real_write = archives._write

    def write(source, target, root):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(archives, "_write", write)
    with pytest.raises(DownloadError) as info:
        spec.load("train")
    message = str(info.value)
    assert "\n" not in message and "[Errno" not in message
    assert os.strerror(code) in message and "GENZOO_HOME=" in message
    assert str(archives.cache_entry(spec)) in message
    assert files_in(datasets_dir()) == []

    monkeypatch.setattr(archives, "_write", real_write)
    assert len(spec.load("train")) == 3
