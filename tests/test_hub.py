"""Tests for genzoo_core.hub: cache locations, verified downloads, packaged weights.

Nothing here touches the internet: downloads go to an HTTP server each test
starts on 127.0.0.1 (port 0) and shuts down when it ends.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import random
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import genzoo_core
from genzoo_core import download as download_module
from genzoo_core import hub
from genzoo_core.errors import DownloadError, GenzooError, PluginError, WeightsError
from genzoo_core.spec import ModelSpec, WeightsSpec

PAYLOAD = random.Random(0).randbytes(200_000)  # fixed: test ids must match across processes
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
WRONG_SHA = hashlib.sha256(b"not the payload").hexdigest()


# ---------------------------------------------------------------------------
# A local HTTP server with per-path behaviours and a request log.


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a stuck client never blocks a server thread for long

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        server = self.server
        with server.lock:
            server.requests.append(self.path)
        behaviour = server.routes.get(self.path)
        if behaviour is None:
            self.send_error(404, "Not Found")
            return
        behaviour(self)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.routes: dict = {}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return len([p for p in self.requests if path is None or p == path])


def serve_bytes(body: bytes, *, length: bool = True):
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        if length:
            handler.send_header("Content-Length", str(len(body)))
        else:  # no length: the end of the body is the end of the connection
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()

    return behaviour


def serve_truncated(body: bytes, *, reset: bool = False):
    """Announce all of ``body``, send half of it, then drop the connection.

    With ``reset``, the connection is reset (RST) rather than closed (FIN).
    """

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        handler.close_connection = True
        if not reset:
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        # Linger 0: closing sends RST instead of FIN, so the client's next read fails.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
        handler.rfile.close()
        handler.connection.close()

    return behaviour


def serve_truncated_chunked(body: bytes):
    """Announce a chunk of ``len(body)`` bytes, send half of it, drop the connection."""

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.write(f"{len(body):x}\r\n".encode() + body[: len(body) // 2])
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)

    return behaviour


def serve_status(code: int):
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.send_error(code)

    return behaviour


def serve_redirect(location: str):
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return behaviour


def serve_garbage(handler: BaseHTTPRequestHandler) -> None:
    """Answer with something that is not an HTTP status line."""
    handler.wfile.write(b"GARBAGE\r\n\r\n")
    handler.wfile.flush()
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


ENDLESS_LIMIT = 20 * len(PAYLOAD)  # what an "endless" body sends at most: keeps tests bounded


def serve_endless(*, length: str | None = None, chunked: bool = False):
    """Send zeros until the client hangs up, ENDLESS_LIMIT bytes or 5 s, announcing ``length``.

    With ``chunked`` the body is chunked (so any Content-Length is ignored by the client);
    otherwise, the end of the body is the end of the connection.
    """

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            handler.send_header("Content-Length", length)
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.close_connection = True
        handler.end_headers()
        block = b"\0" * 65536
        sent, end = 0, time.monotonic() + 5
        with contextlib.suppress(OSError):  # the client hung up: that is the point
            while sent < ENDLESS_LIMIT and time.monotonic() < end:
                if chunked:
                    handler.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                else:
                    handler.wfile.write(block)
                sent += len(block)

    return behaviour


def serve_drip(body: bytes, *, interval: float = 0.05, limit_s: float = 5.0):
    """Announce all of ``body``, then send it one byte every ``interval`` seconds."""

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.close_connection = True
        end = time.monotonic() + limit_s
        with contextlib.suppress(OSError):
            for i in range(len(body)):
                if time.monotonic() > end:
                    break
                handler.wfile.write(body[i : i + 1])
                handler.wfile.flush()
                time.sleep(interval)

    return behaviour


def serve_stall(*, body_first: bytes = b"", seconds: float = 3.0):
    """Send ``body_first`` (headers and half a body when given), then nothing for ``seconds``."""

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        if body_first:
            handler.send_response(200)
            handler.send_header("Content-Length", str(2 * len(body_first)))
            handler.end_headers()
            handler.wfile.write(body_first)
            handler.wfile.flush()
        handler.close_connection = True
        time.sleep(seconds)

    return behaviour


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the test HTTP server did not stop"


@pytest.fixture
def dead_url():
    """A URL on a local port where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/w.h5"


# ---------------------------------------------------------------------------
# Helpers.


def make_spec(url: str | None = None, sha256: str = PAYLOAD_SHA, *, name: str = "m",
              file: str | None = None, builder: str = "x.y:Z",
              distribution: str = "",
              size: int | None = len(PAYLOAD)) -> tuple[ModelSpec, WeightsSpec]:
    weights = WeightsSpec(name="w", url=url, file=file, sha256=sha256, size=size)
    spec = ModelSpec(name=name, builder=builder, components=("generator",),
                     weights=(weights,), distribution=distribution)
    return spec, weights


