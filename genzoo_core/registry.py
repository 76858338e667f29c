"""Plugin discovery: entry points in the group ``genzoo``, loaded through pluggy.

Each entry point is imported, registered and asked for its specs inside its own
guard, so one broken plugin never hides the others (pluggy's own
``load_setuptools_entrypoints`` stops at the first import error). Whatever a
plugin's code raises there (``SystemExit`` included, ``KeyboardInterrupt``
excepted), and whatever malformed data its hooks return, refuses that plugin
alone: it is left unregistered, none of its names is used, and its record says
which hook did what. Failures are kept with their traceback for ``genzoo
plugins``; ``GENZOO_STRICT_PLUGINS=1`` turns any of them into an error.

Names are global, and the dataset and feature-extractor names genzoo-core
registers itself are reserved: a plugin that registers one, or that registers
one name twice, is refused with a message naming the plugin, the hook and the
name.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata as importlib_metadata
import os
import re
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from genzoo_core import hookspecs
from genzoo_core.errors import DuplicateModelError, PluginError, UnknownNameError
from genzoo_core.spec import NAME_PATTERN, DatasetSpec, FeatureExtractorSpec, ModelSpec
from genzoo_core.version import API_VERSION, __version__

ENTRY_POINT_GROUP = "genzoo"
STRICT_ENV = "GENZOO_STRICT_PLUGINS"
CORE_DISTRIBUTION = "genzoo-core"

_API_MAJOR = int(API_VERSION.split(".")[0])
_RANGE_EXAMPLE = f"'>={_API_MAJOR}.0,<{_API_MAJOR + 1}'"
_NAME_RULE = (
    "names are lowercase letters, digits, '-' and '_', starting with a letter, at most 64 "
    "characters"
)
_ERROR_LIMIT = 600

# hook -> (the kind of name it registers, the spec class it must return)
_SPEC_HOOKS: dict[str, tuple[str, type]] = {
    "genzoo_register_models": ("model", ModelSpec),
    "genzoo_register_datasets": ("dataset", DatasetSpec),
    "genzoo_register_feature_extractors": ("feature extractor", FeatureExtractorSpec),
}


@dataclass
class PluginRecord:
    """What happened when one plugin was loaded.

    ``status`` is ``"ok"``, ``"failed"`` (it raised, or returned invalid specs) or
    ``"incompatible"`` (its API range excludes this core). ``error`` is one line.
    """

    name: str
    module: str
    distribution: str
    version: str
    status: str = "ok"
    error: str = ""
    traceback: str = ""
    models: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    extractors: tuple[str, ...] = ()
    api_range: str = ""

    def summary(self) -> str:
        """One line naming the plugin, its distribution, its status and its error."""
        text = f"'{self.name}' ({self.distribution} {self.version}) {self.status}"
        return f"{text}: {self.error}" if self.error else text


class _Refused(Exception):
    """Raised inside the loading of one plugin: refuse it with ``message``."""

    def __init__(self, message: str, status: str = "failed") -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


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


def _format_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


@functools.lru_cache(maxsize=1)
def reserved_names() -> dict[str, frozenset[str]]:
    """The dataset and feature-extractor names genzoo-core registers: no plugin may use them.

    Returns:
        ``{"dataset": names, "feature extractor": names}``, read from the core's own
        hook implementations, so the reservation always matches what the core ships.
    """
    from genzoo_core import _builtin

    return {
        "dataset": frozenset(s.name for s in _builtin.genzoo_register_datasets()),
        "feature extractor": frozenset(
            s.name for s in _builtin.genzoo_register_feature_extractors()
        ) | frozenset(_builtin.SHIPPED_EXTRACTORS),
    }


class Registry:
    """The models and datasets that installed plugins provide.

    Args:
        path: directories to search for installed distributions instead of
            ``sys.path`` (tests use this to see only their own throw-away plugins).
        group: the entry-point group to read.
        strict: raise on the first plugin problem; defaults to ``GENZOO_STRICT_PLUGINS``.
        builtin: include genzoo-core's own registrations (the MNIST-family datasets).
            Their names stay reserved either way.
    """

    def __init__(
        self,
        path: Sequence[str] | None = None,
        *,
        group: str = ENTRY_POINT_GROUP,
        strict: bool | None = None,
        builtin: bool = True,
    ) -> None:
        self.path = list(path) if path is not None else None
        self.group = group
        self.strict = _strict_from_env() if strict is None else strict
        self.builtin = builtin
        self._reset()

    def _reset(self) -> None:
        """Forget everything loaded: the next query discovers the plugins afresh."""
        self._loaded = False
        self._plugins: list[PluginRecord] = []
        self._models: dict[str, ModelSpec] = {}
        self._datasets: dict[str, DatasetSpec] = {}
        self._conflicts: dict[str, DuplicateModelError] = {}
        self._dataset_conflicts: dict[str, DuplicateModelError] = {}
        self._extractors: dict[str, FeatureExtractorSpec] = {}
        self._extractor_conflicts: dict[str, DuplicateModelError] = {}
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)

    # -- loading ---------------------------------------------------------------

    def _entry_points(self) -> Iterable[tuple[Any, importlib_metadata.EntryPoint]]:
        if self.path is None:
            dists = importlib_metadata.distributions()
        else:
            dists = importlib_metadata.distributions(path=self.path)
        seen: set[tuple[str, str]] = set()
        for dist in dists:
            for ep in dist.entry_points:
                key = (dist.metadata["Name"] or "", ep.name)
                if ep.group == self.group and key not in seen:
                    seen.add(key)
                    yield dist, ep

    def load(self) -> Registry:
        """Discover and load every plugin (once); return ``self``.

        Raises:
            PluginError: in strict mode, the first plugin problem. Nothing of a
                load that raised is kept: the next query loads afresh.
        """
        if self._loaded:
            return self
        self._loaded = True
        try:
            self._load_all()
        except BaseException:
            self._reset()  # never leave a half-loaded registry behind
            raise
        return self

    def _load_all(self) -> None:
        if self.builtin:
            from genzoo_core import _builtin

            self._add_plugin(
                CORE_DISTRIBUTION, _builtin, "genzoo_core._builtin", CORE_DISTRIBUTION,
                __version__, core=True,
            )
        for dist, ep in sorted(self._entry_points(), key=lambda de: de[1].name):
            dist_name = dist.metadata["Name"] or "?"
            dist_version = dist.version or "?"
            if not ep.pattern.match(ep.value):
                self._fail(
                    PluginRecord(ep.name, ep.value, dist_name, dist_version),
                    f"its entry point {ep.name} = {ep.value!r} is not 'package.module' or "
                    f"'package.module:attribute'; fix [project.entry-points.{self.group}] in "
                    f"the plugin's pyproject.toml",
                )
                continue
            try:
                module = ep.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything
                self._fail(
                    PluginRecord(ep.name, ep.value, dist_name, dist_version),
                    f"import of {ep.value} raised {_raised(exc)}",
                    exc=exc,
                )
                continue
            self._add_plugin(ep.name, module, ep.value, dist_name, dist_version)

    def _fail(
        self,
        record: PluginRecord,
        message: str,
        status: str = "failed",
        exc: BaseException | None = None,
    ) -> None:
        """Record ``record`` as refused; in strict mode raise the PluginError that says why."""
        record.status = status
        record.error = _one_line(message)
        record.traceback = _format_traceback(exc) if exc is not None else ""
        record.models = record.datasets = record.extractors = ()
        self._plugins.append(record)
        if self.strict:
            raise PluginError(
                f"plugin '{record.name}' from {record.distribution} {record.version}: "
                f"{record.error} ({STRICT_ENV} is set, so plugin problems are fatal)"
            )

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

    def _register(self, record: PluginRecord, module: Any) -> bool:
        """Register ``module`` with pluggy; on failure leave nothing of it behind."""
        owner = self.pm.get_name(module)
        if owner is not None:
            first = next((p for p in self._plugins if f"{p.distribution}:{p.name}" == owner),
                         None)
            where = f"plugin '{first.name}' of {first.distribution}" if first else owner
            self._fail(record, f"{record.module} is already loaded as {where}; remove one of "
                       f"the two entry points")
            return False
        plugin_name = f"{record.distribution}:{record.name}"
        try:
            self.pm.register(module, name=plugin_name)
        except KeyboardInterrupt:
            self._unregister(module)
            raise
        except pluggy.PluginValidationError as exc:
            self._unregister(module)
            self._fail(record, self._invalid_hook(exc), exc=exc)
            return False
        except BaseException as exc:  # noqa: BLE001 - registering reads the plugin's attributes
            self._unregister(module)
            self._fail(record, f"not a valid genzoo plugin: registering it raised "
                       f"{_raised(exc)}", exc=exc)
            return False
        return True

    def _invalid_hook(self, exc: pluggy.PluginValidationError) -> str:
        """Pluggy's multi-line validation error as one line that says what to change."""
        lines = str(exc).splitlines()
        match = re.search(r"for hook '(\w+)'", lines[0]) if lines else None
        if match is None:
            return f"not a valid genzoo plugin: {exc}; match its hooks to genzoo_core.hookspecs"
        hook = match.group(1)
        caller = getattr(self.pm.hook, hook, None)
        spec = caller.spec if caller is not None else None
        wanted = f"{hook}({', '.join(spec.argnames)})" if spec is not None else hook
        return (f"not a valid genzoo plugin: hook {hook}: {lines[-1]}; give it the signature "
                f"{wanted} that genzoo_core.hookspecs declares")

    def _unregister(self, module: Any) -> None:
        """Unregister ``module`` if pluggy holds it (a failed register may leave it half-in)."""
        if self.pm.get_name(module) is not None:
            self.pm.unregister(module)

    def _add_plugin(
        self,
        name: str,
        module: Any,
        value: str,
        dist_name: str,
        dist_version: str,
        *,
        core: bool = False,
    ) -> None:
        record = PluginRecord(name, value, dist_name, dist_version)
        if not self._register(record, module):
            return
        try:
            specs = self._specs(record, module, core=core)
        except KeyboardInterrupt:
            self._unregister(module)
            raise
        except _Refused as refused:
            # unregistered here, once; _fail may raise (strict mode) only after that
            self._unregister(module)
            self._fail(record, refused.message, refused.status, refused.__cause__)
            return
        except BaseException as exc:  # noqa: BLE001 - spec objects run plugin code too
            self._unregister(module)
            self._fail(record, f"its specs raised {_raised(exc)}", exc=exc)
            return
        models, datasets, extractors = specs
        record.models = tuple(s.name for s in models)
        record.datasets = tuple(d.name for d in datasets)
        record.extractors = tuple(e.name for e in extractors)
        self._plugins.append(record)
        for spec in models:
            self._add_named("model", spec, self._models, self._conflicts)
        for dspec in datasets:
            self._add_named("dataset", dspec, self._datasets, self._dataset_conflicts)
        for espec in extractors:
            self._add_named(
                "feature extractor", espec, self._extractors, self._extractor_conflicts
            )

    def _specs(
        self, record: PluginRecord, module: Any, *, core: bool
    ) -> tuple[list[ModelSpec], list[DatasetSpec], list[FeatureExtractorSpec]]:
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
        models, datasets, extractors = collected
        return models, datasets, extractors

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

    def _add_named(
        self, kind: str, spec: Any, table: dict[str, Any], conflicts: dict[str, Any]
    ) -> None:
        """Add a model, dataset or extractor spec; a second registration disables both."""
        name = spec.name
        if name in conflicts:
            conflicts[name] = self._duplicate(kind, name, [*conflicts[name].specs, spec])
        elif name in table:
            conflicts[name] = self._duplicate(kind, name, [table.pop(name), spec])
        else:
            table[name] = spec
            return
        if self.strict:
            raise conflicts[name]

    @staticmethod
    def _duplicate(kind: str, name: str, specs: list[Any]) -> DuplicateModelError:
        owners = " and ".join(
            f"{s.distribution} {getattr(s, 'version', '')}".rstrip()
            + f" ({getattr(s, 'builder', None) or s.loader})"
            for s in specs
        )
        error = DuplicateModelError(
            f"{kind} name '{name}' is registered by more than one distribution: {owners}. "
            f"None of them is used; uninstall all but one (pip uninstall ...)."
        )
        error.specs = specs
        return error

    # -- queries ---------------------------------------------------------------

    @property
    def plugins(self) -> list[PluginRecord]:
        """A record per discovered plugin, failed ones included."""
        return list(self.load()._plugins)

    @property
    def models(self) -> dict[str, ModelSpec]:
        """The usable models by name (conflicting names are left out)."""
        return dict(self.load()._models)

    @property
    def datasets(self) -> dict[str, DatasetSpec]:
        """The named datasets by name."""
        return dict(self.load()._datasets)

    @property
    def feature_extractors(self) -> dict[str, FeatureExtractorSpec]:
        """The named feature extractors by name."""
        return dict(self.load()._extractors)

    @property
    def conflicts(self) -> dict[str, DuplicateModelError]:
        """Names registered by more than one distribution, with the error explaining each.

        Model names are keys as they are; dataset and feature-extractor names are
        prefixed with ``dataset:`` and ``extractor:``.
        """
        self.load()
        datasets = {f"dataset:{k}": v for k, v in self._dataset_conflicts.items()}
        extractors = {f"extractor:{k}": v for k, v in self._extractor_conflicts.items()}
        return {**self._conflicts, **datasets, **extractors}

    def get_model(self, name: str) -> ModelSpec:
        """Return the spec of model ``name``, or raise a helpful error."""
        return self._get("model", name, self._models, self._conflicts, "genzoo list")

    def get_dataset(self, name: str) -> DatasetSpec:
        """Return the spec of dataset ``name``, or raise a helpful error."""
        return self._get("dataset", name, self._datasets, self._dataset_conflicts,
                         "genzoo datasets")

    def get_feature_extractor(self, name: str) -> FeatureExtractorSpec:
        """Return the spec of feature extractor ``name``, or raise a helpful error."""
        return self._get("feature extractor", name, self._extractors,
                         self._extractor_conflicts, "genzoo features")

    def _get(
        self, kind: str, name: Any, table: dict[str, Any], conflicts: dict[str, Any],
        command: str,
    ) -> Any:
        self.load()
        if isinstance(name, str):  # anything else (None, a list) is unknown, not a TypeError
            if name in conflicts:
                raise conflicts[name]
            if name in table:
                return table[name]
        raise UnknownNameError(self._unknown(kind, name, table, command))

    @property
    def failed(self) -> list[PluginRecord]:
        """The plugins that were refused (failed or incompatible)."""
        return [p for p in self.load()._plugins if p.status != "ok"]

    def _unknown(self, kind: str, name: Any, known: Iterable[str], command: str) -> str:
        """Why ``name`` is not registered, and what to do: one line."""
        known = sorted(known)
        valid = isinstance(name, str) and bool(NAME_PATTERN.match(name))
        close = (
            difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            if isinstance(name, str) else []
        )
        if kind == "model" and not valid:
            # no install advice: 'pip install genzoo-../..' could only mislead
            message = f"{_one_line(repr(name), 80)} is not a valid {kind} name: {_NAME_RULE}."
        else:
            message = f"unknown {kind} {_one_line(repr(name), 80)}."
        if close:
            message += f" Did you mean: {', '.join(close)}?"
        elif known:
            message += f" Known {kind}s: {', '.join(known)}."
        else:
            message += f" No {kind}s are installed."
        # an invalid name is nobody's: failed plugins cannot be why it is missing
        failed = [p for p in self._plugins if p.status != "ok"] if valid else []
        if failed:
            causes = "; ".join(p.summary().rstrip(".") for p in failed)
            message += (
                f" {len(failed)} plugin(s) failed to load and may provide it: {causes}. "
                f"Fix or uninstall them; see 'genzoo plugins -v'."
            )
        elif kind == "model" and valid and not close:
            message += f" Install its plugin (pip install genzoo-{name}) or see '{command}'."
        elif not valid:
            message += f" See '{command}'."
        return message


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry over the installed distributions."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def set_default_registry(registry: Registry | None) -> None:
    """Replace the process-wide registry (``None`` rediscovers on next use)."""
    global _default
    _default = registry
