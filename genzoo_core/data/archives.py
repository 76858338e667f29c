"""Datasets that download: a dataset's official archive, fetched, verified, unpacked, cached.

A :class:`~genzoo_core.plugin.DatasetSpec` says where its files are with
``folder`` (a path under ``$GENZOO_DATA``) and, to download them, ``archive_url``,
``archive_sha256``, ``archive_size`` and ``archive_folder`` (the folder inside
the archive that holds the dataset). :func:`dataset_folder` turns that into a
local folder:

1. ``$GENZOO_DATA/<folder>`` when it exists: a copy you keep yourself always wins;
2. else the folder unpacked from the archive in ``$GENZOO_HOME/datasets/``, when
   an earlier call put it there;
3. else the archive is downloaded (bounded and verified like weights, by
   :func:`genzoo_core.download.download`), unpacked, and cached.

The archive is unpacked into a hidden temporary folder beside the cache entry
and renamed into place only when all of it is there, so a download or an unpack
that fails or is killed never leaves a half dataset under the entry's name; the
temporary folder of a killed unpack is removed by a later call once it is
:data:`~genzoo_core.download.STALE_PART_AGE` seconds old. A member whose name is
absolute or climbs out with ``..``, a link, a device or anything but a plain file
or folder makes the whole archive refused, as does one that would unpack to more
than :data:`UNPACKED_LIMIT` bytes. The downloaded archive is deleted once it is
unpacked.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import lzma
import os
import shutil
import stat
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

from genzoo_core._files import sha256_file
from genzoo_core.data.named import DATA_ENV, data_dir
from genzoo_core.download import CHUNK, STALE_PART_AGE, download
from genzoo_core.errors import DataError, DownloadError
from genzoo_core.hub import (
    EXAMPLE_HOME,
    HOME_ENV,
    OFFLINE_ENV,
    cache_write_error,
    genzoo_home,
    offline,
    remove_stale,
)

DATASETS_DIR = "datasets"
"""The folder of ``$GENZOO_HOME`` that holds downloaded datasets."""
MARKER = ".genzoo-archive"
"""The file a complete cache entry holds: the archive's URL and sha256, as JSON."""
UNPACKED_LIMIT = 64 << 30
"""Bytes an archive may unpack to (64 GiB): more is refused before anything is written."""
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")
"""The archive formats a dataset may be published in (read by their content, not name)."""

_SKIPPED = ("__MACOSX",)  # the resource forks macOS writes into zip files: never data


def cache_entry(spec: Any) -> Path:
    """Where the archive of ``spec`` is unpacked: ``$GENZOO_HOME/datasets/<name>-<sha256[:16]>``."""
    return genzoo_home() / DATASETS_DIR / f"{spec.name}-{spec.archive_sha256[:16]}"


def dataset_folder(spec: Any, *, progress: bool = True) -> Path:
    """The local folder holding the files of ``spec``, downloading them the first time.

    Args:
        spec: a :class:`~genzoo_core.plugin.DatasetSpec` with ``folder`` or ``archive_url``.
        progress: show the download's progress on a terminal.

    Raises:
        DataError: the dataset is not under ``$GENZOO_DATA`` and cannot be downloaded
            (no archive, or no sha256 to verify it), or its archive cannot be unpacked.
        DownloadError: the download failed or ``GENZOO_OFFLINE`` forbids it; nothing
            was left in the cache.
    """
    label = _label(spec)
    root = data_dir()
    if spec.folder and root is not None and (root / spec.folder).is_dir():
        return root / spec.folder
    if not spec.archive_url or not spec.archive_sha256:
        raise DataError(_unavailable(spec, label, root))
    entry = cache_entry(spec)
    folder = entry / spec.archive_folder if spec.archive_folder else entry
    archive = entry.with_name(entry.name + _suffix(spec.archive_url))
    _remove_stale_folders(entry)
    remove_stale(entry.parent, archive.name, ".part")
    if (entry / MARKER).is_file() and folder.is_dir():
        return folder
    if entry.exists() or entry.is_symlink():  # an entry without its marker or its folder
        _discard(entry, label)
    if offline():
        raise DownloadError(
            f"{label} is not in the cache and {OFFLINE_ENV} is set, so it will not be "
            f"downloaded: unset {OFFLINE_ENV}, {_by_hand(spec)}"
        )
    if not (archive.is_file() and _intact(archive, spec)):
        from genzoo_core.progress import shown

        progress = progress and shown()  # -q: no download line, no percentages
        if progress and sys.stderr.isatty():
            size = f" ({spec.archive_size:,} bytes)" if spec.archive_size else ""
            print(f"downloading {label}{size} from {spec.archive_url}", file=sys.stderr)
        download(spec.archive_url, archive, spec.archive_sha256, size=spec.archive_size,
                 progress=progress, alternative=_by_hand(spec))
    try:
        _unpack_into(entry, archive, spec, label)
    finally:
        with contextlib.suppress(OSError):  # unpacked or refused: no longer needed
            archive.unlink()
    return folder


