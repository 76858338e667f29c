"""Pretrained weights by name: ``"model/weights"`` -> a verified local file.

A :class:`~genzoo_core.WeightsSpec` either names a file packaged inside the
plugin (resolved with :mod:`importlib.resources`) or a URL. Downloads go to
``$GENZOO_HOME/weights/<model>/`` (default ``~/.cache/genzoo``): the bytes are
written to a temporary file, their sha256 checked, and only then renamed into
place, so a wrong hash or a dropped connection leaves nothing in the cache.
``GENZOO_OFFLINE=1`` never touches the network.

``keras.utils.get_file`` is not used: it writes straight to the final name and
leaves a file whose hash failed in the cache, which this module must never do.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import os
import sys
import tempfile
from pathlib import Path

from genzoo_core._files import sha256_file
from genzoo_core.errors import DownloadError, WeightsError
from genzoo_core.spec import ModelSpec, WeightsSpec

HOME_ENV = "GENZOO_HOME"
OFFLINE_ENV = "GENZOO_OFFLINE"
CHUNK = 1 << 16


def genzoo_home() -> Path:
    """The cache folder: ``$GENZOO_HOME`` or ``~/.cache/genzoo``."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".cache" / "genzoo").expanduser()


def offline() -> bool:
    """Whether ``GENZOO_OFFLINE`` forbids network access."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def cache_path(spec: ModelSpec, weights: WeightsSpec) -> Path:
    """Where downloaded weights ``spec.name/weights.name`` live in the cache."""
    return genzoo_home() / "weights" / spec.name / f"{weights.name}-{weights.sha256[:16]}.h5"


def resolve(spec: ModelSpec, weights: WeightsSpec, *, progress: bool = True) -> Path:
    """Return a local, sha256-verified path for ``weights``, downloading if needed."""
    label = f"{spec.name}/{weights.name}"
    if weights.file is not None:
        resource = importlib.resources.files(spec.package).joinpath(weights.file)
        with importlib.resources.as_file(resource) as local:
            path = Path(local)
            if not path.is_file():
                raise WeightsError(
                    f"weights {label} should be packaged in {spec.distribution or spec.package} "
                    f"at {weights.file}, but the file is missing: reinstall the plugin "
                    f"(pip install --force-reinstall {spec.distribution or spec.package})"
                )
            _verify(path, weights.sha256, label, remove=False)
            return path
    assert weights.url is not None
    target = cache_path(spec, weights)
    if target.is_file():
        if sha256_file(target) == weights.sha256:
            return target
        target.unlink()  # a stale or damaged entry: fetch it again
    if offline():
        raise DownloadError(
            f"weights {label} are not in the cache and {OFFLINE_ENV} is set, so they will not "
            f"be downloaded. Unset {OFFLINE_ENV}, or fetch {weights.url} yourself and save it "
            f"as {target} (sha256 {weights.sha256}), or pass the path of a local .h5 file."
        )
    download(weights.url, target, weights.sha256, progress=progress)
    return target


def _verify(path: Path, expected: str, label: str, *, remove: bool) -> None:
    actual = sha256_file(path)
    if actual != expected:
        if remove:
            path.unlink()
        raise WeightsError(
            f"weights {label} at {path} have sha256 {actual}, expected {expected}: the file is "
            f"damaged or not the published one. Reinstall the plugin or delete the file."
        )


def download(url: str, target: Path, sha256: str, *, progress: bool = True) -> None:
    """Fetch ``url`` to ``target``, verifying ``sha256``; leave nothing behind on failure."""
    # Imported here: urllib.request loads ssl, which would slow down `genzoo list`.
    import http.client
    import urllib.error
    import urllib.request

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=60)
            except urllib.error.HTTPError as exc:
                raise DownloadError(
                    f"downloading {url} failed: HTTP {exc.code} {exc.reason}"
                ) from exc
            except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
                reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
                raise DownloadError(
                    f"cannot reach {url} ({reason}). Check the network, or set "
                    f"{OFFLINE_ENV}=1 and pass a local weights file."
                ) from exc
            with response:
                total = int(response.headers.get("Content-Length") or 0)
                while True:
                    try:
                        block = response.read(CHUNK)
                    except (OSError, ValueError, http.client.HTTPException) as exc:
                        # IncompleteRead (an HTTPException), connection reset, timeout
                        raise DownloadError(
                            f"the connection to {url} broke after {received} bytes ({exc}); "
                            f"nothing was saved, try again"
                        ) from exc
                    if not block:
                        break
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    if progress and total and sys.stderr.isatty():
                        print(f"\r{target.name}: {received * 100 // total}%", end="",
                              file=sys.stderr)
            out.flush()
            os.fsync(out.fileno())
        if progress and total and sys.stderr.isatty():
            print(file=sys.stderr)
        if total and received != total:
            raise DownloadError(
                f"the download of {url} stopped at {received} of {total} bytes; nothing was "
                f"saved, try again"
            )
        if digest.hexdigest() != sha256:
            raise DownloadError(
                f"{url} gave a file with sha256 {digest.hexdigest()}, expected {sha256}; "
                f"it was discarded. The published file may have changed: report it to the "
                f"plugin's authors."
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