def model_dir(spec: ModelSpec) -> Path:
    return hub.genzoo_home() / "weights" / spec.name


def files_in(folder: Path) -> list[Path]:
    """Every file (hidden ones included) below ``folder``; [] when it does not exist."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def assert_cache_empty(spec: ModelSpec) -> None:
    leftovers = files_in(model_dir(spec))
    assert leftovers == [], f"the cache kept {leftovers}"


# ---------------------------------------------------------------------------
# Locations and settings.


def test_genzoo_home_follows_the_environment(tmp_path, monkeypatch):
    assert hub.genzoo_home() == tmp_path / "genzoo-home"  # set by conftest
    monkeypatch.setenv("GENZOO_HOME", str(tmp_path / "elsewhere"))
    assert hub.genzoo_home() == tmp_path / "elsewhere"


def test_genzoo_home_defaults_to_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("GENZOO_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert hub.genzoo_home() == tmp_path / "user" / ".cache" / "genzoo"
    monkeypatch.setenv("GENZOO_HOME", "")  # empty means unset
    assert hub.genzoo_home() == tmp_path / "user" / ".cache" / "genzoo"


def test_genzoo_home_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("GENZOO_HOME", "~/zoo")
    assert hub.genzoo_home() == tmp_path / "user" / "zoo"


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " On "])
def test_offline_true_values(monkeypatch, value):
    monkeypatch.setenv("GENZOO_OFFLINE", value)
    assert hub.offline() is True


@pytest.mark.parametrize("value", [None, "", "0", "false", "no", "off", "2"])
def test_offline_false_values(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("GENZOO_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("GENZOO_OFFLINE", value)
    assert hub.offline() is False


def test_cache_path_layout():
    spec, weights = make_spec("http://127.0.0.1:1/w.h5")
    path = hub.cache_path(spec, weights)
    assert path == hub.genzoo_home() / "weights" / "m" / f"w-{PAYLOAD_SHA[:16]}.h5"
    # A different hash is a different file: a republished file never reuses a stale entry.
    _, other = make_spec("http://127.0.0.1:1/w.h5", sha256=WRONG_SHA)
    assert hub.cache_path(spec, other) != path


# ---------------------------------------------------------------------------
# Downloads.


def test_download_success(server):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))

    path = hub.resolve(spec, weights, progress=False)

    assert path == hub.cache_path(spec, weights)
    assert path.read_bytes() == PAYLOAD
    assert files_in(model_dir(spec)) == [path]  # no .part file left beside it
    assert server.count("/w.h5") == 1


def test_second_resolve_is_a_cache_hit(server):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))

    first = hub.resolve(spec, weights, progress=False)
    mtime = first.stat().st_mtime_ns
    second = hub.resolve(spec, weights, progress=False)

    assert second == first
    assert second.read_bytes() == PAYLOAD
    assert second.stat().st_mtime_ns == mtime  # not rewritten
    assert server.count() == 1


def test_download_without_content_length(server):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD, length=False)
    spec, weights = make_spec(server.url("/w.h5"))

    path = hub.resolve(spec, weights, progress=False)

    assert path.read_bytes() == PAYLOAD
    assert files_in(model_dir(spec)) == [path]


def test_download_follows_redirects(server):
    server.routes["/old.h5"] = serve_redirect("/new.h5")
    server.routes["/new.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/old.h5"))

    path = hub.resolve(spec, weights, progress=False)

    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/old.h5", "/new.h5"]


def test_wrong_hash_leaves_nothing(server):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"), sha256=WRONG_SHA)

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert WRONG_SHA in message and PAYLOAD_SHA in message
    assert server.count("/w.h5") == 1
    assert not hub.cache_path(spec, weights).exists()
    assert_cache_empty(spec)


def test_wrong_hash_is_a_genzoo_error(server):
    server.routes["/w.h5"] = serve_bytes(b"tiny")
    spec, weights = make_spec(server.url("/w.h5"), sha256=WRONG_SHA)
    with pytest.raises(GenzooError):
        hub.resolve(spec, weights, progress=False)
    assert issubclass(genzoo_core.DownloadError, GenzooError)


def test_connection_dropped_mid_file(server):
    server.routes["/w.h5"] = serve_truncated(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert str(len(PAYLOAD)) in message  # "stopped at X of N bytes" or "broke after X bytes"
    assert server.count("/w.h5") == 1
    assert not hub.cache_path(spec, weights).exists()
    assert_cache_empty(spec)


def test_connection_reset_mid_file(server):
    server.routes["/w.h5"] = serve_truncated(PAYLOAD, reset=True)
    spec, weights = make_spec(server.url("/w.h5"))

    with pytest.raises(DownloadError, match="broke after") as info:
        hub.resolve(spec, weights, progress=False)

    assert isinstance(info.value.__cause__, ConnectionResetError)
    assert server.count("/w.h5") == 1
    assert_cache_empty(spec)


def test_connection_dropped_mid_chunked_file_leaves_nothing(server):
    server.routes["/w.h5"] = serve_truncated_chunked(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))

    with pytest.raises(DownloadError):
        hub.resolve(spec, weights, progress=False)

    assert server.count("/w.h5") == 1
    assert_cache_empty(spec)


def test_connection_dropped_mid_chunked_file_is_a_download_error(server):
    server.routes["/w.h5"] = serve_truncated_chunked(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    with pytest.raises(DownloadError):
        hub.resolve(spec, weights, progress=False)


def test_garbage_answer_is_a_download_error(server):
    server.routes["/w.h5"] = serve_garbage
    spec, weights = make_spec(server.url("/w.h5"))
    with pytest.raises(DownloadError):
        hub.resolve(spec, weights, progress=False)


@pytest.mark.parametrize("code", [404, 500, 403])
def test_http_error(server, code):
    path = "/missing.h5" if code == 404 else f"/status-{code}.h5"
    if code != 404:
        server.routes[path] = serve_status(code)
    spec, weights = make_spec(server.url(path))

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    assert str(code) in str(info.value)
    assert server.url(path) in str(info.value)
    assert server.count(path) == 1
    assert_cache_empty(spec)


def test_server_not_reachable(dead_url):
    spec, weights = make_spec(dead_url)

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    assert dead_url in str(info.value)
    assert "GENZOO_OFFLINE" in str(info.value)  # tells the user a way out
    assert_cache_empty(spec)


def test_failed_download_keeps_other_cache_entries(server):
    server.routes["/good.h5"] = serve_bytes(PAYLOAD)
    server.routes["/bad.h5"] = serve_truncated(PAYLOAD)
    spec = ModelSpec(
        name="m", builder="x.y:Z", components=("generator",),
        weights=(WeightsSpec(name="good", url=server.url("/good.h5"), sha256=PAYLOAD_SHA,
                             size=len(PAYLOAD)),
                 WeightsSpec(name="bad", url=server.url("/bad.h5"), sha256=PAYLOAD_SHA,
                             size=len(PAYLOAD))),
    )
    good, bad = spec.weights

    kept = hub.resolve(spec, good, progress=False)
    with pytest.raises(DownloadError):
        hub.resolve(spec, bad, progress=False)

    assert files_in(model_dir(spec)) == [kept]
    assert kept.read_bytes() == PAYLOAD


def test_download_function_directly(server, tmp_path):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    target = tmp_path / "deep" / "er" / "out.h5"

    hub.download(server.url("/w.h5"), target, PAYLOAD_SHA, size=len(PAYLOAD), progress=False)

    assert target.read_bytes() == PAYLOAD
    assert files_in(tmp_path / "deep") == [target]


def test_download_failure_keeps_existing_target(server, tmp_path):
    """A failed download replaces nothing: the old file is only swapped on success."""
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    target = tmp_path / "out.h5"
    target.write_bytes(b"previous")

    with pytest.raises(DownloadError):
        hub.download(server.url("/w.h5"), target, WRONG_SHA, size=len(PAYLOAD), progress=False)

    assert target.read_bytes() == b"previous"
    assert files_in(tmp_path) == [target]


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_printed_on_a_terminal(server, monkeypatch):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    fake = _TTY()
    monkeypatch.setattr("sys.stderr", fake)

    path = hub.resolve(spec, weights, progress=True)

    assert path.read_bytes() == PAYLOAD
    shown = fake.getvalue()
    assert f"{path.name}: 100%" in shown
    assert shown.endswith("\n")


def test_no_progress_when_disabled(server, monkeypatch):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    fake = _TTY()
    monkeypatch.setattr("sys.stderr", fake)

    hub.resolve(spec, weights, progress=False)

    assert fake.getvalue() == ""


# ---------------------------------------------------------------------------
# Offline mode and the cache.


def test_offline_with_empty_cache(server, monkeypatch):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    monkeypatch.setenv("GENZOO_OFFLINE", "1")

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert "GENZOO_OFFLINE" in message
    assert str(hub.cache_path(spec, weights)) in message
    assert weights.url in message and PAYLOAD_SHA in message
    assert server.count() == 0
    assert_cache_empty(spec)


def test_offline_with_cached_file(server, monkeypatch):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    target = hub.cache_path(spec, weights)
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    monkeypatch.setenv("GENZOO_OFFLINE", "1")

    assert hub.resolve(spec, weights, progress=False) == target

    assert target.read_bytes() == PAYLOAD
    assert server.count() == 0


def test_offline_after_a_download(server, monkeypatch):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    path = hub.resolve(spec, weights, progress=False)
    monkeypatch.setenv("GENZOO_OFFLINE", "yes")

    assert hub.resolve(spec, weights, progress=False) == path
    assert server.count() == 1


def test_offline_with_damaged_cache_entry(server, monkeypatch):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    target = hub.cache_path(spec, weights)
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD[:-1])
    monkeypatch.setenv("GENZOO_OFFLINE", "1")

    with pytest.raises(DownloadError, match="GENZOO_OFFLINE"):
        hub.resolve(spec, weights, progress=False)

    assert server.count() == 0
    assert not target.exists()  # a damaged entry is never handed out


def test_damaged_cache_entry_is_downloaded_again(server):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    target = hub.cache_path(spec, weights)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"damaged" * 100)

    path = hub.resolve(spec, weights, progress=False)

    assert path == target
    assert path.read_bytes() == PAYLOAD
    assert hashlib.sha256(path.read_bytes()).hexdigest() == PAYLOAD_SHA
    assert server.count("/w.h5") == 1
    assert files_in(model_dir(spec)) == [target]


def test_damaged_cache_entry_and_failed_download(server):
    server.routes["/w.h5"] = serve_truncated(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    target = hub.cache_path(spec, weights)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"damaged")

    with pytest.raises(DownloadError):
        hub.resolve(spec, weights, progress=False)

    assert server.count("/w.h5") == 1
    assert_cache_empty(spec)


def test_models_have_separate_cache_folders(server):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec_a, weights_a = make_spec(server.url("/w.h5"), name="alpha")
    spec_b, weights_b = make_spec(server.url("/w.h5"), name="beta")

    path_a = hub.resolve(spec_a, weights_a, progress=False)
    path_b = hub.resolve(spec_b, weights_b, progress=False)

    assert path_a.parent.name == "alpha" and path_b.parent.name == "beta"
    assert path_a != path_b
    assert server.count() == 2


# ---------------------------------------------------------------------------
# Packaged weights.


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throw-away package ``zoo_test_pkg`` shipping ``weights/w.h5``."""
    site = tmp_path / "pkg-site"
    root = site / "zoo_test_pkg"
    (root / "weights").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "model.py").write_text("class M:\n    pass\n")
    (root / "weights" / "w.h5").write_bytes(PAYLOAD)
    monkeypatch.syspath_prepend(str(site))
    return root


