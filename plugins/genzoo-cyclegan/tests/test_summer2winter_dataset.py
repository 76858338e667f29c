"""The 'summer2winter' dataset genzoo-cyclegan registers: from GENZOO_DATA, or the archive.

The archive test builds a few-kilobyte summer2winter_yosemite.zip in the published
layout (summer2winter_yosemite/trainA trainB testA testB) and serves it from
127.0.0.1: nothing here touches the internet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from genzoo_cyclegan.plugin import SUMMER2WINTER_DATASET

import genzoo_core
from genzoo_core import GenzooError
from genzoo_core.plugin import UnpairedDataSource
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


SPEC = SUMMER2WINTER_DATASET


def photo(value: int, size: int = 16) -> bytes:
    return tf.io.encode_jpeg(tf.constant(np.full((size, size, 3), value, np.uint8))).numpy()


def official_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for split, count in (("train", 3), ("test", 2)):
            for domain, value in (("A", 90), ("B", 230)):
                for i in range(count):
                    zf.writestr(f"summer2winter_yosemite/{split}{domain}/2016-01-0{i} 10_00_00.jpg",
                                photo(value))
    return buffer.getvalue()


def test_summer2winter_declares_its_official_archive():
    assert SPEC.folder == "cyclegan/summer2winter_yosemite"
    assert SPEC.archive_url == (
        "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/summer2winter_yosemite.zip")
    # tensorflow_datasets' url_checksums/cycle_gan.txt
    assert SPEC.archive_sha256 == (
        "167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9")
    assert SPEC.archive_size == 132640856
    assert SPEC.archive_folder == "summer2winter_yosemite"
    assert SPEC.loader == "genzoo_cyclegan.data:load_summer2winter"


def test_summer2winter_from_genzoo_data():
    require_data("cyclegan/summer2winter_yosemite/testA")
    test = genzoo_core.load_data("summer2winter", "test")
    assert isinstance(test, UnpairedDataSource)
    assert (len(test.images_a), len(test.images_b)) == (40, 40)
    assert test.images_a.shape[1:] == (256, 256, 3)


def test_the_official_archive_is_read_by_the_same_loader(tmp_path, monkeypatch):
    monkeypatch.setenv("GENZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("GENZOO_DOWNLOAD_TIMEOUT", "30")
    monkeypatch.delenv("GENZOO_OFFLINE", raising=False)
    body = official_archive()
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "s2w.zip").write_bytes(body)
    with serve_folder(tmp_path / "www") as (url, requests):
        spec = dataclasses.replace(SPEC, archive_url=f"{url}/s2w.zip",
                                   archive_sha256=hashlib.sha256(body).hexdigest(),
                                   archive_size=len(body))
        train, test = spec.load("train"), spec.load("test")
    assert requests == ["/s2w.zip"]
    assert (len(train.images_a), len(train.images_b)) == (3, 3)
    assert (len(test.images_a), len(test.images_b)) == (2, 2)
    assert train.images_a.shape[1:] == (256, 256, 3)  # read at 256x256, as GENZOO_DATA's
    assert abs(float(test.images_a.mean()) - 90) < 3
    assert abs(float(test.images_b.mean()) - 230) < 3


def test_offline_without_a_copy_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("GENZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("GENZOO_OFFLINE", "1")
    with pytest.raises(GenzooError) as info:
        genzoo_core.load_data("summer2winter", "train")
    message = str(info.value)
    assert "\n" not in message and "shared/data" not in message
    assert "GENZOO_OFFLINE is set" in message and SPEC.archive_url in message
    assert ("cyclegan/summer2winter_yosemite/ is its summer2winter_yosemite/ folder"
            in message)
