"""Checks the spec dataclasses share: enum values, string lists, import strings, paths.

Private to :mod:`genzoo_core.spec` and :mod:`genzoo_core.dataset_specs`: each
turns what a plugin declared into the canonical type, or a
:class:`~genzoo_core.PluginError` that names the field and what is allowed.
"""

from __future__ import annotations

import importlib
from enum import Enum
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from genzoo_core.errors import PluginError


def _enum(kind: type[Enum], value: Any, what: str) -> Any:
    """``kind(value)``, or a PluginError listing the allowed values."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in kind)
        raise PluginError(f"{what} {value!r} is not one of {allowed}") from None


def _import(target: str, what: str) -> Any:
    """Import ``"package.module:attr.attr"`` for ``what``; any failure is a PluginError.

    The module is plugin code: whatever its import raises (``SystemExit`` included,
    ``KeyboardInterrupt`` excepted) is reported with the name of what needed it.
    """
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - plugin code may raise anything
        raise PluginError(
            f"cannot import {target} ({what}): {type(exc).__name__}: {exc}. Reinstall the "
            f"plugin that provides it, or see 'genzoo plugins -v'."
        ) from exc
    return obj


def _strings(value: Any, what: str) -> tuple[str, ...]:
    """A tuple of strings from a list or tuple; a bare string is an error, not its letters."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise PluginError(f"{what} must be a list of strings, got {value!r}")
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise PluginError(f"{what} must be a list of strings, got {value!r}")
    return items


def _check_package_path(path: Any, where: str) -> None:
    """A packaged file is a relative path that stays inside the plugin's package."""
    if not isinstance(path, str) or not path.strip():
        raise PluginError(f"{where}: file must be a path inside the plugin package, got {path!r}")
    posix, windows = PurePosixPath(path), PureWindowsPath(path)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or path.startswith("~"):
        raise PluginError(
            f"{where}: file {path!r} is absolute; give a path inside the plugin package, e.g. "
            f"'weights/{PurePosixPath(path).name}'"
        )
    if ".." in posix.parts or ".." in windows.parts:
        raise PluginError(
            f"{where}: file {path!r} leaves the plugin package ('..'); give a path inside it, "
            f"e.g. 'weights/{PurePosixPath(path).name}'"
        )


def _shape(value: Any, what: str) -> tuple[int, int, int]:
    """(height, width, channels) of non-negative integers, or a PluginError."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise PluginError(f"{what}: image_shape must be (height, width, channels), got {value!r}")
    shape = tuple(value)
    if len(shape) != 3 or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise PluginError(f"{what}: image_shape must be (height, width, channels), got {value!r}")
    return shape  # type: ignore[return-value]
