"""What a plugin (or the core) declares of an evaluation metric: :class:`MetricSpec`.

A metric is registered by name through the ``genzoo_register_metrics`` hook. Its
spec says which models it scores (their data condition and capabilities), which
of the dataset's scoring classifiers it needs (``DatasetSpec.classifiers``), and
whether it belongs to the default suite of those models. The scorer is an import
string, imported only when the metric runs. Like every spec it imports nothing
heavy; it is importable from :mod:`genzoo_core.spec` and :mod:`genzoo_core.plugin`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from genzoo_core.errors import PluginError
from genzoo_core.spec_checks import _enum, _import
from genzoo_core.spec_enums import NAME_PATTERN, Capability, Condition

__all__ = ["MetricSpec"]


@dataclass(frozen=True)
class MetricSpec:
    """A named evaluation metric for ``genzoo eval --metrics NAME``.

    Attributes:
        name: e.g. ``"fid"`` or ``"domain_accuracy"`` (the name ``--metrics`` takes).
        scorer: import string of a function ``(context) -> dict[str, float]``, where
            ``context`` is a :class:`genzoo_core.evaluation.EvaluationContext`. The
            keys are the reported values (``"fid"``, or ``"fid_ab"`` and ``"fid_ba"``;
            ``"kid"`` with ``"kid_std"``); keys ending in ``_std`` are shown as ``±``.
        description: one line for ``genzoo metrics``.
        conditions: the data conditions of the models it scores; empty: every one.
        capabilities: what the model must offer (e.g. ``("log_prob",)``).
        classifiers: the purposes of the dataset's scoring classifiers it needs
            (``DatasetSpec.classifiers``, e.g. ``("domain",)``); a dataset that names
            none of them leaves the metric out of the default suite.
        default: part of the default suite of the models it applies to.
        distribution: the distribution that registered it (set by the registry).
    """

    name: str
    scorer: str
    description: str = ""
    conditions: tuple[Condition, ...] = ()
    capabilities: tuple[Capability, ...] = ()
    classifiers: tuple[str, ...] = ()
    default: bool = True
    distribution: str = ""

    def __post_init__(self) -> None:
        what = f"MetricSpec {self.name!r}"
        for attr in ("name", "scorer", "description", "distribution"):
            if not isinstance(getattr(self, attr), str):
                raise PluginError(f"{what}: {attr} must be a string, got "
                                  f"{getattr(self, attr)!r}")
        for attr, enum in (("conditions", Condition), ("capabilities", Capability)):
            value = getattr(self, attr)
            if isinstance(value, (str, Condition, Capability)) or not isinstance(
                value, (tuple, list, frozenset, set)
            ):
                raise PluginError(f"{what}: {attr} must be a tuple of names, got {value!r}")
            object.__setattr__(self, attr, tuple(_enum(enum, v, f"{what}: {attr}")
                                                 for v in value))
        if isinstance(self.classifiers, str) or not isinstance(self.classifiers, (tuple, list)):
            raise PluginError(f"{what}: classifiers must be a tuple of purposes, got "
                              f"{self.classifiers!r}")
        object.__setattr__(self, "classifiers", tuple(self.classifiers))
        if not all(isinstance(c, str) and NAME_PATTERN.match(c) for c in self.classifiers):
            raise PluginError(f"{what}: every classifier purpose must be a name such as "
                              f"'domain', got {self.classifiers!r}")
        if not isinstance(self.default, bool):
            raise PluginError(f"{what}: default must be True or False, got {self.default!r}")

    def validate(self) -> None:
        """Raise :class:`PluginError` if this spec is malformed."""
        if not NAME_PATTERN.match(self.name) or "-" in self.name:
            raise PluginError(
                f"metric name {self.name!r} is invalid: use lowercase letters, digits and "
                f"'_', starting with a letter"
            )
        if not re.fullmatch(r"[\w.]+:[\w.]+", self.scorer):
            raise PluginError(f"metric '{self.name}': scorer must be 'package.module:function'")

    def applies_to(self, condition: Condition, capabilities: Any) -> bool:
        """Whether a model of this data condition and these capabilities can be scored."""
        if self.conditions and condition not in self.conditions:
            return False
        return all(c in capabilities for c in self.capabilities)

    def load(self) -> Any:
        """Import the scorer and return it."""
        owner = f" from {self.distribution}" if self.distribution else ""
        return _import(self.scorer, f"the scorer of metric '{self.name}'{owner}")
