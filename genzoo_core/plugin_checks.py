"""What a plugin's hooks return, checked before any of it is used.

Its API range (a PEP 440 specifier that admits this core), the type of every
returned value (lists of the right spec class), every spec's own validation,
names it returns twice, and the dataset and feature-extractor names genzoo-core
reserves for its own (:func:`reserved_names`). A problem refuses the plugin alone
(:class:`_Refused`, caught by :mod:`genzoo_core.plugin_loading`), with a message
naming the plugin's hook and what to change.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from genzoo_core import hookspecs
from genzoo_core.errors import PluginError
from genzoo_core.spec import (
    NAME_PATTERN,
    DatasetSpec,
    FeatureExtractorSpec,
    MetricSpec,
    ModelSpec,
)
from genzoo_core.version import API_VERSION, __version__

if TYPE_CHECKING:
    from genzoo_core.plugin_loading import PluginRecord

CORE_DISTRIBUTION = "genzoo-core"

_API_MAJOR = int(API_VERSION.split(".")[0])
_RANGE_EXAMPLE = f"'>={_API_MAJOR}.0,<{_API_MAJOR + 1}'"
_ERROR_LIMIT = 600

# hook -> (the kind of name it registers, the spec class it must return)
_SPEC_HOOKS: dict[str, tuple[str, type]] = {
    "genzoo_register_models": ("model", ModelSpec),
    "genzoo_register_datasets": ("dataset", DatasetSpec),
    "genzoo_register_feature_extractors": ("feature extractor", FeatureExtractorSpec),
    "genzoo_register_metrics": ("metric", MetricSpec),
}


class _Refused(Exception):
    """Raised inside the loading of one plugin: refuse it with ``message``."""

    def __init__(self, message: str, status: str = "failed") -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _one_line(text: str, limit: int = _ERROR_LIMIT) -> str:
    """``text`` on one line (the full text stays in the traceback), at most ``limit`` chars."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _short_repr(value: Any, limit: int = 60) -> str:
    """A short repr of what a plugin returned, and its type: ``None (NoneType)``."""
    try:
        text = repr(value)
    except BaseException as exc:  # noqa: BLE001 - plugin objects may raise anything
        if isinstance(exc, KeyboardInterrupt):
            raise
        text = "<unprintable>"
    text = _one_line(text, limit)
    return f"{text} ({type(value).__name__})"


def _raised(exc: BaseException) -> str:
    """``Type: message``, or ``Type`` alone when the message is empty."""
    try:
        message = str(exc)
    except BaseException as err:  # noqa: BLE001 - a plugin's exception may break __str__
        if isinstance(err, KeyboardInterrupt):
            raise
        message = ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@functools.lru_cache(maxsize=1)
def reserved_names() -> dict[str, frozenset[str]]:
    """The dataset and feature-extractor names genzoo-core registers: no plugin may use them.

    Returns:
        ``{"dataset": names, "feature extractor": names, "metric": names}``, read from
        the core's own hook implementations, so the reservation always matches what the core ships.
    """
    from genzoo_core import _builtin

    return {
        "dataset": frozenset(s.name for s in _builtin.genzoo_register_datasets()),
        "feature extractor": frozenset(
            s.name for s in _builtin.genzoo_register_feature_extractors()
        ) | frozenset(_builtin.SHIPPED_EXTRACTORS),
        "metric": frozenset(s.name for s in _builtin.genzoo_register_metrics()),
    }