def packaged_spec(sha256: str = PAYLOAD_SHA, file: str = "weights/w.h5", distribution: str = "",
                  size: int | None = None):
    return make_spec(file=file, sha256=sha256, builder="zoo_test_pkg.model:M",
                     distribution=distribution, size=size)


def test_packaged_weights(package):
    spec, weights = packaged_spec()

    path = hub.resolve(spec, weights, progress=False)

    assert path.samefile(package / "weights" / "w.h5")
    assert path.read_bytes() == PAYLOAD
    assert not (hub.genzoo_home() / "weights").exists()  # nothing copied into the cache


def test_packaged_weights_ignore_offline(package, monkeypatch):
    monkeypatch.setenv("GENZOO_OFFLINE", "1")
    spec, weights = packaged_spec()
    assert hub.resolve(spec, weights, progress=False).samefile(package / "weights" / "w.h5")


def test_packaged_weights_wrong_hash(package):
    spec, weights = packaged_spec(sha256=WRONG_SHA)

    with pytest.raises(WeightsError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert "sha256" in message
    assert WRONG_SHA in message and PAYLOAD_SHA in message
    shipped = package / "weights" / "w.h5"
    assert shipped.is_file(), "the packaged file must never be deleted"
    assert shipped.read_bytes() == PAYLOAD


def test_packaged_weights_missing(package):
    (package / "weights" / "w.h5").unlink()
    spec, weights = packaged_spec()

    with pytest.raises(WeightsError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert "missing" in message
    assert "weights/w.h5" in message
    assert "zoo_test_pkg" in message  # names what to reinstall


def test_packaged_weights_missing_names_the_distribution(package):
    spec, weights = packaged_spec(file="weights/absent.h5", distribution="zoo-test-dist")

    with pytest.raises(WeightsError, match="missing") as info:
        hub.resolve(spec, weights, progress=False)

    assert "pip install --force-reinstall zoo-test-dist" in str(info.value)


def test_packaged_weights_folder_is_not_a_file(package):
    spec, weights = packaged_spec(file="weights")
    with pytest.raises(WeightsError, match="missing"):
        hub.resolve(spec, weights, progress=False)


def test_packaged_weights_is_a_genzoo_error(package):
    spec, weights = packaged_spec(sha256=WRONG_SHA)
    with pytest.raises(GenzooError):
        hub.resolve(spec, weights, progress=False)
    assert genzoo_core.WeightsError is WeightsError


# ---------------------------------------------------------------------------
# WeightsSpec.validate.


def test_validate_accepts_a_url_spec():
    WeightsSpec(name="w", url="https://example.invalid/w.h5", sha256=PAYLOAD_SHA,
                size=len(PAYLOAD)).validate("m")


def test_validate_accepts_a_file_spec():
    WeightsSpec(name="w", file="weights/w.h5", sha256=PAYLOAD_SHA).validate("m")


def test_validate_rejects_file_and_url():
    weights = WeightsSpec(name="w", file="weights/w.h5", url="https://example.invalid/w.h5",
                          sha256=PAYLOAD_SHA)
    with pytest.raises(genzoo_core.PluginError, match="exactly one"):
        weights.validate("m")


def test_validate_rejects_neither_file_nor_url():
    with pytest.raises(genzoo_core.PluginError, match="exactly one") as info:
        WeightsSpec(name="w", sha256=PAYLOAD_SHA).validate("m")
    assert "m/w" in str(info.value)


@pytest.mark.parametrize(
    "sha256",
    ["", "abc", PAYLOAD_SHA.upper(), PAYLOAD_SHA[:-1], PAYLOAD_SHA + "0", "g" * 64,
     " " + PAYLOAD_SHA[1:]],
)
def test_validate_rejects_bad_sha256(sha256):
    with pytest.raises(PluginError, match="sha256"):
        WeightsSpec(name="w", url="https://example.invalid/w.h5", sha256=sha256).validate("m")


@pytest.mark.parametrize("name", ["", "W", "1w", "w/x", "w" * 65])
def test_validate_rejects_bad_name(name):
    with pytest.raises(PluginError, match="name"):
        WeightsSpec(name=name, url="https://example.invalid/w.h5",
                    sha256=PAYLOAD_SHA).validate("m")


def test_model_spec_validate_checks_its_weights():
    spec = ModelSpec(name="m", builder="x.y:Z", components=("generator",),
                     weights=(WeightsSpec(name="w", sha256=PAYLOAD_SHA),))
    with pytest.raises(PluginError, match="exactly one"):
        spec.validate()


# ---------------------------------------------------------------------------
# The size cap: a download never writes more than WeightsSpec.size bytes.


@pytest.mark.parametrize("announced", [10**12, len(PAYLOAD) - 1, len(PAYLOAD) + 1])
def test_content_length_that_disagrees_with_size_is_refused(server, announced):
    server.routes["/w.h5"] = serve_endless(length=str(announced))
    spec, weights = make_spec(server.url("/w.h5"))

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert f"announces {announced} bytes" in message
    assert f"expected {len(PAYLOAD)}" in message
    assert "nothing was saved" in message and "report it" in message
    assert server.count("/w.h5") == 1
    assert_cache_empty(spec)


def test_refused_content_length_writes_nothing(server, monkeypatch):
    """The size check comes before the first byte of the body is written."""
    server.routes["/w.h5"] = serve_endless(length=str(10**12))
    spec, weights = make_spec(server.url("/w.h5"))
    writes: list[int] = []
    real_fdopen = os.fdopen

    def spying_fdopen(fd, *args, **kwargs):
        return _WriteSpy(real_fdopen(fd, *args, **kwargs), writes)

    monkeypatch.setattr(hub.os, "fdopen", spying_fdopen)

    with pytest.raises(DownloadError, match="announces"):
        hub.resolve(spec, weights, progress=False)

    assert writes == []
    assert_cache_empty(spec)


@pytest.mark.parametrize(
    "length, chunked",
    [(None, False),  # no Content-Length, body until the connection closes
     (str(len(PAYLOAD)), True),  # a Content-Length that agrees, over an endless chunked body
     ("lots", False)],  # an unreadable Content-Length
    ids=["no-length", "lying-length", "bad-length"],
)
def test_body_longer_than_size_is_cut_off(server, monkeypatch, length, chunked):
    server.routes["/w.h5"] = serve_endless(length=length, chunked=chunked)
    spec, weights = make_spec(server.url("/w.h5"))
    written: list[int] = []
    real_fdopen = os.fdopen
    monkeypatch.setattr(hub.os, "fdopen", lambda fd, *a, **k: _WriteSpy(
        real_fdopen(fd, *a, **k), written))

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert f"more than the expected {len(PAYLOAD)} bytes" in message
    assert "nothing was saved" in message
    assert 0 < sum(written) <= len(PAYLOAD)  # stopped at the cap, never past it
    assert server.count("/w.h5") == 1
    assert_cache_empty(spec)


def test_body_shorter_than_size_without_content_length(server):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD[:-10], length=False)
    spec, weights = make_spec(server.url("/w.h5"))

    with pytest.raises(DownloadError, match=f"stopped at {len(PAYLOAD) - 10} of {len(PAYLOAD)}"):
        hub.resolve(spec, weights, progress=False)

    assert_cache_empty(spec)


class _WriteSpy:
    """Wrap a file object, recording the size of each write (or raising ``error`` instead)."""

    def __init__(self, file, writes: list[int] | None = None, error: OSError | None = None):
        self._file, self._writes, self._error = file, writes, error

    def write(self, data) -> int:
        if self._error is not None:
            raise self._error
        if self._writes is not None:
            self._writes.append(len(data))
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


def test_packaged_weights_of_the_wrong_size_are_not_hashed(package, monkeypatch):
    spec, weights = packaged_spec(size=len(PAYLOAD) + 1)
    monkeypatch.setattr(hub, "sha256_file", _no_hashing)

    with pytest.raises(WeightsError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert f"{len(PAYLOAD)} bytes, expected {len(PAYLOAD) + 1}" in message
    assert "reinstall" in message.lower()
    assert (package / "weights" / "w.h5").read_bytes() == PAYLOAD  # never deleted


def test_cached_file_of_the_wrong_size_is_replaced_without_hashing_it(server, monkeypatch):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    target = hub.cache_path(spec, weights)
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD[:-1])
    monkeypatch.setattr(hub, "sha256_file", _no_hashing)

    assert hub.resolve(spec, weights, progress=False) == target

    assert target.read_bytes() == PAYLOAD
    assert server.count("/w.h5") == 1


def _no_hashing(path):
    raise AssertionError(f"{path} was hashed although its size is wrong")


# ---------------------------------------------------------------------------
# The overall deadline.


def test_drip_feeding_server_hits_the_deadline(server, monkeypatch):
    server.routes["/w.h5"] = serve_drip(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    monkeypatch.setenv("GENZOO_DOWNLOAD_TIMEOUT", "0.6")

    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)
    elapsed = time.monotonic() - start

    assert elapsed < 2.0, f"the deadline of 0.6 s held the client for {elapsed:.1f} s"
    message = str(info.value)
    assert "0.6 s" in message and "GENZOO_DOWNLOAD_TIMEOUT=" in message
    got = re.search(r"got (\d+) of (\d+) bytes", message)
    assert got is not None, message
    assert 0 < int(got.group(1)) < len(PAYLOAD) and int(got.group(2)) == len(PAYLOAD)
    assert "nothing was saved" in message
    assert_cache_empty(spec)


def test_server_silent_before_answering_hits_the_deadline(server, monkeypatch):
    server.routes["/w.h5"] = serve_stall()
    spec, weights = make_spec(server.url("/w.h5"))
    monkeypatch.setenv("GENZOO_DOWNLOAD_TIMEOUT", "0.5")

    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    assert time.monotonic() - start < 2.0
    message = str(info.value)
    assert "GENZOO_DOWNLOAD_TIMEOUT=" in message
    assert f"got 0 of {len(PAYLOAD)} bytes" in message
    assert_cache_empty(spec)


def test_server_dripping_its_headers_hits_the_deadline(server, monkeypatch):
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        end = time.monotonic() + 5
        with contextlib.suppress(OSError):
            while time.monotonic() < end:  # an endless header line, a byte at a time
                handler.wfile.write(b"X")
                handler.wfile.flush()
                time.sleep(0.05)

    server.routes["/w.h5"] = behaviour
    spec, weights = make_spec(server.url("/w.h5"))
    monkeypatch.setenv("GENZOO_DOWNLOAD_TIMEOUT", "0.5")

    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    assert time.monotonic() - start < 2.0
    assert "did not finish within 0.5 s" in str(info.value)
    assert_cache_empty(spec)


def test_stalled_body_hits_the_read_timeout(server, tmp_path):
    server.routes["/w.h5"] = serve_stall(body_first=PAYLOAD[:1000])
    target = tmp_path / "cache" / "w.h5"

    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        hub.download(server.url("/w.h5"), target, PAYLOAD_SHA, size=2000, progress=False,
                     timeout=0.3)

    assert time.monotonic() - start < 2.0
    message = str(info.value)
    assert "sent nothing for 0.3 s" in message
    assert "1000 of 2000 bytes" in message
    assert files_in(tmp_path / "cache") == []


def test_download_timeout_setting(monkeypatch):
    monkeypatch.delenv("GENZOO_DOWNLOAD_TIMEOUT", raising=False)
    assert hub.download_timeout() == hub.DEFAULT_DOWNLOAD_TIMEOUT
    monkeypatch.setenv("GENZOO_DOWNLOAD_TIMEOUT", "")  # empty means unset
    assert hub.download_timeout() == hub.DEFAULT_DOWNLOAD_TIMEOUT
    monkeypatch.setenv("GENZOO_DOWNLOAD_TIMEOUT", " 2.5 ")
    assert hub.download_timeout() == 2.5


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf", "10s"])
def test_bad_download_timeout_is_one_clear_error(server, monkeypatch, value):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    monkeypatch.setenv("GENZOO_DOWNLOAD_TIMEOUT", value)

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert f"GENZOO_DOWNLOAD_TIMEOUT={value!r}" in message
    assert "positive number of seconds" in message
    assert server.count() == 0
    assert_cache_empty(spec)


# ---------------------------------------------------------------------------
# An unwritable or full GENZOO_HOME.

WRITE_ERRORS = [
    (errno.EROFS, "writable"),
    (errno.EACCES, "writable"),
    (errno.ENOSPC, "free some space"),
]


def _fail_in_home(monkeypatch, where: str, code: int) -> None:
    """Make one file operation inside GENZOO_HOME fail with ``code``."""
    error = OSError(code, os.strerror(code))
    home = str(hub.genzoo_home())
    if where == "mkdir":
        real_mkdir = os.mkdir

        def mkdir(path, *args, **kwargs):
            if str(path).startswith(home):
                raise error
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(hub.os, "mkdir", mkdir)
    elif where == "mkstemp":
        def mkstemp(*args, **kwargs):
            raise error

        monkeypatch.setattr(download_module.tempfile, "mkstemp", mkstemp)
    elif where == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(hub.os, "fdopen", lambda fd, *a, **k: _WriteSpy(
            real_fdopen(fd, *a, **k), error=error))
    elif where == "replace":
        def replace(*args, **kwargs):
            raise error

        monkeypatch.setattr(hub.os, "replace", replace)
    else:  # pragma: no cover
        raise ValueError(where)


@pytest.mark.parametrize("code, advice", WRITE_ERRORS, ids=["EROFS", "EACCES", "ENOSPC"])
@pytest.mark.parametrize("where", ["mkdir", "mkstemp", "write", "replace"])
def test_unwritable_or_full_home(server, monkeypatch, where, code, advice):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    _fail_in_home(monkeypatch, where, code)

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert "\n" not in message and "[Errno" not in message
    assert os.strerror(code) in message
    assert str(model_dir(spec)) in message
    assert advice in message
    assert "GENZOO_HOME=" in message and "GENZOO_OFFLINE=1" in message
    if code == errno.ENOSPC:
        assert f"{len(PAYLOAD)} bytes are needed" in message
    if where in ("mkdir", "mkstemp"):
        assert server.count() == 0  # found out before touching the network
    monkeypatch.undo()  # look at the folder with the real file functions
    assert_cache_empty(spec)


def test_damaged_cache_entry_that_cannot_be_replaced(server, monkeypatch):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    target = hub.cache_path(spec, weights)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x" * len(PAYLOAD))
    real_unlink = Path.unlink

    def unlink(self, *args, **kwargs):
        if self == target:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    message = str(info.value)
    assert str(target) in message and "damaged" in message
    assert os.strerror(errno.EROFS) in message and "GENZOO_HOME=" in message
    assert server.count() == 0


# ---------------------------------------------------------------------------
# Leftovers of a download killed hard.


def test_stale_part_files_of_the_same_target_are_removed(server):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    target = hub.cache_path(spec, weights)
    folder = target.parent
    folder.mkdir(parents=True)
    stale = folder / f".{target.name}.k1ll3d.part"
    live = folder / f".{target.name}.l1v3.part"  # another process downloading right now
    other = folder / ".other-0123456789abcdef.h5.k1ll3d.part"  # another target's
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    old = time.time() - 2 * hub.STALE_PART_AGE
    os.utime(stale, (old, old))
    os.utime(other, (old, old))

    path = hub.resolve(spec, weights, progress=False)

    assert path.read_bytes() == PAYLOAD
    assert files_in(folder) == sorted([target, live, other])


def test_stale_part_files_are_removed_on_a_cache_hit(server):
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    spec, weights = make_spec(server.url("/w.h5"))
    target = hub.resolve(spec, weights, progress=False)
    stale = target.parent / f".{target.name}.k1ll3d.part"
    stale.write_bytes(b"partial")
    old = time.time() - 2 * hub.STALE_PART_AGE
    os.utime(stale, (old, old))

    assert hub.resolve(spec, weights, progress=False) == target

    assert files_in(target.parent) == [target]
    assert server.count() == 1


def test_live_download_keeps_its_part_file_fresh(server, monkeypatch):
    """Each block is written straight to the file, so its mtime follows the download."""
    server.routes["/w.h5"] = serve_drip(PAYLOAD[:40], interval=0.02)
    spec, weights = make_spec(server.url("/w.h5"), sha256=hashlib.sha256(PAYLOAD[:40]).hexdigest(),
                              size=40)
    sizes: list[int] = []
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        file = real_fdopen(fd, *args, **kwargs)
        original = file.write

        class Probe(_WriteSpy):
            def write(self, data):
                count = original(data)
                sizes.append(os.fstat(fd).st_size)  # on disk now, not in a buffer
                return count

        return Probe(file)

    monkeypatch.setattr(hub.os, "fdopen", fdopen)

    path = hub.resolve(spec, weights, progress=False)

    assert path.read_bytes() == PAYLOAD[:40]
    assert sizes == sorted(sizes) and sizes[-1] == 40 and len(sizes) > 1
    assert all(b > a for a, b in zip(sizes, sizes[1:]))


# ---------------------------------------------------------------------------
# Cached real-data statistics ($GENZOO_HOME/stats).


def _real_features(n: int = 50):
    from genzoo_core.evaluation import real_features
    from genzoo_core.features import get_feature_extractor

    return real_features("toy-data", get_feature_extractor("toy-pixels"), n=n, split="test",
                         verbose=0)


def stats_dir() -> Path:
    return hub.genzoo_home() / "stats"


@pytest.mark.parametrize("code, advice", WRITE_ERRORS, ids=["EROFS", "EACCES", "ENOSPC"])
@pytest.mark.parametrize("where", ["mkdir", "mkstemp", "write"])
def test_stats_cache_in_an_unwritable_or_full_home(toy_registry, monkeypatch, where, code,
                                                   advice):
    import numpy as np

    error = OSError(code, os.strerror(code))
    if where == "write":
        def savez(*args, **kwargs):
            raise error

        monkeypatch.setattr(np, "savez", savez)
    else:
        _fail_in_home(monkeypatch, where, code)

    folder = stats_dir()  # in the test's GENZOO_HOME, which undo() below would unset
    with pytest.raises(GenzooError) as info:
        _real_features()

    message = str(info.value)
    assert "\n" not in message and "[Errno" not in message
    assert str(folder) in message and os.strerror(code) in message
    assert advice in message and "GENZOO_HOME=" in message
    monkeypatch.undo()
    assert files_in(folder) == []


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_damaged_stats_entry_is_computed_again(toy_registry, damage):
    from toyzoo.features import PixelFeatures

    first, _ = _real_features()
    (entry,) = files_in(stats_dir())
    good = entry.read_bytes()
    entry.write_bytes({"garbage": b"not an npz" * 10, "truncated": good[: len(good) // 2],
                       "empty": b""}[damage])
    calls = PixelFeatures.calls

    again, described = _real_features()

    assert PixelFeatures.calls == calls + 1  # computed again, not read from the bad entry
    assert (again == first).all()
    assert "cache" not in described
    assert files_in(stats_dir()) == [entry]
    assert entry.read_bytes() == good  # replaced by a whole entry
    _, described = _real_features()
    assert described["cache"] == str(entry)


def test_stale_stats_temp_files_are_removed(toy_registry):
    _real_features()
    (entry,) = files_in(stats_dir())
    entry.unlink()
    stale = stats_dir() / f".{entry.name}.k1ll3d.tmp"
    stale.write_bytes(b"partial")
    old = time.time() - 2 * hub.STALE_PART_AGE
    os.utime(stale, (old, old))

    _real_features()

    assert files_in(stats_dir()) == [entry]


@pytest.mark.parametrize("length", [None, "1000000000000"])
def test_a_download_without_a_recorded_size_is_capped_too(server, monkeypatch, length):
    monkeypatch.setattr(download_module, "UNSIZED_LIMIT", 3 * len(PAYLOAD))
    server.routes["/w.h5"] = serve_endless(length=length)
    spec, weights = make_spec(server.url("/w.h5"), size=None)

    with pytest.raises(DownloadError) as info:
        hub.resolve(spec, weights, progress=False)

    assert f"{3 * len(PAYLOAD)}" in str(info.value) and "record size=" in str(info.value)
    assert "nothing was saved" in str(info.value)
    assert_cache_empty(spec)
