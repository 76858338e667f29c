"""One bounded download: fetch a URL to a file, verified, leaving nothing behind on failure.

:func:`download` writes to a temporary ``.part`` file beside the target, checks
the size and the sha256, and only then renames it into place. It is bounded
three ways, and any breach stops it and removes the ``.part`` file: a
``Content-Length`` or body that disagrees with the expected size (or, without
one, passes :data:`UNSIZED_LIMIT`), a server silent for :data:`READ_TIMEOUT`
seconds, and the whole download taking longer than ``GENZOO_DOWNLOAD_TIMEOUT``
seconds (:data:`DEFAULT_DOWNLOAD_TIMEOUT` unless set). :mod:`genzoo_core.hub`
decides what to download and where.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from genzoo_core.errors import DownloadError, GenzooError

TIMEOUT_ENV = "GENZOO_DOWNLOAD_TIMEOUT"
DEFAULT_DOWNLOAD_TIMEOUT = 1800.0
"""Seconds a whole download may take unless ``GENZOO_DOWNLOAD_TIMEOUT`` says otherwise."""
READ_TIMEOUT = 60.0
"""Seconds the server may stay silent, while connecting or sending, before a download fails."""
STALE_PART_AGE = 900.0
"""Seconds after which an untouched ``.part`` file belongs to a killed download.

