"""The registry: the models, datasets and feature extractors installed plugins provide.

:class:`Registry` answers the queries (``models``, ``get_model``, ``conflicts``,
...) and loads the plugins on first use. Plugin discovery and loading live in
:mod:`genzoo_core.plugin_loading` and the checks of what their hooks return in
:mod:`genzoo_core.plugin_checks`; every name of both is importable from here too
(:class:`PluginRecord`, :func:`reserved_names`, :data:`ENTRY_POINT_GROUP`, ...).
:func:`default_registry` is the process-wide one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from genzoo_core.errors import DuplicateModelError, UnknownNameError
from genzoo_core.plugin_checks import _API_MAJOR as _API_MAJOR
from genzoo_core.plugin_checks import _ERROR_LIMIT as _ERROR_LIMIT
from genzoo_core.plugin_checks import _RANGE_EXAMPLE as _RANGE_EXAMPLE
from genzoo_core.plugin_checks import _SPEC_HOOKS as _SPEC_HOOKS
from genzoo_core.plugin_checks import CORE_DISTRIBUTION, _one_line, reserved_names
from genzoo_core.plugin_checks import _raised as _raised
from genzoo_core.plugin_checks import _Refused as _Refused
from genzoo_core.plugin_checks import _short_repr as _short_repr
from genzoo_core.plugin_loading import (
    ENTRY_POINT_GROUP,
    STRICT_ENV,
    PluginLoader,
    PluginRecord,
    _strict_from_env,
)
from genzoo_core.plugin_loading import _format_traceback as _format_traceback
from genzoo_core.spec import (
    NAME_PATTERN,
    DatasetSpec,
    FeatureExtractorSpec,
    MetricSpec,
    ModelSpec,
)

__all__ = [
    "CORE_DISTRIBUTION",
    "ENTRY_POINT_GROUP",
    "STRICT_ENV",
    "PluginRecord",
    "Registry",
    "default_registry",
    "reserved_names",
    "set_default_registry",
]

_NAME_RULE = (
    "names are lowercase letters, digits, '-' and '_', starting with a letter, at most 64 "
    "characters"
)
_PLUGIN_DATASETS = {
    "maps": "genzoo-pix2pix",
    "summer2winter": "genzoo-cyclegan",
    "shapes": "genzoo-stackgan",
}
"""Datasets the first-party plugins register: asking for one without its plugin says which
distribution to install (the core only knows the names; it never imports a plugin)."""


class Registry(PluginLoader):
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
    def metrics(self) -> dict[str, MetricSpec]:
        """The evaluation metrics by name (``genzoo_register_metrics``)."""
        return dict(self.load()._metrics)

    @property
    def conflicts(self) -> dict[str, DuplicateModelError]:
        """Names registered by more than one distribution, with the error explaining each.

        Model names are keys as they are; dataset and feature-extractor names are
        prefixed with ``dataset:``, ``extractor:`` and ``metric:``.
        """
        self.load()
        datasets = {f"dataset:{k}": v for k, v in self._dataset_conflicts.items()}
        extractors = {f"extractor:{k}": v for k, v in self._extractor_conflicts.items()}
        metrics = {f"metric:{k}": v for k, v in self._metric_conflicts.items()}
        return {**self._conflicts, **datasets, **extractors, **metrics}

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

    def get_metric(self, name: str) -> MetricSpec:
        """Return the spec of metric ``name``, or raise a helpful error."""
        return self._get("metric", name, self._metrics, self._metric_conflicts, "genzoo metrics")

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
        owner = _PLUGIN_DATASETS.get(name) if kind == "dataset" and valid else None
        if owner and not any(p.distribution == owner for p in self._plugins):
            return (f"dataset '{name}' comes with the {owner} plugin, which is not installed: "
                    f"pip install {owner}")
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
