"""Pretrained weights by name: ``"model/weights"`` -> a verified local file.

A :class:`~genzoo_core.WeightsSpec` either names a file packaged inside the
plugin (resolved with :mod:`importlib.resources`) or a URL. Downloads go to
``$GENZOO_HOME/weights/<model>/`` (default ``~/.cache/genzoo``): the bytes are
written to a temporary ``.part`` file, their sha256 checked, and only then
renamed into place, so a wrong hash or a dropped connection leaves nothing in
the cache. A file's size is checked (cheaply, before its hash) wherever the
spec gives ``size``.

A download is bounded three ways, and any breach stops it and removes the
``.part`` file:

- size: a ``Content-Length`` that disagrees with ``WeightsSpec.size`` is refused
  before anything is written, and a body that runs past ``size`` is cut off;
- per read: the server must send something at least every :data:`READ_TIMEOUT`
  seconds;
- overall: the whole download must finish within ``GENZOO_DOWNLOAD_TIMEOUT``
  seconds (default :data:`DEFAULT_DOWNLOAD_TIMEOUT`), even against a server
  that drips a byte at a time.

``.part`` files that a killed process left behind (untouched for
:data:`STALE_PART_AGE` seconds) are removed on the next resolve of the same
weights. A ``GENZOO_HOME`` that is read-only or full gives one error naming the
path and what to do. ``GENZOO_OFFLINE=1`` never touches the network.

``keras.utils.get_file`` is not used: it writes straight to the final name and
leaves a file whose hash failed in the cache, which this module must never do.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import importlib.resources
import os
import time
from pathlib import Path

from genzoo_core._files import sha256_file
from genzoo_core.download import (  # noqa: F401 - the download's settings, as always here
    CHUNK,
    DEFAULT_DOWNLOAD_TIMEOUT,
    READ_TIMEOUT,
    STALE_PART_AGE,
    TIMEOUT_ENV,
    UNSIZED_LIMIT,
    download,
    download_timeout,
)
from genzoo_core.errors import DownloadError, GenzooError, WeightsError
from genzoo_core.spec import ModelSpec, WeightsSpec

HOME_ENV = "GENZOO_HOME"
OFFLINE_ENV = "GENZOO_OFFLINE"
EXAMPLE_HOME = "/tmp/genzoo"  # only shown in advice

_UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL = {errno.ENOSPC, errno.EDQUOT}


def genzoo_home() -> Path:
    """The cache folder: ``$GENZOO_HOME`` or ``~/.cache/genzoo``."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".cache" / "genzoo").expanduser()


def offline() -> bool:
    """Whether ``GENZOO_OFFLINE`` forbids network access."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def cache_path(spec: ModelSpec, weights: WeightsSpec) -> Path:
    """Where downloaded weights ``spec.name/weights.name`` live in the cache."""
    return genzoo_home() / "weights" / spec.name / f"{weights.name}-{weights.sha256[:16]}.h5"


def cache_write_error(
    exc: OSError,
    path: Path,
    what: str,
    *,
    alternative: str = "",
    need: int | None = None,
    error: type[GenzooError] = DownloadError,
) -> GenzooError:
    """A one-line error for writing ``what`` to ``path`` in ``GENZOO_HOME`` failing with ``exc``.

    It names the path and the reason, and says what to do: point ``GENZOO_HOME``
    at a writable folder, free space on a full disk (``need`` bytes, when known),
    or ``alternative`` (a clause starting with "or") when there is another way round.
    """
    reason = exc.strerror or str(exc)
    start = f"cannot write {what} to {path} ({reason})"
    elsewhere = f"{HOME_ENV}={EXAMPLE_HOME}"
    tail = f", {alternative}" if alternative else ""
    if exc.errno in _UNWRITABLE:
        return error(f"{start}: set {HOME_ENV} to a writable folder, e.g. {elsewhere}{tail}")
    if exc.errno in _FULL:
        needed = f" ({need} bytes are needed)" if need else ""
        return error(f"{start}: free some space on that disk{needed}, or set {HOME_ENV} to a "
                     f"folder on a disk with room, e.g. {elsewhere}{tail}")
    return error(f"{start}: check that folder, or set {HOME_ENV} to another one, e.g. "
                 f"{elsewhere}{tail}")


def remove_stale(folder: Path, name: str, suffix: str, *, age: float = STALE_PART_AGE) -> None:
    """Delete ``.<name>.*<suffix>`` temporary files in ``folder`` untouched for ``age`` seconds.

    They are what a process killed while writing ``name`` left behind. Best effort:
    a file that cannot be removed is left for a later attempt.
    """
    now = time.time()
    with contextlib.suppress(OSError):
        for path in folder.glob(f".{glob.escape(name)}.*{glob.escape(suffix)}"):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > age:
                    path.unlink()


def resolve(spec: ModelSpec, weights: WeightsSpec, *, progress: bool = True) -> Path:
    """Return a local, verified path for ``weights``, downloading if needed."""
    label = f"{spec.name}/{weights.name}"
    if weights.file is not None:
        resource = importlib.resources.files(spec.package).joinpath(weights.file)
        with importlib.resources.as_file(resource) as local:
            path = Path(local)
            reinstall = spec.distribution or spec.package
            if not path.is_file():
                raise WeightsError(
                    f"weights {label} should be packaged in {reinstall} "
                    f"at {weights.file}, but the file is missing: reinstall the plugin "
                    f"(pip install --force-reinstall {reinstall})"
                )
            _verify(path, weights, label, reinstall)
            return path
    assert weights.url is not None
    target = cache_path(spec, weights)
    remove_stale(target.parent, target.name, ".part")
    if target.is_file():
        if _intact(target, weights):
            return target
        try:  # a stale or damaged entry: fetch it again
            target.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise DownloadError(
                f"the cached weights {label} at {target} are damaged and cannot be replaced "
                f"({exc.strerror or exc}): delete that file, or set {HOME_ENV} to a writable "
                f"folder, e.g. {HOME_ENV}={EXAMPLE_HOME}"
            ) from exc
    if offline():
        raise DownloadError(
            f"weights {label} are not in the cache and {OFFLINE_ENV} is set, so they will not "
            f"be downloaded. Unset {OFFLINE_ENV}, or fetch {weights.url} yourself and save it "
            f"as {target} (sha256 {weights.sha256}), or pass the path of a local .h5 file."
        )
    download(weights.url, target, weights.sha256, size=weights.size, progress=progress)
    return target


def _intact(path: Path, weights: WeightsSpec) -> bool:
    # The size is one stat; only a file of the right size is worth hashing.
    if weights.size is not None and path.stat().st_size != weights.size:
        return False
    return sha256_file(path) == weights.sha256


def _verify(path: Path, weights: WeightsSpec, label: str, reinstall: str) -> None:
    actual_size = path.stat().st_size
    if weights.size is not None and actual_size != weights.size:
        raise WeightsError(
            f"weights {label} at {path} are {actual_size} bytes, expected {weights.size}: the "
            f"file is damaged or not the published one. Reinstall the plugin "
            f"(pip install --force-reinstall {reinstall})"
        )
    actual = sha256_file(path)
    if actual != weights.sha256:
        raise WeightsError(
            f"weights {label} at {path} have sha256 {actual}, expected {weights.sha256}: the "
            f"file is damaged or not the published one. Reinstall the plugin or delete the file."
        )