A live download writes to its ``.part`` file at least once per read timeout, which
:func:`download` caps at a third of this.
"""
UNSIZED_LIMIT = 4 << 30
"""Bytes a download may write when its WeightsSpec records no ``size`` (4 GiB)."""
CHUNK = 1 << 16


def download_timeout() -> float:
    """Seconds a whole download may take: ``$GENZOO_DOWNLOAD_TIMEOUT`` or the default.

    Raises :class:`DownloadError` when the variable is set to anything but a
    positive, finite number of seconds.
    """
    raw = os.environ.get(TIMEOUT_ENV, "")
    if not raw.strip():
        return DEFAULT_DOWNLOAD_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise DownloadError(
            f"{TIMEOUT_ENV}={raw!r} is not a positive number of seconds: set it to the time "
            f"one download may take, e.g. {TIMEOUT_ENV}=3600, or unset it for the default "
            f"({DEFAULT_DOWNLOAD_TIMEOUT:g} s)"
        )
    return value


class _Deadline:
    """Shut down a download's sockets when its time is up, so that no read outlasts it.

    A per-read timeout alone never fires against a server that sends a byte every
    few seconds; shutting the socket down wakes whatever read is waiting.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._fired = False
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self._fired or self.left() <= 0

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            late = self._fired
        if late:
            self._shutdown(sock)

    def stop(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self._fired = True
            for sock in self._sockets:
                self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        # The plain socket's shutdown, also for TLS sockets: it only wakes the reader.
        # A socket closed meanwhile has no descriptor any more and raises, harmlessly.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _opener(deadline: _Deadline) -> Any:
    """A urllib opener whose HTTP(S) connections register their sockets with ``deadline``."""
    import urllib.request

    class Watched:
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            class Connection(http_class):  # type: ignore[misc, valid-type]
                def connect(self) -> None:
                    super().connect()
                    deadline.watch(self.sock)

            return super().do_open(Connection, req, **kwargs)  # type: ignore[misc]

    class HTTP(Watched, urllib.request.HTTPHandler):
        pass

    handlers: list[Any] = [HTTP()]
    if hasattr(urllib.request, "HTTPSHandler"):  # absent when Python has no ssl

        class HTTPS(Watched, urllib.request.HTTPSHandler):
            pass

        handlers.append(HTTPS())
    return urllib.request.build_opener(*handlers)


def download(
    url: str,
    target: Path,
    sha256: str,
    *,
    size: int | None,
    progress: bool = True,
    timeout: float = READ_TIMEOUT,
    deadline: float | None = None,
    alternative: str | None = None,
) -> None:
    """Fetch ``url`` to ``target``, verifying ``size`` and ``sha256``; leave nothing behind.

    ``size`` (bytes, ``None`` when unknown) caps what is written: a Content-Length
    that disagrees is refused before anything is written, and a longer body is cut
    off. ``timeout`` bounds each wait for the server (at most a third of
    :data:`STALE_PART_AGE`); ``deadline`` bounds the whole download (default
    :func:`download_timeout`). ``alternative`` is the way round a failed download
    that the errors suggest, a clause starting with "or" (default: for weights, a
    local ``.h5`` file). Raises :class:`DownloadError` on any failure.
    """
    # Imported here: urllib.request loads ssl, which would slow down `genzoo list`.
    import http.client
    import urllib.error

    from genzoo_core.hub import OFFLINE_ENV, cache_write_error  # hub imports this module
    from genzoo_core.progress import shown

    progress = progress and shown()  # -q: no percentages
    limit = download_timeout() if deadline is None else deadline
    timeout = min(timeout, STALE_PART_AGE / 3)
    offline_way = alternative or f"or set {OFFLINE_ENV}=1 and pass the path of a local .h5 file"

    def write_error(exc: OSError, path: Path) -> GenzooError:
        return cache_write_error(exc, path, f"the download of {url}", need=size,
                                 alternative=f"{offline_way}; nothing was saved")

    try:  # the folder and the .part file first: an unwritable cache fails before the network
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                        dir=target.parent)
    except OSError as exc:
        raise write_error(exc, target) from exc
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    received = 0
    expected = size
    watch = _Deadline(limit)

    def out_of_time() -> DownloadError:
        got = f"{received} of {expected}" if expected is not None else f"{received}"
        return DownloadError(
            f"the download of {url} did not finish within {limit:g} s: it got {got} bytes; "
            f"nothing was saved. On a slow connection allow more time, e.g. "
            f"{TIMEOUT_ENV}={max(4 * limit, 3600):g}"
        )

    try:
        # Unbuffered: every block reaches the file at once, so its mtime shows the
        # download is alive (see STALE_PART_AGE).
        with os.fdopen(fd, "wb", buffering=0) as out:
            try:
                response = _opener(watch).open(url, timeout=max(min(timeout, watch.left()), 0.001))
            except urllib.error.HTTPError as exc:
                exc.close()
                raise DownloadError(
                    f"downloading {url} failed: HTTP {exc.code} {exc.reason}"
                ) from exc
            except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
                if watch.expired():
                    raise out_of_time() from exc
                reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
                raise DownloadError(
                    f"cannot reach {url} ({reason}). Check the network, "
                    f"{offline_way}."
                ) from exc
            with response:
                # http.client's own reading: None when chunked or unreadable.
                announced = getattr(response, "length", None)
                if size is not None and announced is not None and announced != size:
                    raise DownloadError(
                        f"{url} announces {announced} bytes, expected {size}: nothing was "
                        f"saved. The published file may have changed: report it to the "
                        f"plugin's authors."
                    )
                if size is None and announced is not None and announced > UNSIZED_LIMIT:
                    raise DownloadError(
                        f"{url} announces {announced} bytes, more than the "
                        f"{UNSIZED_LIMIT} a download without a recorded size may write; "
                        f"nothing was saved. The plugin should record size= in its WeightsSpec."
                    )
                expected = size if size is not None else announced
                # read1 returns what one receive gives; read(n) would wait for all n bytes.
                read = getattr(response, "read1", response.read)
                while True:
                    if watch.expired():
                        raise out_of_time()
                    try:
                        block = read(CHUNK)
                    except (OSError, ValueError, http.client.HTTPException) as exc:
                        if watch.expired():
                            raise out_of_time() from exc
                        if isinstance(exc, TimeoutError):
                            raise DownloadError(
                                f"the server at {url} sent nothing for {timeout:g} s after "
                                f"{received} of {expected} bytes; nothing was saved, try again "
                                f"later"
                            ) from exc
                        # IncompleteRead (an HTTPException), connection reset
                        raise DownloadError(
                            f"the connection to {url} broke after {received} bytes ({exc}); "
                            f"nothing was saved, try again"
                        ) from exc
                    if watch.expired():  # the deadline shut the socket: not the real end
                        raise out_of_time()
                    if not block:
                        break
                    if size is None and received + len(block) > UNSIZED_LIMIT:
                        raise DownloadError(
                            f"{url} sent more than the {UNSIZED_LIMIT} bytes a download "
                            f"without a recorded size may write; it was cut off and nothing "
                            f"was saved. The plugin should record size= in its WeightsSpec."
                        )
                    if size is not None and received + len(block) > size:
                        raise DownloadError(
                            f"{url} sent more than the expected {size} bytes; the download was "
                            f"cut off and nothing was saved. The published file may have "
                            f"changed: report it to the plugin's authors."
                        )
                    try:
                        view = memoryview(block)
                        while view:
                            view = view[out.write(view):]
                    except OSError as exc:
                        raise write_error(exc, target) from exc
                    digest.update(block)
                    received += len(block)
                    if progress and expected and sys.stderr.isatty():
                        print(f"\r{target.name}: {received * 100 // expected}%", end="",
                              file=sys.stderr)
            try:
                os.fsync(out.fileno())
            except OSError as exc:
                raise write_error(exc, target) from exc
        if progress and expected and sys.stderr.isatty():
            print(file=sys.stderr)
        if expected is not None and received != expected:
            raise DownloadError(
                f"the download of {url} stopped at {received} of {expected} bytes; nothing was "
                f"saved, try again"
            )
        if digest.hexdigest() != sha256:
            raise DownloadError(
                f"{url} gave a file with sha256 {digest.hexdigest()}, expected {sha256}; "
                f"it was discarded. The published file may have changed: report it to the "
                f"plugin's authors."
            )
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise write_error(exc, target) from exc
    except OSError as exc:  # closing the file can report a full disk too
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise write_error(exc, target) from exc
    except BaseException:
        with contextlib.suppress(OSError):  # a leftover would be removed as stale later
            tmp.unlink()
        raise
    finally:
        watch.stop()
