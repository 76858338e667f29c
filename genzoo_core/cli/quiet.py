"""Keep TensorFlow's start-up log lines out of the ``genzoo`` command's output.

:func:`quiet_tensorflow` runs before anything imports TensorFlow; the lines it
filters are printed while TensorFlow is imported, before ``TF_CPP_MIN_LOG_LEVEL``
is read.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

# What TensorFlow's C++ side prints while it loads, before TF_CPP_MIN_LOG_LEVEL is read
# (tensorflow/tensorflow#100442): absl's banner and its INFO and WARNING lines.
_START_UP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\] "
)


def quiet_tensorflow() -> bool:
    """Keep TensorFlow's start-up log lines out of the command's output.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` and filters the lines TensorFlow prints while
    it is imported, which ignore that level; quiets the Python loggers and
    warnings of TensorFlow, Keras and absl. Does nothing, and returns ``False``,
    when the user set ``TF_CPP_MIN_LOG_LEVEL`` or ``GENZOO_DEBUG``. Call it before
    anything imports TensorFlow.
    """
    if os.environ.get("GENZOO_DEBUG") or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return False
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietImport) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietImport())
    import logging
    import warnings

    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module=rf"{name}(\.|$)")
    return True


class _QuietImport(importlib.abc.MetaPathFinder):
    """Imports ``tensorflow`` with its start-up noise filtered out of stderr."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once is enough
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = module.__spec__.loader = self.loader  # the module sees its own
        with _filtered_stderr():
            self.loader.exec_module(module)


@contextlib.contextmanager
def _filtered_stderr() -> Iterator[None]:
    """Send file descriptor 2 to a file for the block, then replay all but the noise."""
    saved = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
        saved = os.dup(2)
    if saved is None:  # no usable stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _START_UP_NOISE.match(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
