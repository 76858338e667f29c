"""The entry point, :func:`main`: one error line and an exit status for every outcome."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from genzoo_core.cli.parser import build_parser
from genzoo_core.cli.quiet import quiet_tensorflow
from genzoo_core.errors import GenzooError
from genzoo_core.registry import Registry, default_registry

SIGPIPE_STATUS = 141
"""Exit status when the reader of the output went away (``genzoo list | head -1``):
128 + SIGPIPE, what a shell reports for ``cat`` or ``yes`` in the same place."""


def main(argv: Sequence[str] | None = None, *, registry: Registry | None = None) -> int:
    """Run the CLI; return the exit status.

    0 on success; 1 with one line ``genzoo: error: ...`` on any error (an
    unexpected exception included; ``GENZOO_DEBUG=1`` re-raises it instead);
    2 for a usage error (argparse); 130 on Ctrl-C; :data:`SIGPIPE_STATUS`,
    silently, when the output's reader closed the pipe.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    args.argv = argv
    registry = registry or default_registry()
    try:
        from genzoo_core.progress import quiet

        with quiet(getattr(args, "quiet", False)):  # -q: downloads show no progress either
            status = int(args.func(args, registry) or 0)
        sys.stdout.flush()  # a reader that went away shows up here, not at exit
        return status
    except BrokenPipeError:
        return _reader_went_away()
    except KeyboardInterrupt:
        print("genzoo: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("GENZOO_DEBUG"):
            raise
        print(f"genzoo: error: {_describe(exc, registry)}", file=sys.stderr)
        return 1


def _reader_went_away() -> int:
    # Python ignores SIGPIPE, so a closed pipe is a BrokenPipeError. End as a process
    # killed by SIGPIPE appears to the shell: no message; and point stdout at devnull
    # so that the interpreter's last flush does not fail again.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return SIGPIPE_STATUS


def _describe(exc: BaseException, registry: Registry) -> str:
    """The one line after ``genzoo: error:`` for any exception."""
    if isinstance(exc, GenzooError):
        return str(exc)
    # TensorFlow's own out-of-memory error, recognised without importing TensorFlow
    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        return (
            "out of memory: ask for less at once (a smaller -n or --batch-size), or free "
            "memory"
        )
    if isinstance(exc, OSError):
        return _describe_os_error(exc)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (
        f"unexpected {type(exc).__name__}{': ' if message else ''}{message} (run with "
        f"GENZOO_DEBUG=1 for the traceback, and report it to {_owner(exc, registry)})"
    )


# Advice by errno: what to do about the path the error names.
_OS_ADVICE = {
    errno.ENOSPC: "free some space, or write somewhere else",
    errno.EDQUOT: "free some space, or write somewhere else",
    errno.EROFS: "pick a writable folder",
    errno.EACCES: "pick a writable folder, or fix the permissions",
    errno.EPERM: "pick a writable folder, or fix the permissions",
    errno.ENOENT: "check the path",
    errno.EISDIR: "it is a folder: name a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "use a shorter name",
}

# Names of genzoo's temporary files (_files.atomic_path and the staging folders):
# report the path the user named instead.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.(tmp|partial)$")


def _describe_os_error(exc: OSError) -> str:
    """``<reason>: <path>: <what to do>`` for an error of the operating system."""
    filename = exc.filename2 if exc.filename2 is not None else exc.filename
    reason = exc.strerror or str(exc)
    if filename is None:
        return reason
    path = Path(os.fsdecode(filename))
    temporary = _TEMPORARY.fullmatch(path.name)
    if temporary:
        path = path.with_name(temporary["name"])
    advice = _OS_ADVICE.get(exc.errno)
    return f"{reason}: {path}" + (f": {advice}" if advice else "")


def _owner(exc: BaseException, registry: Registry) -> str:
    """The distribution whose code raised ``exc`` (innermost frame first), else genzoo-core."""
    owners = {"genzoo_core": "genzoo-core"}
    with contextlib.suppress(Exception):  # a broken registry must not hide the first error
        owners.update({spec.package: spec.distribution for spec in registry.models.values()})
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    for module in reversed(frames):
        owner = owners.get(module.partition(".")[0])
        if owner:
            return owner
    return "genzoo-core"
