"""Plugin discovery: entry points in the group ``genzoo``, loaded through pluggy.

Each entry point is imported and asked for its specs inside its own guard, so one
broken plugin never hides the others (pluggy's own ``load_setuptools_entrypoints``
stops at the first import error). Failures are kept with their traceback for
``genzoo plugins``; ``GENZOO_STRICT_PLUGINS=1`` turns any of them into an error.
"""

from __future__ import annotations

import difflib
import importlib.metadata as importlib_metadata
import os
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from genzoo_core import hookspecs
from genzoo_core.errors import DuplicateModelError, PluginError, UnknownNameError
from genzoo_core.spec import DatasetSpec, FeatureExtractorSpec, ModelSpec
from genzoo_core.version import API_VERSION, __version__

ENTRY_POINT_GROUP = "genzoo"
STRICT_ENV = "GENZOO_STRICT_PLUGINS"


@dataclass
class PluginRecord:
    """What happened when one plugin was loaded.

    ``status`` is ``"ok"``, ``"failed"`` (it raised, or its specs are invalid) or
    ``"incompatible"`` (its API range excludes this core).
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


def _strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class Registry:
    """The models and datasets that installed plugins provide.

    Args:
        path: directories to search for installed distributions instead of
            ``sys.path`` (tests use this to see only their own throw-away plugins).
        group: the entry-point group to read.
        strict: raise on the first plugin problem; defaults to ``GENZOO_STRICT_PLUGINS``.
        builtin: include genzoo-core's own registrations (the MNIST-family datasets).
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
        """Discover and load every plugin (once); return ``self``."""
        if self._loaded:
            return self
        self._loaded = True
        if self.builtin:
            from genzoo_core import _builtin

            self._add_plugin(
                "genzoo-core", _builtin, "genzoo_core._builtin", "genzoo-core", __version__
            )
        for dist, ep in sorted(self._entry_points(), key=lambda de: de[1].name):
            dist_name = dist.metadata["Name"] or "?"
            dist_version = dist.version or "?"
            try:
                module = ep.load()
            except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(
                    PluginRecord(ep.name, ep.value, dist_name, dist_version),
                    f"import of {ep.value} raised {type(exc).__name__}: {exc}",
                )
                continue
            self._add_plugin(ep.name, module, ep.value, dist_name, dist_version)
        return self

    def _fail(self, record: PluginRecord, message: str, status: str = "failed") -> None:
        record.status = status
        record.error = message
        record.traceback = traceback.format_exc() if status == "failed" else ""
        self._plugins.append(record)
        if self.strict:
            raise PluginError(
                f"plugin '{record.name}' from {record.distribution} {record.version}: {message}"
                f" ({STRICT_ENV} is set, so plugin problems are fatal)"
            )

    def _call(self, hook: str, module: Any) -> list[Any] | None:
        """Call one plugin's implementation of ``hook`` (isolated from the others)."""
        impls = [
            impl
            for impl in getattr(self.pm.hook, hook).get_hookimpls()
            if impl.plugin is module
        ]
        return [impl.function() for impl in impls] or None

    def _add_plugin(
        self, name: str, module: Any, value: str, dist_name: str, dist_version: str
    ) -> None:
        record = PluginRecord(name, value, dist_name, dist_version)
        plugin_name = f"{dist_name}:{name}"
        try:
            self.pm.register(module, name=plugin_name)
        except Exception as exc:  # pluggy validates hook names and signatures
            self._fail(record, f"not a valid genzoo plugin: {exc}")
            return
        try:
            ranges = self._call("genzoo_api_range", module)
            if not ranges:
                raise PluginError(
                    "it does not implement the hook genzoo_api_range(); add one returning the "
                    f"API versions it supports, e.g. '>={API_VERSION.split('.')[0]}.0,"
                    f"<{int(API_VERSION.split('.')[0]) + 1}'"
                )
            record.api_range = str(ranges[0])
            try:
                supported = SpecifierSet(record.api_range)
            except InvalidSpecifier as exc:
                raise PluginError(
                    f"genzoo_api_range() returned {record.api_range!r}, which is not a "
                    f"PEP 440 version specifier"
                ) from exc
            if Version(API_VERSION) not in supported:
                self.pm.unregister(module)
                self._fail(
                    record,
                    f"supports genzoo API {record.api_range}, but genzoo-core {__version__} "
                    f"provides API {API_VERSION}. Install a release of {dist_name} built for "
                    f"API {API_VERSION} (pip install -U {dist_name}), or a genzoo-core whose "
                    f"API matches {record.api_range}.",
                    status="incompatible",
                )
                return
            models = [
                replace(spec, distribution=dist_name, version=dist_version)
                for specs in self._call("genzoo_register_models", module) or []
                for spec in specs
            ]
            datasets = [
                replace(spec, distribution=dist_name)
                for specs in self._call("genzoo_register_datasets", module) or []
                for spec in specs
            ]
            extractors = [
                replace(spec, distribution=dist_name)
                for specs in self._call("genzoo_register_feature_extractors", module) or []
                for spec in specs
            ]
            for espec in extractors:
                if not isinstance(espec, FeatureExtractorSpec):
                    raise PluginError(
                        f"genzoo_register_feature_extractors() returned {espec!r}, "
                        f"not FeatureExtractorSpec"
                    )
                espec.validate()
            for spec in models:
                if not isinstance(spec, ModelSpec):
                    raise PluginError(f"genzoo_register_models() returned {spec!r}, not ModelSpec")
                spec.validate()
            for dspec in datasets:
                if not isinstance(dspec, DatasetSpec):
                    raise PluginError(
                        f"genzoo_register_datasets() returned {dspec!r}, not DatasetSpec"
                    )
                dspec.validate()
        except Exception as exc:  # noqa: BLE001 - isolate the plugin whatever it raised
            self.pm.unregister(module)
            self._fail(record, f"{type(exc).__name__}: {exc}")
            return
        for spec in models:
            self._add_named("model", spec, self._models, self._conflicts)
        for dspec in datasets:
            self._add_named("dataset", dspec, self._datasets, self._dataset_conflicts)
        for espec in extractors:
            self._add_named(
                "feature extractor", espec, self._extractors, self._extractor_conflicts
            )
        record.models = tuple(s.name for s in models)
        record.datasets = tuple(d.name for d in datasets)
        record.extractors = tuple(e.name for e in extractors)
        self._plugins.append(record)

    def _add_named(
        self, kind: str, spec: Any, table: dict[str, Any], conflicts: dict[str, Any]
    ) -> None:
        """Add a model or dataset spec; a second registration of a name disables both."""
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
        """Model and dataset names registered twice, with the error that explains each."""
        self.load()
        datasets = {f"dataset:{k}": v for k, v in self._dataset_conflicts.items()}
        extractors = {f"extractor:{k}": v for k, v in self._extractor_conflicts.items()}
        return {**self._conflicts, **datasets, **extractors}

    def get_model(self, name: str) -> ModelSpec:
        """Return the spec of model ``name``, or raise a helpful error."""
        self.load()
        if name in self._conflicts:
            raise self._conflicts[name]
        if name in self._models:
            return self._models[name]
        raise UnknownNameError(self._unknown("model", name, self._models, "genzoo list"))

    def get_dataset(self, name: str) -> DatasetSpec:
        """Return the spec of dataset ``name``, or raise a helpful error."""
        self.load()
        if name in self._dataset_conflicts:
            raise self._dataset_conflicts[name]
        if name in self._datasets:
            return self._datasets[name]
        raise UnknownNameError(self._unknown("dataset", name, self._datasets, "genzoo datasets"))

    def get_feature_extractor(self, name: str) -> FeatureExtractorSpec:
        """Return the spec of feature extractor ``name``, or raise a helpful error."""
        self.load()
        if name in self._extractor_conflicts:
            raise self._extractor_conflicts[name]
        if name in self._extractors:
            return self._extractors[name]
        raise UnknownNameError(
            self._unknown("feature extractor", name, self._extractors, "genzoo datasets")
        )

    def _unknown(self, kind: str, name: str, known: Iterable[str], command: str) -> str:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        message = f"unknown {kind} '{name}'."
        if close:
            message += f" Did you mean: {', '.join(close)}?"
        elif known:
            message += f" Known {kind}s: {', '.join(known)}."
        else:
            message += f" No {kind}s are installed."
        failed = [p for p in self._plugins if p.status != "ok"]
        if failed:
            message += f" ({len(failed)} plugin(s) failed to load; see 'genzoo plugins'.)"
        elif kind == "model" and not close:
            message += f" Install its plugin (pip install genzoo-{name}) or see '{command}'."
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
