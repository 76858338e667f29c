"""Plugin loading: entry points in the group ``genzoo``, loaded through pluggy.

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

The checks of what the hooks return live in :mod:`genzoo_core.plugin_checks`; the
queries in :class:`genzoo_core.registry.Registry`, which is a :class:`PluginLoader`.
"""

from __future__ import annotations

import importlib.metadata as importlib_metadata
import os
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pluggy

from genzoo_core import hookspecs
from genzoo_core.errors import DuplicateModelError, PluginError
from genzoo_core.plugin_checks import CORE_DISTRIBUTION, HookChecks, _one_line, _raised, _Refused
from genzoo_core.spec import DatasetSpec, FeatureExtractorSpec, MetricSpec, ModelSpec
from genzoo_core.version import __version__

ENTRY_POINT_GROUP = "genzoo"
STRICT_ENV = "GENZOO_STRICT_PLUGINS"


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
    metrics: tuple[str, ...] = ()
    api_range: str = ""

    def summary(self) -> str:
        """One line naming the plugin, its distribution, its status and its error."""
        text = f"'{self.name}' ({self.distribution} {self.version}) {self.status}"
        return f"{text}: {self.error}" if self.error else text


def _strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _format_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


class PluginLoader(HookChecks):
    """Discovers the plugins and loads each inside its own guard (a part of the Registry).

    Fills the tables that :class:`~genzoo_core.registry.Registry` queries: a
    record per plugin, and the models, datasets and feature extractors by name,
    with the names that more than one distribution registers kept apart.
    """

    path: list[str] | None
    group: str
    strict: bool
    builtin: bool

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
        self._metrics: dict[str, MetricSpec] = {}
        self._metric_conflicts: dict[str, DuplicateModelError] = {}
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)

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
        record.models = record.datasets = record.extractors = record.metrics = ()
        self._plugins.append(record)
        if self.strict:
            raise PluginError(
                f"plugin '{record.name}' from {record.distribution} {record.version}: "
                f"{record.error} ({STRICT_ENV} is set, so plugin problems are fatal)"
            )

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
        models, datasets, extractors, metrics = specs
        record.models = tuple(s.name for s in models)
        record.datasets = tuple(d.name for d in datasets)
        record.extractors = tuple(e.name for e in extractors)
        record.metrics = tuple(m.name for m in metrics)
        self._plugins.append(record)
        for spec in models:
            self._add_named("model", spec, self._models, self._conflicts)
        for dspec in datasets:
            self._add_named("dataset", dspec, self._datasets, self._dataset_conflicts)
        for espec in extractors:
            self._add_named(
                "feature extractor", espec, self._extractors, self._extractor_conflicts
            )
        for mspec in metrics:
            self._add_named("metric", mspec, self._metrics, self._metric_conflicts)

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
            + f" ({getattr(s, 'builder', None) or getattr(s, 'scorer', None) or s.loader})"
            for s in specs
        )
        error = DuplicateModelError(
            f"{kind} name '{name}' is registered by more than one distribution: {owners}. "
            f"None of them is used; uninstall all but one (pip uninstall ...)."
        )
        error.specs = specs
        return error
