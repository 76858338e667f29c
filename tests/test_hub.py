"""Tests for genzoo_core.hub: cache locations, verified downloads, packaged weights.

Nothing here touches the internet: downloads go to an HTTP server each test
starts on 127.0.0.1 (port 0) and shuts down when it ends.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import genzoo_core
from genzoo_core import hub
from genzoo_core.errors import DownloadError, GenzooError, PluginError, WeightsError
from genzoo_core.spec import ModelSpec, WeightsSpec

PAYLOAD = os.urandom(200_000)
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
              distribution: str = "") -> tuple[ModelSpec, WeightsSpec]:
    weights = WeightsSpec(name="w", url=url, file=file, sha256=sha256)
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
        weights=(WeightsSpec(name="good", url=server.url("/good.h5"), sha256=PAYLOAD_SHA),
                 WeightsSpec(name="bad", url=server.url("/bad.h5"), sha256=PAYLOAD_SHA)),
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

    hub.download(server.url("/w.h5"), target, PAYLOAD_SHA, progress=False)

    assert target.read_bytes() == PAYLOAD
    assert files_in(tmp_path / "deep") == [target]


def test_download_failure_keeps_existing_target(server, tmp_path):
    """A failed download replaces nothing: the old file is only swapped on success."""
    server.routes["/w.h5"] = serve_bytes(PAYLOAD)
    target = tmp_path / "out.h5"
    target.write_bytes(b"previous")

    with pytest.raises(DownloadError):
        hub.download(server.url("/w.h5"), target, WRONG_SHA, progress=False)

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


def packaged_spec(sha256: str = PAYLOAD_SHA, file: str = "weights/w.h5", distribution: str = ""):
    return make_spec(file=file, sha256=sha256, builder="zoo_test_pkg.model:M",
                     distribution=distribution)


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
    WeightsSpec(name="w", url="https://example.invalid/w.h5", sha256=PAYLOAD_SHA).validate("m")


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