def unpack_archive(archive: Path, dest: Path, *, what: str = "") -> list[str]:
    """Unpack the zip or tar ``archive`` (any compression) into the existing folder ``dest``.

    Only plain files and folders are unpacked, each strictly inside ``dest``; the
    archive is refused as a whole, before anything is written, if a member's name is
    absolute or holds ``..``, if a member is a link, a device or a pipe, or if the
    members add up to more than :data:`UNPACKED_LIMIT` bytes. ``__MACOSX/`` members
    are skipped. Returns the names of the top-level entries written.

    Raises:
        DataError: the archive is not a zip or tar file, is damaged, or is refused.
        OSError: writing to ``dest`` failed.
    """
    what = what or str(archive)
    try:
        if zipfile.is_zipfile(archive):
            return _unpack_zip(archive, dest, what)
        if tarfile.is_tarfile(archive):
            return _unpack_tar(archive, dest, what)
    except _READ_ERRORS as exc:
        raise DataError(f"cannot unpack {what}: {exc}; the archive is damaged") from exc
    raise DataError(f"{what} is neither a zip nor a tar archive, so it cannot be unpacked")


# -- helpers ---------------------------------------------------------------------------

_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile,
                lzma.LZMAError)


def _label(spec: Any) -> str:
    owner = f" from {spec.distribution}" if spec.distribution else ""
    return f"dataset '{spec.name}'{owner}"


def _inner(spec: Any) -> str:
    return f"its {spec.archive_folder}/ folder" if spec.archive_folder else "it"


def _by_hand(spec: Any) -> str:
    """The way round a download: fetch and unpack it yourself, into GENZOO_DATA."""
    if spec.folder:
        return (f"or download {spec.archive_url} yourself, unpack it and set {DATA_ENV} to a "
                f"folder whose {spec.folder}/ is {_inner(spec)}")
    return (f"or download {spec.archive_url} yourself, unpack it and pass the path of "
            f"{_inner(spec)} instead of the name")


def _unavailable(spec: Any, label: str, root: Path | None) -> str:
    """Why a dataset that cannot be downloaded is not there, and what to do."""
    unverified = "it is not downloaded automatically because its sha256 is not recorded"
    if spec.folder:
        where = f"{root / spec.folder} does not exist" if root is not None else (
            f"{DATA_ENV} is unset")
        start = (f"{label} is not available: {where}. Set {DATA_ENV} to a folder holding "
                 f"{spec.folder}/")
        if not spec.archive_url:
            return f"{start}, or pass the dataset's path"
        inner = f" is its {spec.archive_folder}/ folder" if spec.archive_folder else (
            " holds what it holds")
        return (f"{start} (download {spec.archive_url} and unpack it so that {spec.folder}/"
                f"{inner}; {unverified}), or pass the dataset's path")
    if spec.archive_url:
        return (f"{label} is not available: {unverified}. Download {spec.archive_url} "
                f"yourself, unpack it and pass the path of {_inner(spec)}")
    return (f"{label} declares neither folder= nor archive_url=, so there is nowhere to find "
            f"its files: pass the dataset's path")


def _suffix(url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    return next((s for s in ARCHIVE_SUFFIXES if path.endswith(s)), ".archive")


def _intact(path: Path, spec: Any) -> bool:
    """A downloaded archive a killed process left behind, still whole: reuse it."""
    try:
        if spec.archive_size is not None and path.stat().st_size != spec.archive_size:
            return False
        return sha256_file(path) == spec.archive_sha256
    except OSError:
        return False


def _remove_stale_folders(entry: Path, *, age: float = STALE_PART_AGE) -> None:
    """Remove the temporary folders of unpacks (and discards) killed ``age`` seconds ago."""
    now = time.time()
    with contextlib.suppress(OSError):
        for path in entry.parent.glob(f".{entry.name}.*"):
            if path.suffix in (".unpack", ".discard") and path.is_dir():
                with contextlib.suppress(OSError):
                    if now - path.stat().st_mtime > age:
                        shutil.rmtree(path)


def _discard(entry: Path, label: str) -> None:
    """Take a damaged cache entry out of the way at once (a rename), then delete it."""
    try:
        doomed = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".discard",
                                       dir=entry.parent))
        os.replace(entry, doomed / "entry")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise DownloadError(
            f"the cached {label} at {entry} is incomplete and cannot be replaced "
            f"({exc.strerror or exc}): delete that folder, or set {HOME_ENV} to a writable "
            f"folder, e.g. {HOME_ENV}={EXAMPLE_HOME}"
        ) from exc
    shutil.rmtree(doomed, ignore_errors=True)


