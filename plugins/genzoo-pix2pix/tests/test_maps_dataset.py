"""The 'maps' dataset genzoo-pix2pix registers: from GENZOO_DATA, or the official archive.

The archive test builds a few-kilobyte maps.tar.gz in the published layout
(maps/train/ and maps/val/ of side-by-side A|B JPEGs) and serves it from
127.0.0.1: nothing here touches the internet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from genzoo_pix2pix.plugin import MAPS_DATASET

import genzoo_core
from genzoo_core import GenzooError
from genzoo_core.plugin import PairedDataSource
from genzoo_core.testing import require_data


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def serve_folder(folder: Path):
    """Serve ``folder`` on 127.0.0.1; yields (base URL, the list of requested paths)."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def pair_jpeg(photo: int, drawing: int, height: int = 32) -> bytes:
    """A 2:1 pair, as in maps: the dark aerial photo left (A), the bright map right (B)."""
    image = np.empty((height, 2 * height, 3), np.uint8)
    image[:, :height], image[:, height:] = photo, drawing
    return tf.io.encode_jpeg(tf.constant(image)).numpy()


def official_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, body in [("maps/train/1.jpg", pair_jpeg(60, 230)),
                           ("maps/train/2.jpg", pair_jpeg(70, 240)),
                           ("maps/val/1.jpg", pair_jpeg(50, 220))]:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def test_maps_declares_where_its_files_are():
    assert MAPS_DATASET.folder == "pix2pix/maps"
    assert MAPS_DATASET.archive_url == (
        "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/maps.tar.gz")
    assert MAPS_DATASET.archive_size == 250242400 and MAPS_DATASET.archive_folder == "maps"
    assert MAPS_DATASET.loader == "genzoo_pix2pix.data:load_maps"


def test_maps_from_genzoo_data():
    require_data("pix2pix/maps/val")
    val = genzoo_core.load_data("maps", "val")
    assert isinstance(val, PairedDataSource) and val.image_shape == (256, 256, 3)
    assert len(val) == 50 and val.files[:2] == ("1.jpg", "2.jpg")
    assert val.inputs.mean() < val.targets.mean()  # aerial photos are darker than maps


def test_the_official_archive_is_read_by_the_same_loader(tmp_path, monkeypatch):
    monkeypatch.setenv("GENZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("GENZOO_DOWNLOAD_TIMEOUT", "30")
    monkeypatch.delenv("GENZOO_OFFLINE", raising=False)
    body = official_archive()
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "maps.tar.gz").write_bytes(body)
    with serve_folder(tmp_path / "www") as (url, requests):
        spec = dataclasses.replace(MAPS_DATASET, archive_url=f"{url}/maps.tar.gz",
                                   archive_sha256=hashlib.sha256(body).hexdigest(),
                                   archive_size=len(body))
        train, val = spec.load("train"), spec.load("val")
    assert requests == ["/maps.tar.gz"]
    assert isinstance(train, PairedDataSource) and len(train) == 2 and len(val) == 1
    assert train.image_shape == val.image_shape == (256, 256, 3)
    assert train.files == ("1.jpg", "2.jpg") and (train.jitter, val.jitter) == (True, False)
    assert abs(float(val.inputs.mean()) - 50) < 3 and abs(float(val.targets.mean()) - 220) < 3


def test_without_a_copy_the_error_names_the_archive(tmp_path, monkeypatch):
    """Offline, so never the internet, whether or not a sha256 is recorded by then."""
    monkeypatch.setenv("GENZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("GENZOO_OFFLINE", "1")
    with pytest.raises(GenzooError) as info:
        genzoo_core.load_data("maps", "train")
    message = str(info.value)
    assert "\n" not in message and "shared/data" not in message
    assert "GENZOO_DATA" in message and MAPS_DATASET.archive_url in message
    assert "pix2pix/maps/ is its maps/ folder" in message
