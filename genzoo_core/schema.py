"""Config schemas: the type and range of every key of a model's configuration.

A model's config is plain JSON, and it reaches the model from places nobody
controls: ``--config KEY=VALUE`` on the command line, and the ``config``
attribute of any weights file. Before a model is built from it, every key is
checked against its :class:`Field`, so a width edited to 10**9 is a
:class:`~genzoo_core.ConfigError` naming the key, not gigabytes of memory.

A plugin declares the fields it wants checked more closely than by type in
``ModelSpec(config_schema={...})``; every other key is checked against the
type of its default value (an ``int`` default takes integers, a list of
integers takes lists of integers, and so on)::

    from genzoo_core import schema

    config_schema = {
        "image_shape": schema.Ints(length=3, min=1, max=512),
        "latent_dim": schema.Int(min=1, max=4096),
        "loss": schema.Choice("non-saturating", "hinge", training=True),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
    }

``training=True`` marks a key that changes how the model trains but not its
variables (learning rates, loss weights, the batch size): such keys may change
when a run resumes. Every other key is architecture and must stay as the
checkpoint has it. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genzoo_core.errors import ConfigError

KINDS = ("int", "float", "bool", "str", "choice", "ints", "floats", "strs", "any")


@dataclass(frozen=True)
class Field:
    """The rule for one config key.

    Attributes:
        kind: one of ``int``, ``float``, ``bool``, ``str``, ``choice``, ``ints``,
            ``floats``, ``strs`` (lists of those) or ``any`` (any JSON value).
        min: smallest allowed number (of the value, or of each list item).
        max: largest allowed number.
        min_inclusive: whether ``min`` itself is allowed.
        choices: the allowed values of a ``choice`` field.
        length: a list's exact length, or ``(shortest, longest)``.
        nullable: whether ``None`` (JSON null) is allowed.
        training: the key changes training, not the model's variables, so it
            may change when a run resumes.
        description: what the key means, for listings.
    """

    kind: str
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    choices: tuple[Any, ...] = ()
    length: int | tuple[int, int] | None = None
    nullable: bool = False
    training: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"schema field kind {self.kind!r} is not one of {', '.join(KINDS)}")

    # -- checking ---------------------------------------------------------------

    def check(self, key: str, value: Any) -> None:
        """Raise :class:`ConfigError` naming ``key`` unless ``value`` fits this field."""
        if value is None:
            if self.nullable:
                return
            raise ConfigError(f"config key '{key}' must be {self.describe()}, got null")
        kind = self.kind
        if kind == "any":
            return
        if kind in ("ints", "floats", "strs"):
            if not isinstance(value, (list, tuple)):
                raise ConfigError(
                    f"config key '{key}' must be {self.describe()}, got {_show(value)}"
                )
            self._check_length(key, value)
            item_kind = kind[:-1]
            for index, item in enumerate(value):
                self._check_scalar(f"{key}[{index}]", item, item_kind, key)
            return
        self._check_scalar(key, value, kind, key)

    def _check_length(self, key: str, value: Any) -> None:
        if self.length is None:
            return
        low, high = (self.length, self.length) if isinstance(self.length, int) else self.length
        if not low <= len(value) <= high:
            raise ConfigError(
                f"config key '{key}' must be {self.describe()}, got {len(value)} items "
                f"({_show(value)})"
            )

    def _check_scalar(self, where: str, value: Any, kind: str, key: str) -> None:
        ok = {
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "bool": lambda v: isinstance(v, bool),
            "str": lambda v: isinstance(v, str),
            "choice": lambda v: any(_same(v, c) for c in self.choices),
        }[kind](value)
        if not ok:
            raise ConfigError(f"config key '{where}' must be {self.describe()}, got {_show(value)}")
        if kind in ("int", "float"):
            if not math.isfinite(value):
                raise ConfigError(f"config key '{where}' must be a finite number, got {value}")
            too_low = self.min is not None and (
                value < self.min or (value == self.min and not self.min_inclusive)
            )
            too_high = self.max is not None and value > self.max
            if too_low or too_high:
                raise ConfigError(
                    f"config key '{where}' must be {self.describe()}, got {_show(value)}"
                )

    def describe(self) -> str:
        """The rule in words, e.g. ``an integer in [1, 1024]``."""
        noun = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "str": "a string",
            "choice": "one of " + ", ".join(repr(c) for c in self.choices),
            "ints": "a list of integers",
            "floats": "a list of numbers",
            "strs": "a list of strings",
            "any": "any JSON value",
        }[self.kind]
        if self.kind in ("int", "float", "ints", "floats") and (
            self.min is not None or self.max is not None
        ):
            low = "-inf" if self.min is None else _number(self.min)
            high = "inf" if self.max is None else _number(self.max)
            bracket = "[" if self.min_inclusive and self.min is not None else "("
            each = " each" if self.kind in ("ints", "floats") else ""
            noun += f"{each} in {bracket}{low}, {high}]"
        if self.length is not None:
            if isinstance(self.length, int):
                noun += f" of length {self.length}"
            else:
                noun += f" of length {self.length[0]} to {self.length[1]}"
        if self.nullable:
            noun += ", or null"
        return noun


def _same(value: Any, choice: Any) -> bool:
    return type(value) is type(choice) and value == choice


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- constructors ---------------------------------------------------------------------


def Int(  # noqa: N802 - reads like a type in a schema
    min: float | None = None,  # noqa: A002
    max: float | None = None,  # noqa: A002
    *,
    nullable: bool = False,
    training: bool = False,
    description: str = "",
) -> Field:
    """An integer (not a bool), optionally within ``[min, max]``."""
    return Field("int", min, max, nullable=nullable, training=training, description=description)


def Float(  # noqa: N802
    min: float | None = None,  # noqa: A002
    max: float | None = None,  # noqa: A002
    *,
    min_inclusive: bool = True,
    nullable: bool = False,
    training: bool = False,
    description: str = "",
) -> Field:
    """A finite number (integers are accepted), optionally within ``[min, max]``."""
    return Field("float", min, max, min_inclusive=min_inclusive, nullable=nullable,
                 training=training, description=description)


def Bool(*, training: bool = False, description: str = "") -> Field:  # noqa: N802
    """``true`` or ``false``."""
    return Field("bool", training=training, description=description)


def Str(*, nullable: bool = False, training: bool = False, description: str = "") -> Field:  # noqa: N802
    """Any string."""
    return Field("str", nullable=nullable, training=training, description=description)


def Choice(*choices: Any, training: bool = False, description: str = "") -> Field:  # noqa: N802
    """One of ``choices`` (compared with their type: ``1`` is not ``True``)."""
    if not choices:
        raise ConfigError("Choice() needs at least one choice")
    return Field("choice", choices=tuple(choices), training=training, description=description)


def Ints(  # noqa: N802
    *,
    length: int | tuple[int, int] | None = None,
    min: float | None = None,  # noqa: A002
    max: float | None = None,  # noqa: A002
    training: bool = False,
    description: str = "",
) -> Field:
    """A list of integers, each within ``[min, max]``; ``length`` exact or ``(low, high)``."""
    return Field("ints", min, max, length=length, training=training, description=description)


def Floats(  # noqa: N802
    *,
    length: int | tuple[int, int] | None = None,
    min: float | None = None,  # noqa: A002
    max: float | None = None,  # noqa: A002
    training: bool = False,
    description: str = "",
) -> Field:
    """A list of finite numbers, each within ``[min, max]``."""
    return Field("floats", min, max, length=length, training=training, description=description)


def Strs(  # noqa: N802
    *, length: int | tuple[int, int] | None = None, training: bool = False, description: str = ""
) -> Field:
    """A list of strings."""
    return Field("strs", length=length, training=training, description=description)


def Json(*, training: bool = False, description: str = "") -> Field:  # noqa: N802
    """Any JSON value (checked by the model itself when it is built)."""
    return Field("any", training=training, description=description)


# -- whole configs ----------------------------------------------------------------------


def infer_field(default: Any) -> Field:
    """The field a key without a declared rule gets: the type of its default value."""
    if default is None:
        return Field("any")
    if isinstance(default, bool):
        return Field("bool")
    if isinstance(default, int):
        return Field("int")
    if isinstance(default, float):
        return Field("float")
    if isinstance(default, str):
        return Field("str")
    if isinstance(default, (list, tuple)) and default:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in default):
            return Field("ints")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in default):
            return Field("floats")
        if all(isinstance(v, str) for v in default):
            return Field("strs")
    return Field("any")


def fields_for(
    defaults: Mapping[str, Any], schema: Mapping[str, Field] | None
) -> dict[str, Field]:
    """The rule of every key of ``defaults``: declared in ``schema`` or inferred."""
    schema = schema or {}
    return {key: schema.get(key) or infer_field(value) for key, value in defaults.items()}


def check_config(
    model: str,
    config: Mapping[str, Any],
    defaults: Mapping[str, Any],
    schema: Mapping[str, Field] | None = None,
) -> None:
    """Raise :class:`ConfigError` naming the first key of ``config`` that breaks its rule."""
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"the config of model '{model}' must be a JSON object of key: value pairs, "
            f"got {type(config).__name__}"
        )
    rules = fields_for(defaults, schema)
    for key, value in config.items():
        rule = rules.get(key)
        if rule is None:
            continue  # unknown keys are reported by ModelSpec.resolve_config
        try:
            rule.check(key, value)
        except ConfigError as error:
            raise ConfigError(f"model '{model}': {error}") from None


def training_keys(defaults: Mapping[str, Any], schema: Mapping[str, Field] | None) -> set[str]:
    """The keys marked ``training=True``: they may change when a run resumes."""
    return {key for key, rule in fields_for(defaults, schema).items() if rule.training}