def _unpack_into(entry: Path, archive: Path, spec: Any, label: str) -> None:
    """Unpack ``archive`` into a temporary folder, check it, and rename it to ``entry``."""
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".unpack",
                                    dir=entry.parent))
    except OSError as exc:
        raise cache_write_error(exc, entry, label) from exc
    try:
        top = unpack_archive(archive, tmp, what=f"the archive of {label} ({spec.archive_url})")
        if spec.archive_folder and not (tmp / spec.archive_folder).is_dir():
            holds = ", ".join(sorted(top)[:8]) or "nothing"
            raise DataError(
                f"the archive of {label} ({spec.archive_url}) holds no {spec.archive_folder}/ "
                f"folder (its top level: {holds}); nothing was saved. The published archive "
                f"may have changed: report it to the plugin's authors."
            )
        (tmp / MARKER).write_text(json.dumps({"url": spec.archive_url,
                                              "sha256": spec.archive_sha256}) + "\n")
        try:
            os.rename(tmp, entry)
        except OSError:
            if not (entry / MARKER).is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished it first
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise cache_write_error(exc, entry, label, need=spec.archive_size) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _member_path(name: str, what: str) -> PurePosixPath | None:
    """The relative path of an archive member, ``None`` to skip it; unsafe names refuse all."""
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or "\\" in name:
        raise DataError(f"{what} holds a member with an absolute path ({name!r}); it was "
                        f"refused and nothing was unpacked")
    if ".." in posix.parts:
        raise DataError(f"{what} holds a member that leaves its folder ({name!r}); it was "
                        f"refused and nothing was unpacked")
    parts = [p for p in posix.parts if p not in ("", ".")]
    if not parts or parts[0] in _SKIPPED:
        return None
    return PurePosixPath(*parts)


def _check_total(total: int, what: str) -> None:
    if total > UNPACKED_LIMIT:
        raise DataError(f"{what} would unpack to {total} bytes, more than the "
                        f"{UNPACKED_LIMIT} allowed; it was refused and nothing was unpacked")


def _write(source: IO[bytes], target: Path, root: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        shutil.copyfileobj(source, out, CHUNK)
    os.utime(root)  # a live unpack keeps its temporary folder fresh (see STALE_PART_AGE)


def _unpack_zip(archive: Path, dest: Path, what: str) -> list[str]:
    with zipfile.ZipFile(archive) as zf:
        plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        for info in zf.infolist():
            relative = _member_path(info.filename, what)
            if relative is None:
                continue
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix file type recorded
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise DataError(f"{what} holds {info.filename!r}, which is not a plain file or "
                                f"folder (a link?); it was refused and nothing was unpacked")
            plan.append((info, relative))
        _check_total(sum(info.file_size for info, _ in plan), what)
        for info, relative in plan:
            target = dest.joinpath(*relative.parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            with zf.open(info) as source:
                _write(source, target, dest)
    return _top(plan)


def _unpack_tar(archive: Path, dest: Path, what: str) -> list[str]:
    with tarfile.open(archive) as tar:
        plan: list[tuple[tarfile.TarInfo, PurePosixPath]] = []
        for member in tar.getmembers():
            relative = _member_path(member.name, what)
            if relative is None:
                continue
            if not (member.isreg() or member.isdir()):
                raise DataError(f"{what} holds {member.name!r}, which is not a plain file or "
                                f"folder (a link or a device); it was refused and nothing was "
                                f"unpacked")
            plan.append((member, relative))
        _check_total(sum(member.size for member, _ in plan if member.isreg()), what)
        for member, relative in plan:
            target = dest.joinpath(*relative.parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            source = tar.extractfile(member)
            if source is None:  # not reachable for a regular file
                raise DataError(f"cannot read {member.name!r} from {what}")
            with source:
                _write(source, target, dest)
    return _top(plan)


def _top(plan: list[tuple[Any, PurePosixPath]]) -> list[str]:
    return sorted({relative.parts[0] for _, relative in plan})