class HookChecks:
    """Calls one plugin's hooks and checks what they return (a part of the Registry)."""

    pm: pluggy.PluginManager

    def _call(self, hook: str, module: Any) -> list[Any]:
        """What one plugin's implementation of ``hook`` returned (``[]`` if it has none).

        Raises:
            _Refused: the hook raised, whatever it raised but ``KeyboardInterrupt``.
        """
        impls = [
            impl
            for impl in getattr(self.pm.hook, hook).get_hookimpls()
            if impl.plugin is module
        ]
        results = []
        for impl in impls:
            try:
                results.append(impl.function())
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything
                raise _Refused(f"hook {hook}() raised {_raised(exc)}") from exc
        return results

    def _specs(
        self, record: PluginRecord, module: Any, *, core: bool
    ) -> tuple[list[ModelSpec], list[DatasetSpec], list[FeatureExtractorSpec], list[MetricSpec]]:
        """Check the plugin's API range and collect its validated specs, or raise _Refused."""
        unknown = sorted(
            caller.name for caller in self.pm.get_hookcallers(module) or []
            if caller.spec is None
        )
        if unknown:
            hook = unknown[0]
            close = difflib.get_close_matches(hook, sorted(self._hook_names()), n=1)
            hint = f" (did you mean {close[0]}())" if close else ""
            raise _Refused(
                f"it implements {hook}(), which is not a hook of genzoo API {API_VERSION}"
                f"{hint}; rename it, or declare the API that adds it in genzoo_api_range()"
            )
        record.api_range = self._api_range(module)
        if Version(API_VERSION) not in SpecifierSet(record.api_range):
            dist = record.distribution
            raise _Refused(
                f"supports genzoo API {record.api_range}, but genzoo-core {__version__} "
                f"provides API {API_VERSION}. Install a release of {dist} built for "
                f"API {API_VERSION} (pip install -U {dist}), or a genzoo-core whose "
                f"API matches {record.api_range}.",
                status="incompatible",
            )
        collected = []
        for hook, (kind, cls) in _SPEC_HOOKS.items():
            specs = []
            for returned in self._call(hook, module):
                specs += self._checked(hook, kind, cls, returned, record)
            self._refuse_repeats(hook, kind, specs, record, core=core)
            collected.append(specs)
        models, datasets, extractors, metrics = collected
        return models, datasets, extractors, metrics

    @staticmethod
    def _hook_names() -> list[str]:
        return [name for name in vars(hookspecs) if name.startswith("genzoo_")]

    def _api_range(self, module: Any) -> str:
        """The plugin's API range, checked to be a non-empty PEP 440 specifier string."""
        ranges = self._call("genzoo_api_range", module)
        if not ranges:
            raise _Refused(
                "it does not implement the hook genzoo_api_range(); add one returning the "
                f"API versions it supports, e.g. {_RANGE_EXAMPLE}"
            )
        value = ranges[0]
        if not isinstance(value, str):
            raise _Refused(
                f"genzoo_api_range() returned {_short_repr(value)}; expected a version "
                f"specifier string such as {_RANGE_EXAMPLE}"
            )
        if not value.strip():
            raise _Refused(
                f"genzoo_api_range() returned {value!r}, which admits every API version; "
                f"return the range the plugin is written for, such as {_RANGE_EXAMPLE}"
            )
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            raise _Refused(
                f"genzoo_api_range() returned {_one_line(repr(value), 80)}, which is not a "
                f"PEP 440 version specifier; return one such as {_RANGE_EXAMPLE}"
            ) from None
        return value

    @staticmethod
    def _checked(hook: str, kind: str, cls: type, returned: Any, record: PluginRecord) -> list:
        """The specs one hook returned, typed, stamped with the distribution and validated."""
        expected = f"expected a list of {cls.__name__}"
        if not isinstance(returned, (list, tuple)):
            raise _Refused(f"hook {hook}() returned {_short_repr(returned)}; {expected}")
        specs = []
        for item in returned:
            if not isinstance(item, cls):
                raise _Refused(
                    f"hook {hook}() returned a list holding {_short_repr(item)}; {expected}"
                )
            stamp: dict[str, str] = {"distribution": record.distribution}
            if cls is ModelSpec:
                stamp["version"] = record.version
            try:
                spec = replace(item, **stamp)
                cls.validate(spec)  # the core's checks, even if a subclass overrides them
            except PluginError as exc:
                raise _Refused(f"{hook}() returned an invalid {cls.__name__}: {exc}") from exc
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - a spec subclass may run plugin code
                raise _Refused(
                    f"{hook}() returned a {cls.__name__} whose checks raised {_raised(exc)}"
                ) from exc
            specs.append(spec)
        return specs

    @staticmethod
    def _refuse_repeats(
        hook: str, kind: str, specs: list[Any], record: PluginRecord, *, core: bool
    ) -> None:
        """One plugin may not register a name twice, nor a name the core reserves."""
        seen: set[str] = set()
        reserved = frozenset() if core else reserved_names().get(kind, frozenset())
        for spec in specs:
            if spec.name in seen:
                raise _Refused(
                    f"hook {hook}() returned {kind} name '{spec.name}' twice; give each "
                    f"{kind} its own name, or return it once"
                )
            seen.add(spec.name)
            if spec.name in reserved:
                suggestion = f"{record.name}-{spec.name}"
                if not NAME_PATTERN.match(suggestion):
                    suggestion = f"my-{spec.name}"
                raise _Refused(
                    f"hook {hook}() returned {kind} name '{spec.name}', which "
                    f"{CORE_DISTRIBUTION} reserves for its own; rename it (e.g. '{suggestion}')"
                )
