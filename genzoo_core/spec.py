"""Model, weights and dataset specifications.

A plugin describes what it offers with these plain dataclasses. They are cheap:
building a spec imports nothing heavy, so ``genzoo list`` never loads TensorFlow.
The model class itself is named by an import string (``"pkg.module:Class"``) and
imported only when a model is built, by :meth:`ModelSpec.build`, which hands the
spec in: a model never looks itself up in a registry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from genzoo_core import schema as _schema
from genzoo_core.dataset_specs import DatasetSpec, FeatureExtractorSpec
from genzoo_core.errors import ConfigError, PluginError, UnknownNameError
from genzoo_core.metric_specs import MetricSpec
from genzoo_core.spec_checks import _check_package_path, _enum, _import, _strings
from genzoo_core.spec_enums import NAME_PATTERN, Capability, Condition, Role

# The spec classes and their enumerations, importable from here as they always were.
__all__ = [
    "NAME_PATTERN",
    "Capability",
    "Condition",
    "DatasetSpec",
    "FeatureExtractorSpec",
    "MetricSpec",
    "ModelSpec",
    "Role",
    "WeightsSpec",
    "spec_being_built",
]

URL_SCHEMES = ("https://", "http://")

# The (class, spec) that ModelSpec.build is building right now. A context variable, not an
# argument, because plugin classes take ``(config, **overrides)`` and pass exactly those on to
# GenerativeModel.__init__: an extra keyword would land among the config overrides.
_BUILDING: ContextVar[tuple[type, ModelSpec] | None] = ContextVar("genzoo_building", default=None)

COMPONENT_USES = ("inference", "training")
"""The values of :attr:`ModelSpec.component_use`: a component only sampling needs, or
only training needs. A component left out of ``component_use`` serves both."""

SAMPLE_OPTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class WeightsSpec:
    """One set of pretrained weights a plugin offers.

    Exactly one of ``file`` (a relative path inside the plugin's package, shipped
    in its wheel) or ``url`` (an ``https://`` or ``http://`` address, fetched into
    ``GENZOO_HOME`` on first use) is set. The file's ``sha256`` is always checked
    before it is used, and its ``size`` in bytes (optional, but record it with
    ``url``: the conformance kit asks for it) caps what a download may write;
    without it a download may write at most ``hub.UNSIZED_LIMIT`` bytes.
    """

    name: str
    sha256: str
    file: str | None = None
    url: str | None = None
    description: str = ""
    dataset: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    size: int | None = None

    def validate(self, model: str) -> None:
        """Raise :class:`PluginError` if this entry is malformed."""
        name = self.name if isinstance(self.name, str) else repr(self.name)
        where = f"weights '{model}/{name}'"
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise PluginError(f"{where}: name must match {NAME_PATTERN.pattern}")
        if not isinstance(self.sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise PluginError(f"{where}: sha256 must be 64 lowercase hex digits")
        if (self.file is None) == (self.url is None):
            raise PluginError(f"{where}: set exactly one of file= (packaged) or url= (download)")
        if self.file is not None:
            _check_package_path(self.file, where)
        if self.url is not None:
            if not isinstance(self.url, str) or not self.url.startswith(URL_SCHEMES):
                raise PluginError(f"{where}: url must start with https:// or http://, got "
                                  f"{self.url!r}")
        if self.size is not None and (
            isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1
        ):
            raise PluginError(f"{where}: size must be a positive number of bytes, got "
                              f"{self.size!r}")
        if not isinstance(self.metrics, Mapping):
            raise PluginError(f"{where}: metrics must be a dict of name: number")




@dataclass(frozen=True)
class ModelSpec:
    """Everything genzoo needs to list, build, train and load one model.

    Attributes:
        name: unique model name, e.g. ``"dcgan"``; also the first half of
            ``"dcgan/mnist"``.
        builder: import string of the model class, ``"package.module:Class"``;
            imported only when a model is built.
        description: one line for ``genzoo list``.
        components: names of the Keras models the model is made of, e.g.
            ``("generator", "discriminator")``.
        condition: what the model is conditioned on (see :class:`Condition`).
        capabilities: what it can do besides the contract (see :class:`Capability`).
        default_config: JSON-serialisable configuration the class is built from.
        weights: the pretrained weights on offer; the first is the default.
        config_schema: key -> :class:`genzoo_core.schema.Field`, the type and
            range of config keys; keys left out are checked against the type of
            their default value. Every config a model is built from is checked.
        roles: component name -> the :class:`Role` it plays, e.g.
            ``{"generator": "generator", "discriminator": "discriminator"}``;
            components that play none of them (a text encoder, an energy-based
            or autoregressive network) are left out. Added in API 1.2.
        auxiliary: for a network trained on an objective of its own to serve
            another model (a text encoder, a classifier that scores translations),
            the name of the model it serves. It draws no images, so it need not
            declare ``sample``; it is trained with ``genzoo train`` like any
            model, usually as a stage of that model's recipe. Added in API 1.3.
        sample_options: option name -> :mod:`genzoo_core.schema` field, the
            keyword options ``sample`` accepts besides ``condition`` and
            ``seed`` (an iterative sampler's ``steps``, a guidance weight); each
            is checked against its field and handed to ``generate``. The CLI's
            ``--steps``, ``--guidance`` and ``--sampler`` and ``evaluate``'s
            ``sample_options`` pass only what a model declares. Added in API 1.4.
        component_use: component name -> ``"inference"`` (only sampling needs
            it: an averaged copy of the weights) or ``"training"`` (only
            training needs it); components left out serve both. Published files
            leave the training-only components out, and a weights file records
            each component's use. Added in API 1.4.
        distribution: the installed distribution that registered it (set by the
            registry).
        version: that distribution's version (set by the registry).
    """

    name: str
    builder: str
    description: str = ""
    components: tuple[str, ...] = ()
    condition: Condition = Condition.UNCONDITIONAL
    capabilities: frozenset[Capability] = frozenset({Capability.SAMPLE})
    default_config: Mapping[str, Any] = field(default_factory=dict)
    weights: tuple[WeightsSpec, ...] = ()
    config_schema: Mapping[str, _schema.Field] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)
    auxiliary: str = ""
    sample_options: Mapping[str, _schema.Field] = field(default_factory=dict)
    component_use: Mapping[str, str] = field(default_factory=dict)
    distribution: str = ""
    version: str = ""

    def __post_init__(self) -> None:
        # Accept plain strings and lists from plugin authors; store the canonical types.
        what = f"ModelSpec {self.name!r}"
        for attr in ("name", "builder", "description", "auxiliary", "distribution", "version"):
            if not isinstance(getattr(self, attr), str):
                raise PluginError(f"{what}: {attr} must be a string, got "
                                  f"{getattr(self, attr)!r}")
        object.__setattr__(self, "condition", _enum(Condition, self.condition,
                                                    f"{what}: condition"))
        capabilities = self.capabilities
        if isinstance(capabilities, (str, Capability)) or not isinstance(
            capabilities, (list, tuple, set, frozenset)
        ):
            raise PluginError(f"{what}: capabilities must be a list, got {capabilities!r}")
        object.__setattr__(self, "capabilities", frozenset(
            _enum(Capability, c, f"{what}: capability") for c in capabilities
        ))
        object.__setattr__(self, "components", _strings(self.components, f"{what}: components"))
        if isinstance(self.weights, WeightsSpec) or not isinstance(self.weights, (list, tuple)):
            raise PluginError(f"{what}: weights must be a list of WeightsSpec, got "
                              f"{self.weights!r}")
        for entry in self.weights:
            if not isinstance(entry, WeightsSpec):
                raise PluginError(f"{what}: weights must be WeightsSpec entries, got {entry!r}")
        object.__setattr__(self, "weights", tuple(self.weights))
        if not isinstance(self.default_config, Mapping):
            raise PluginError(f"{what}: default_config must be a dict, got "
                              f"{type(self.default_config).__name__}")
        object.__setattr__(self, "default_config", dict(self.default_config))
        if not isinstance(self.config_schema, Mapping) or not all(
            isinstance(rule, _schema.Field) for rule in self.config_schema.values()
        ):
            raise PluginError(f"{what}: config_schema must map config keys to "
                              f"genzoo_core.schema fields")
        object.__setattr__(self, "config_schema", dict(self.config_schema))
        if not isinstance(self.roles, Mapping) or not all(
            isinstance(component, str) for component in self.roles
        ):
            raise PluginError(f"{what}: roles must map component names to roles, got "
                              f"{self.roles!r}")
        object.__setattr__(self, "roles", {
            component: _enum(Role, role, f"{what}: role of component {component!r}")
            for component, role in self.roles.items()
        })
        if not isinstance(self.sample_options, Mapping) or not all(
            isinstance(option, str) and isinstance(rule, _schema.Field)
            for option, rule in self.sample_options.items()
        ):
            raise PluginError(f"{what}: sample_options must map option names to "
                              f"genzoo_core.schema fields, got {self.sample_options!r}")
        object.__setattr__(self, "sample_options", dict(self.sample_options))
        if not isinstance(self.component_use, Mapping) or not all(
            isinstance(component, str) and use in COMPONENT_USES
            for component, use in self.component_use.items()
        ):
            raise PluginError(f"{what}: component_use must map component names to "
                              f"'inference' or 'training', got {self.component_use!r}")
        object.__setattr__(self, "component_use", dict(self.component_use))

    def validate(self) -> None:
        """Raise :class:`PluginError` naming the first problem with this spec."""
        if not NAME_PATTERN.match(self.name):
            raise PluginError(
                f"model name {self.name!r} is invalid: use lowercase letters, digits, '-' "
                f"and '_', starting with a letter ({NAME_PATTERN.pattern})"
            )
        if not re.fullmatch(r"[\w.]+:[\w.]+", self.builder):
            raise PluginError(
                f"model '{self.name}': builder {self.builder!r} must be 'package.module:Class'"
            )
        if not self.components:
            raise PluginError(f"model '{self.name}': list at least one component")
        unknown = sorted(set(self.roles) - set(self.components))
        if unknown:
            raise PluginError(
                f"model '{self.name}': roles name component(s) {', '.join(unknown)} that "
                f"components does not list ({', '.join(self.components)})"
            )
        unknown = sorted(set(self.component_use) - set(self.components))
        if unknown:
            raise PluginError(
                f"model '{self.name}': component_use names component(s) {', '.join(unknown)} "
                f"that components does not list ({', '.join(self.components)})"
            )
        if self.component_use and all(
            self.component_use.get(c) == "training" for c in self.components
        ):
            raise PluginError(f"model '{self.name}': component_use marks every component "
                              f"'training'; sampling needs at least one")
        reserved = {"n", "condition", "seed"}
        for option in self.sample_options:
            if not SAMPLE_OPTION_NAME.match(option) or option in reserved:
                raise PluginError(
                    f"model '{self.name}': sample option {option!r} must be a lowercase "
                    f"identifier other than n, condition and seed"
                )
        if self.auxiliary and not NAME_PATTERN.fullmatch(self.auxiliary):
            raise PluginError(f"model '{self.name}': auxiliary must name the model it serves, "
                              f"got {self.auxiliary!r}")
        if Capability.SAMPLE not in self.capabilities and not self.auxiliary:
            raise PluginError(
                f"model '{self.name}': every model must declare 'sample' (a network that draws "
                f"no images, trained to serve another model, sets auxiliary='THAT_MODEL')"
            )
        try:
            json.dumps(self.default_config)
        except (TypeError, ValueError) as exc:
            raise PluginError(
                f"model '{self.name}': default_config is not JSON-serialisable ({exc})"
            ) from exc
        stray = sorted(set(self.config_schema) - set(self.default_config))
        if stray:
            raise PluginError(
                f"model '{self.name}': config_schema names key(s) {', '.join(stray)} that "
                f"default_config lacks"
            )
        try:
            _schema.check_config(self.name, self.default_config, self.default_config,
                                 self.config_schema)
        except ConfigError as exc:
            raise PluginError(f"its default_config breaks its config_schema: {exc}") from None
        seen = set()
        for w in self.weights:
            w.validate(self.name)
            if w.name in seen:
                raise PluginError(f"model '{self.name}': weights '{w.name}' listed twice")
            seen.add(w.name)

    def components_for(self, use: str) -> tuple[str, ...]:
        """The components that ``use`` (``"inference"`` or ``"training"``) needs, in order.

        A component serves both unless :attr:`component_use` marks it for the other.
        """
        if use not in COMPONENT_USES:
            raise ValueError(f"use must be one of {COMPONENT_USES}, got {use!r}")
        return tuple(c for c in self.components if self.component_use.get(c, use) == use)

    def check_sample_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` checked against :attr:`sample_options`; a ConfigError names the first fault.

        ``None`` values are dropped (the model's default applies).
        """
        options = {k: v for k, v in options.items() if v is not None}
        unknown = sorted(set(options) - set(self.sample_options))
        if unknown:
            declared = ", ".join(sorted(self.sample_options))
            has = (f"it takes {declared}" if declared
                   else "it draws in one pass and takes none")
            raise ConfigError(
                f"'{self.name}' has no sampling option(s) {', '.join(unknown)} ({has}): "
                f"drop {', '.join(unknown)}"
            )
        for option, value in options.items():
            try:
                self.sample_options[option].check(option, value)
            except ConfigError as exc:
                raise ConfigError(str(exc).replace("config key", "sampling option", 1)) from None
        return options

    @property
    def package(self) -> str:
        """The top-level import package of the plugin (where packaged weights live)."""
        return self.builder.split(":", 1)[0].split(".", 1)[0]

    def get_weights(self, name: str | None) -> WeightsSpec:
        """Return the weights entry called ``name`` (the default one for ``None``)."""
        if not self.weights:
            raise UnknownNameError(
                f"model '{self.name}' ships no pretrained weights: train it with "
                f"'genzoo train {self.name} ...' and pass the resulting .h5 file instead"
            )
        if name is None:
            return self.weights[0]
        for w in self.weights:
            if w.name == name:
                return w
        available = ", ".join(f"{self.name}/{w.name}" for w in self.weights)
        raise UnknownNameError(
            f"model '{self.name}' has no weights '{name}'; available: {available}"
        )

    def load_class(self) -> type:
        """Import and return the model class named by :attr:`builder`.

        Raises:
            PluginError: the import failed, whatever the plugin's code raised.
        """
        owner = f" from {self.distribution}" if self.distribution else ""
        return _import(self.builder, f"the class of model '{self.name}'{owner}")

    def build(self, config: Mapping[str, Any] | None = None, *, cls: type | None = None) -> Any:
        """Build this spec's model from ``config`` and hand this spec in.

        The model's ``spec`` is this very object (for a registry's spec, the copy
        that knows :attr:`distribution` and :attr:`version`), so building never
        looks the model up in a registry. Every place that builds a model from a
        spec goes through here; a class instantiated directly (``MyModel(config)``)
        keeps its class-level ``spec``.

        Args:
            config: the configuration, passed to the class as it is (the class
                merges it over :attr:`default_config` and checks it).
            cls: the class to build, when it is not :meth:`load_class` (a subclass
                of it, say); default: the class :attr:`builder` names.

        Raises:
            PluginError: the class cannot be imported.
        """
        cls = self.load_class() if cls is None else cls
        token = _BUILDING.set((cls, self))
        try:
            return cls(None if config is None else dict(config))
        finally:
            _BUILDING.reset(token)

    @property
    def training_keys(self) -> frozenset[str]:
        """Config keys that change training but not the variables (may change on resume)."""
        return frozenset(_schema.training_keys(self.default_config, self.config_schema))

    def check_config(self, config: Mapping[str, Any]) -> None:
        """Raise :class:`ConfigError` naming the first key whose value breaks its rule."""
        _schema.check_config(self.name, config, self.default_config, self.config_schema)

    def resolve_config(
        self, config: Mapping[str, Any] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """Merge ``config`` and ``overrides`` over the defaults, refusing unknown keys.

        The result is checked against :attr:`config_schema` (types and ranges), so
        a model is never built from a config that could not have been meant.
        """
        if config is not None and not isinstance(config, Mapping):
            raise ConfigError(
                f"the config of model '{self.name}' must be a JSON object of key: value "
                f"pairs, got {type(config).__name__}"
            )
        merged = dict(self.default_config)
        for source in (config or {}), overrides:
            unknown = sorted(set(source) - set(merged))
            if unknown:
                raise ConfigError(
                    f"model '{self.name}' has no config key(s) {', '.join(unknown)}; "
                    f"valid keys: {', '.join(sorted(merged))}"
                )
            merged.update(source)
        self.check_config(merged)
        return merged


def spec_being_built(cls: type) -> ModelSpec | None:
    """The spec whose :meth:`ModelSpec.build` is building ``cls`` now, else ``None``.

    Only an instance of exactly that class takes it: a different model that the
    one being built creates inside its own ``__init__`` keeps its class's spec.
    """
    building = _BUILDING.get()
    if building is not None and building[0] is cls:
        return building[1]
    return None
