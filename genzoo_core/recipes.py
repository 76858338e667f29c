"""Recipes: how a pretrained weight is made, as data that travels with the weights.

A recipe is a TOML file inside a plugin's package, ``<package>/recipes/*.toml``,
one per pretrained weight. It names the weights it makes (``name =
"dcgan/mnist"``) and holds everything a rebuild needs: the model config, the
dataset, the trainer settings (epochs, batch size, steps per epoch, seed,
learning-rate schedule, precision), the evaluation protocol, how the result is
stored when published, and, for weights made in several steps, the stages in
order. Each stage is one ``genzoo train`` run; a stage may start from an earlier
stage's final weights (``init``), component by component.

A one-stage recipe::

    name = "gan/mnist"
    description = "The vanilla GAN on MNIST"
    dataset = "mnist"

    [config]                  # overrides of the model's default config
    latent_dim = 100

    [train]
    epochs = 50
    batch_size = 128
    seed = 0

    [evaluate]                # keyword arguments of genzoo_core.evaluate
    n = 10000
    # sample_options = { steps = 50 }   # an iterative sampler's options, if it has any

    [publish]
    precision = "auto"        # float16 only where samples stay within tolerance
    tolerance = 0.02

Several stages: ``[[stages]]`` tables, each with ``name`` and any of ``model``,
``dataset``, ``config`` (merged over the top-level one for the recipe's own
model), the keys of ``[train]``, and ``init``::

    [[stages]]
    name = "text-encoder"
    model = "stackgan-text-encoder"
    epochs = 40

    [[stages]]
    name = "stage1"
    config = { stage = 1 }
    epochs = 20
    init = [{ stage = "text-encoder", components = { text_encoder = "text_encoder" } }]

``genzoo train --recipe NAME --out DIR`` runs it (resumable: a finished stage is
skipped, an interrupted one resumes from its checkpoint, after its ``init`` is
applied again for what the checkpoint does not hold); each stage's run
folder is ``DIR/<stage>`` (``DIR`` itself for a one-stage recipe), and
``DIR/recipe.json`` records the recipe as run, overrides included. Every
``model.h5`` stores the recipe and the per-epoch times of each stage, so any
weights file says how to rebuild it.
"""

from __future__ import annotations

import copy
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genzoo_core.errors import ConfigError, GenzooError
from genzoo_core.precision import DEFAULT_PRECISION, check_precision
from genzoo_core.precision import TRAINING_PRECISIONS as _TRAINING_PRECISIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

RECIPE_FORMAT = 1
"""The recipe format this core reads and writes (``recipe_format`` in a recipe)."""

RECIPE_FILE = "recipe.json"
"""The recipe as run, written into the recipe run's folder."""

SCHEDULE_KINDS = ("constant", "linear-decay", "step", "cosine")
"""Learning-rate schedules: a multiplier of each optimizer's configured rate, per epoch."""

TRAINING_PRECISIONS = _TRAINING_PRECISIONS
"""Precisions a stage may train in: ``float32`` (the default), ``mixed_bfloat16`` and
``mixed_float16`` (on a GPU); see :mod:`genzoo_core.precision`."""

STORAGE_PRECISIONS = ("auto", "float32", "float16")
"""How ``genzoo publish`` stores the weights (``auto``: float16 where measured harmless)."""

TRAIN_KEYS = ("epochs", "batch_size", "steps_per_epoch", "seed", "precision",
              "learning_rate_schedule")
STAGE_KEYS = ("name", "model", "dataset", "config", "init", *TRAIN_KEYS)
TOP_KEYS = ("name", "description", "recipe_format", "model", "dataset", "config", "train",
            "stages", "evaluate", "publish", "overrides", "notes")
PUBLISH_KEYS = ("precision", "tolerance")
DEFAULT_TOLERANCE = 0.02


class RecipeError(ConfigError):
    """A recipe is malformed, unknown, or cannot run as written."""


@dataclass(frozen=True)
class LearningRateSchedule:
    """A per-epoch multiplier of every optimizer's configured learning rate.

    Kinds:

    - ``constant``: 1 throughout.
    - ``linear-decay``: 1 until ``start_epoch``, then linearly to ``final`` at
      the last epoch (pix2pix and CycleGAN's schedule).
    - ``step``: multiplied by ``factor`` every ``every`` epochs.
    - ``cosine``: 1 until ``start_epoch``, then a half cosine down to ``final``.
    """

    kind: str = "constant"
    start_epoch: int = 0
    every: int = 0
    factor: float = 1.0
    final: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULE_KINDS:
            raise RecipeError(f"learning_rate_schedule kind must be one of "
                              f"{', '.join(SCHEDULE_KINDS)}, got {self.kind!r}")
        if self.kind == "step" and (not isinstance(self.every, int) or self.every < 1):
            raise RecipeError("a 'step' learning_rate_schedule needs every = N (epochs, >= 1)")
        for key in ("factor", "final"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                0 <= value <= 1e3
            ):
                raise RecipeError(f"learning_rate_schedule {key} must be a number >= 0, "
                                  f"got {value!r}")
        if isinstance(self.start_epoch, bool) or not isinstance(self.start_epoch, int) or (
            self.start_epoch < 0
        ):
            raise RecipeError(f"learning_rate_schedule start_epoch must be an integer >= 0, "
                              f"got {self.start_epoch!r}")

    @classmethod
    def parse(cls, value: Any) -> LearningRateSchedule:
        """A schedule from ``None``, a kind name, a mapping, or a schedule."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls(kind=value)
        if not isinstance(value, Mapping):
            raise RecipeError(f"learning_rate_schedule must be a kind name or a table, "
                              f"got {value!r}")
        known = ("kind", "start_epoch", "every", "factor", "final")
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise RecipeError(f"learning_rate_schedule: unknown key(s) {', '.join(unknown)}; "
                              f"known: {', '.join(known)}")
        return cls(**dict(value))

    def multiplier(self, epoch: int, epochs: int) -> float:
        """The multiplier for 0-based ``epoch`` of a run of ``epochs`` epochs."""
        if self.kind == "constant":
            return 1.0
        if self.kind == "step":
            return float(self.factor ** (epoch // self.every))
        if epoch < self.start_epoch:
            return 1.0
        span = max(epochs - self.start_epoch, 1)
        if self.kind == "linear-decay":
            # Reaches ``final`` one epoch after the last: the last epoch still learns a little.
            progress = (epoch - self.start_epoch + 1) / (span + 1)
            return 1.0 - (1.0 - self.final) * progress
        progress = (epoch - self.start_epoch) / span
        return self.final + (1.0 - self.final) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def to_dict(self) -> dict[str, Any]:
        """The schedule as recipe data (only what differs from the defaults)."""
        default = LearningRateSchedule()
        out: dict[str, Any] = {"kind": self.kind}
        for key in ("start_epoch", "every", "factor", "final"):
            if getattr(self, key) != getattr(default, key):
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Init:
    """Start a stage from an earlier stage's final weights.

    Attributes:
        stage: the earlier stage of the same recipe.
        components: this model's component -> the earlier model's component; empty
            means every component the two share by name.
    """

    stage: str
    components: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The init as recipe data."""
        out: dict[str, Any] = {"stage": self.stage}
        if self.components:
            out["components"] = dict(self.components)
        return out


@dataclass(frozen=True)
class Stage:
    """One ``genzoo train`` run of a recipe."""

    name: str
    model: str
    dataset: str
    config: Mapping[str, Any]
    epochs: int
    batch_size: int | None = None
    steps_per_epoch: int | None = None
    seed: int = 0
    precision: str = DEFAULT_PRECISION
    learning_rate_schedule: LearningRateSchedule = field(default_factory=LearningRateSchedule)
    init: tuple[Init, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The stage as recipe data."""
        out: dict[str, Any] = {"name": self.name, "model": self.model,
                               "dataset": self.dataset, "config": dict(self.config),
                               "epochs": self.epochs, "seed": self.seed,
                               "precision": self.precision,
                               "learning_rate_schedule": self.learning_rate_schedule.to_dict()}
        if self.batch_size is not None:
            out["batch_size"] = self.batch_size
        if self.steps_per_epoch is not None:
            out["steps_per_epoch"] = self.steps_per_epoch
        if self.init:
            out["init"] = [i.to_dict() for i in self.init]
        return out


@dataclass(frozen=True)
class Recipe:
    """How one pretrained weight (``MODEL/WEIGHTS``) is made, evaluated and stored.

    Attributes:
        name: ``"MODEL/WEIGHTS"``, the weights this recipe makes.
        description: one line.
        stages: the training runs, in order; the last one makes the weights.
        evaluate: keyword arguments of :func:`genzoo_core.evaluate` (the protocol).
        publish: ``precision`` (``auto``, ``float32``, ``float16``) and ``tolerance``
            (the largest change of a sample value ``auto`` accepts for float16).
        overrides: what a run changed from the recipe as shipped (recorded).
        notes: free text for the model card (e.g. how the shipped file differs).
        source: the file it was read from ("" when built in code).
    """

    name: str
    stages: tuple[Stage, ...]
    description: str = ""
    evaluate: Mapping[str, Any] = field(default_factory=dict)
    publish: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""
    source: str = ""

    @property
    def model(self) -> str:
        """The model the weights are for."""
        return self.name.partition("/")[0]

    @property
    def weights(self) -> str:
        """The weights' name within the model."""
        return self.name.partition("/")[2]

    @property
    def final_stage(self) -> Stage:
        """The stage whose weights are the recipe's result."""
        return self.stages[-1]

    @property
    def storage_precision(self) -> str:
        """How the weights are stored when published."""
        return str(self.publish.get("precision", "auto"))

    @property
    def tolerance(self) -> float:
        """The largest sample change float16 storage may cause under ``auto``."""
        return float(self.publish.get("tolerance", DEFAULT_TOLERANCE))

    def stage_dir(self, out_dir: str | Path, stage: Stage | str) -> Path:
        """The run folder of ``stage`` under ``out_dir``."""
        name = stage if isinstance(stage, str) else stage.name
        return Path(out_dir) if len(self.stages) == 1 else Path(out_dir) / name

    def to_dict(self) -> dict[str, Any]:
        """The recipe as data (JSON-ready): what weights files store."""
        out: dict[str, Any] = {
            "recipe_format": RECIPE_FORMAT, "name": self.name,
            "description": self.description,
            "stages": [s.to_dict() for s in self.stages],
            "evaluate": dict(self.evaluate), "publish": dict(self.publish),
        }
        if self.overrides:
            out["overrides"] = copy.deepcopy(dict(self.overrides))
        if self.notes:
            out["notes"] = self.notes
        return out

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def with_overrides(
        self,
        *,
        config: Mapping[str, Any] | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        steps_per_epoch: int | None = None,
        seed: int | None = None,
        precision: str | None = None,
    ) -> Recipe:
        """A copy with single values changed, the change recorded in ``overrides``.

        ``config`` keys apply to the stages that train the recipe's own model;
        the trainer options (``precision`` among them, one of
        :data:`TRAINING_PRECISIONS`) apply to every stage.
        """
        if precision is not None:
            check_precision(precision)
        changes: dict[str, Any] = {}
        if config:
            changes["config"] = dict(config)
        for key, value in (("epochs", epochs), ("batch_size", batch_size),
                           ("steps_per_epoch", steps_per_epoch), ("seed", seed),
                           ("precision", precision)):
            if value is not None:
                changes[key] = value
        if not changes:
            return self
        stages = []
        for stage in self.stages:
            values: dict[str, Any] = {k: v for k, v in changes.items() if k != "config"}
            if config and stage.model == self.model:
                values["config"] = {**stage.config, **config}
            stages.append(_replace(stage, **values))
        recorded = {**copy.deepcopy(dict(self.overrides)), **changes}
        return _replace(self, stages=tuple(stages), overrides=recorded)


def _replace(obj: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(obj, **changes)


# -- reading -----------------------------------------------------------------------


def _unknown(table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    extra = sorted(set(table) - set(known))
    if extra:
        raise RecipeError(f"{where}: unknown key(s) {', '.join(map(repr, extra))}; "
                          f"known: {', '.join(known)}")


def _int(value: Any, key: str, where: str, minimum: int, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RecipeError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
    return value


def _table(value: Any, key: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecipeError(f"{where}: {key} must be a table, got {value!r}")
    return dict(value)


def _stage(raw: Mapping[str, Any], defaults: Mapping[str, Any], model: str,
           base_config: Mapping[str, Any], where: str, earlier: list[str]) -> Stage:
    _unknown(raw, STAGE_KEYS, where)
    merged = {**defaults, **raw}
    name = merged.get("name", "train")
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise RecipeError(f"{where}: stage name must be a plain folder name, got {name!r}")
    if name in earlier:
        raise RecipeError(f"{where}: two stages are named {name!r}: name each once")
    where = f"{where} (stage {name!r})"
    stage_model = merged.get("model", model)
    dataset = merged.get("dataset")
    if not isinstance(stage_model, str) or not stage_model:
        raise RecipeError(f"{where}: model must be a model name, got {stage_model!r}")
    if not isinstance(dataset, str) or not dataset:
        raise RecipeError(f"{where}: needs dataset = \"NAME\" (a registered dataset)")
    config = _table(raw.get("config"), "config", where)
    if stage_model == model:
        config = {**base_config, **config}
    precision = merged.get("precision", DEFAULT_PRECISION)
    if precision not in TRAINING_PRECISIONS:
        raise RecipeError(f"{where}: precision must be one of {', '.join(TRAINING_PRECISIONS)}, "
                          f"got {precision!r}")
    inits = []
    for item in merged.get("init", []) or []:
        if not isinstance(item, Mapping) or "stage" not in item:
            raise RecipeError(f"{where}: each init is a table with stage = \"NAME\", got {item!r}")
        _unknown(item, ("stage", "components"), f"{where} init")
        if item["stage"] not in earlier:
            raise RecipeError(f"{where}: init names stage {item['stage']!r}, which is not an "
                              f"earlier stage ({', '.join(earlier) or 'none'})")
        components = item.get("components", {})
        if isinstance(components, (list, tuple)):
            components = {c: c for c in components}
        if not isinstance(components, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in components.items()
        ):
            raise RecipeError(f"{where}: init components must map component names, got "
                              f"{components!r}")
        inits.append(Init(item["stage"], dict(components)))
    try:
        schedule = LearningRateSchedule.parse(merged.get("learning_rate_schedule"))
    except RecipeError as exc:
        raise RecipeError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise RecipeError(f"{where}: learning_rate_schedule: {exc}") from None
    return Stage(
        name=name, model=stage_model, dataset=dataset, config=config,
        epochs=_int(merged.get("epochs"), "epochs", where, 1),
        batch_size=_int(merged.get("batch_size"), "batch_size", where, 1, optional=True),
        steps_per_epoch=_int(merged.get("steps_per_epoch"), "steps_per_epoch", where, 1,
                             optional=True),
        seed=_int(merged.get("seed", 0), "seed", where, 0),
        precision=precision, learning_rate_schedule=schedule, init=tuple(inits),
    )


def recipe_from_dict(data: Mapping[str, Any], source: str = "") -> Recipe:
    """Build and check a :class:`Recipe` from its data (a parsed TOML or stored JSON)."""
    from genzoo_core.spec_enums import NAME_PATTERN

    where = f"recipe {source}" if source else "recipe"
    if not isinstance(data, Mapping):
        raise RecipeError(f"{where}: must be a table, got {type(data).__name__}")
    _unknown(data, TOP_KEYS, where)
    name = data.get("name")
    model, sep, weights = name.partition("/") if isinstance(name, str) else ("", "", "")
    if not (sep and NAME_PATTERN.fullmatch(model) and NAME_PATTERN.fullmatch(weights)):
        raise RecipeError(f"{where}: needs name = \"MODEL/WEIGHTS\" (the weights it makes), "
                          f"got {name!r}")
    where = f"recipe '{name}'" + (f" ({source})" if source else "")
    fmt = data.get("recipe_format", RECIPE_FORMAT)
    if fmt != RECIPE_FORMAT:
        raise RecipeError(f"{where}: recipe_format {fmt!r} is not {RECIPE_FORMAT}, the one "
                          f"this genzoo-core reads: pip install -U genzoo-core")
    train = _table(data.get("train"), "train", where)
    _unknown(train, TRAIN_KEYS, f"{where} [train]")
    defaults = {**train}
    for key in ("model", "dataset"):
        if key in data:
            defaults[key] = data[key]
    base_config = _table(data.get("config"), "config", where)
    raw_stages = data.get("stages")
    if raw_stages is None:
        raw_stages = [{}]
    if not isinstance(raw_stages, list) or not raw_stages:
        raise RecipeError(f"{where}: stages must be a list of [[stages]] tables")
    stages: list[Stage] = []
    for raw in raw_stages:
        if not isinstance(raw, Mapping):
            raise RecipeError(f"{where}: each [[stages]] entry must be a table, got {raw!r}")
        stages.append(_stage(raw, defaults, model, base_config, where,
                             [s.name for s in stages]))
    if stages[-1].model != model:
        raise RecipeError(f"{where}: the last stage trains '{stages[-1].model}', but the "
                          f"recipe makes '{name}': the last stage must train '{model}'")
    evaluate = _table(data.get("evaluate"), "evaluate", where)
    if "sample_options" in evaluate:  # the model checks the values; the shape is checked here
        _table(evaluate["sample_options"], "[evaluate] sample_options", where)
    publish = _table(data.get("publish"), "publish", where)
    _unknown(publish, PUBLISH_KEYS, f"{where} [publish]")
    if publish.get("precision", "auto") not in STORAGE_PRECISIONS:
        raise RecipeError(f"{where} [publish]: precision must be one of "
                          f"{', '.join(STORAGE_PRECISIONS)}, got {publish['precision']!r}")
    tolerance = publish.get("tolerance", DEFAULT_TOLERANCE)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise RecipeError(f"{where} [publish]: tolerance must be a number >= 0, got "
                          f"{tolerance!r}")
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        raise RecipeError(f"{where}: notes must be a string")
    return Recipe(
        name=name, stages=tuple(stages), description=str(data.get("description", "")),
        evaluate=evaluate, publish=publish,
        overrides=_table(data.get("overrides"), "overrides", where), notes=notes,
        source=source,
    )


def read_recipe(path: str | Path) -> Recipe:
    """Read a recipe from a ``.toml`` file (or a ``.json`` one, as runs record them)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecipeError(f"cannot read recipe {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(raw.decode("utf-8"))
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise RecipeError(f"recipe {path} is not valid {kind}: {exc}") from None
    return recipe_from_dict(data, str(path))


def recipe_files(package: str) -> list[Path]:
    """The recipe files shipped in ``package`` (``<package>/recipes/*.toml``), sorted."""
    import importlib.util

    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    if found is None or not found.submodule_search_locations:
        return []
    files: list[Path] = []
    for location in found.submodule_search_locations:
        folder = Path(location) / "recipes"
        if folder.is_dir():
            files.extend(sorted(folder.glob("*.toml")))
    return files


def spec_package(spec: Any) -> str:
    """The top-level package of a model's code (where its recipes and weights live)."""
    return str(spec.builder).partition(":")[0].split(".")[0]


def recipes_of(spec: Any) -> dict[str, Recipe]:
    """The recipes of the model ``spec`` describes, by ``MODEL/WEIGHTS`` name.

    A file in the package's ``recipes/`` folder that does not parse is an error
    naming it: a plugin ships only recipes that read.
    """
    found: dict[str, Recipe] = {}
    for path in recipe_files(spec_package(spec)):
        recipe = read_recipe(path)
        if recipe.model == spec.name:
            if recipe.name in found:
                raise RecipeError(f"two recipes make '{recipe.name}': {found[recipe.name].source} "
                                  f"and {path}; keep one")
            found[recipe.name] = recipe
    return found


def get_recipe(name: str, *, registry: Any = None) -> Recipe:
    """The recipe of ``MODEL/WEIGHTS`` shipped by its plugin, or of a recipe file path.

    Raises:
        RecipeError: no such recipe (the message lists the model's recipes).
    """
    if name.endswith((".toml", ".json")) or Path(name).is_file():
        return read_recipe(name)
    if registry is None:
        from genzoo_core.registry import default_registry

        registry = default_registry()
    model, sep, weights = name.partition("/")
    spec = registry.get_model(model)
    recipes = recipes_of(spec)
    if not sep:
        default = spec.weights[0].name if spec.weights else None
        if default and f"{model}/{default}" in recipes:
            return recipes[f"{model}/{default}"]
        if len(recipes) == 1:
            return next(iter(recipes.values()))
    if name in recipes:
        return recipes[name]
    known = ", ".join(sorted(recipes)) or "none"
    raise RecipeError(f"no recipe '{name}' in {spec.distribution or 'its plugin'} (recipes of "
                      f"'{model}': {known}); a recipe is a TOML file in the plugin's recipes/ "
                      f"folder, or pass the path of one")


# -- running -----------------------------------------------------------------------


def _check_recipe_dir(recipe: Recipe, out_dir: Path) -> None:
    """Refuse an ``out_dir`` holding a run of another recipe; record this one."""
    from genzoo_core._files import atomic_path

    record = out_dir / RECIPE_FILE
    if record.is_file():
        try:
            before = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            before = {}
        if isinstance(before, dict) and before.get("name") not in (None, recipe.name):
            raise RecipeError(f"{out_dir} holds a run of recipe '{before.get('name')}', not "
                              f"'{recipe.name}': pick another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(record) as tmp:
        Path(tmp).write_text(recipe.to_json() + "\n", encoding="utf-8")


def stage_record(recipe: Recipe, out_dir: str | Path, stage: Stage) -> dict[str, Any]:
    """What a finished stage's ``model.h5`` says of it: epochs, per-epoch times, final losses."""
    from genzoo_core.run import read_checkpoint_header
    from genzoo_core.weights import read_header

    folder = recipe.stage_dir(out_dir, stage)
    final = folder / "model.h5"
    header = read_header(final) if final.is_file() else read_checkpoint_header(folder)
    metadata = header.metadata if header is not None else {}
    seconds = metadata.get("epoch_seconds", [])
    metrics = metadata.get("metrics", {}) if isinstance(metadata.get("metrics"), dict) else {}
    return {"name": stage.name, "model": stage.model, "epochs": len(seconds),
            "epoch_seconds": seconds, "train_seconds": round(float(sum(seconds)), 1),
            "final": {k: v for k, v in metrics.items()
                      if k not in ("epochs", "train_seconds_this_run")}}


def run_recipe(
    recipe: Recipe,
    out_dir: str | Path,
    *,
    registry: Any = None,
    command: str = "",
    verbose: int | str = "auto",
    tensorboard: bool = False,
    strategy: Any = None,
    callbacks: Any = (),
    jit_compile: bool | str | None = None,
) -> Any:
    """Run every stage of ``recipe`` into ``out_dir`` and return the final model.

    ``callbacks`` (Keras callbacks) are passed to every stage's trainer: a
    benchmark's per-epoch evaluation, say.

    ``jit_compile`` is each stage's :class:`~genzoo_core.Trainer` option
    (``True``, ``False``, ``"auto"``; ``None`` follows ``GENZOO_JIT``, else ``"auto"``).

    Resumable: a stage whose ``model.h5`` is complete is skipped, an interrupted
    one resumes from its checkpoint. Each stage's weights store the recipe, the
    stage's name and the records (per-epoch times, final losses) of the stages
    before it; the last stage's ``model.h5`` is the recipe's result.
    """
    from genzoo_core.backend import require_tensorflow

    require_tensorflow("training")
    import keras
    import tensorflow as tf

    from genzoo_core.api import _registry, load, with_batch_size
    from genzoo_core.data import load_data
    from genzoo_core.precision import check_device, precision_scope
    from genzoo_core.run import Run
    from genzoo_core.trainer import Trainer

    registry = _registry(registry)
    out = Path(out_dir)
    for stage in recipe.stages:  # unknown models and datasets, before any training
        registry.get_model(stage.model)
        registry.get_dataset(stage.dataset)
        check_device(stage.precision)  # mixed_float16 without a GPU
    _check_recipe_dir(recipe, out)
    strategy = strategy or tf.distribute.get_strategy()
    model = None
    records: list[dict[str, Any]] = []
    for stage in recipe.stages:
        folder = recipe.stage_dir(out, stage)
        spec = registry.get_model(stage.model)
        if _finished(folder, stage):
            # Nothing to train: not even the stage's data is prepared again.
            if verbose:
                print(f"recipe {recipe.name}: stage '{stage.name}' already complete ({folder})")
            records.append(stage_record(recipe, out, stage))
            model = None
            continue
        run = Run(folder)
        fresh = run.header() is None
        keras.utils.set_random_seed(stage.seed)  # the same initial weights on every rebuild
        # The layers take the stage's precision as they are built (and keep it).
        with strategy.scope(), precision_scope(stage.precision):
            model = spec.build(run.config_for(
                spec, with_batch_size(spec, stage.config, stage.batch_size)))
        # Also when the stage resumes: what init sets and the checkpoint does not hold (a
        # frozen network a model keeps outside its components) must be set again; the
        # checkpoint then restores everything it holds over the init.
        for init in stage.init:
            source = load(str(recipe.stage_dir(out, init.stage) / "model.h5"),
                          registry=registry)
            left = model.initialize_from(source, init.components or None)
            if left and verbose and fresh:
                print(f"{stage.name}: not in stage '{init.stage}', starting as built: "
                      f"{', '.join(left)}")
        data = load_data(stage.dataset, registry=registry, condition=spec.condition)
        metadata = {
            "dataset": f"{stage.dataset}:train",
            "recipe": recipe.to_dict(),
            "recipe_stage": stage.name,
            "training_command": command or f"genzoo train --recipe {recipe.name}",
        }
        if records:
            metadata["earlier_stages"] = records
        trainer = Trainer(model, run, strategy=strategy, batch_size=stage.batch_size,
                          seed=stage.seed, learning_rate_schedule=stage.learning_rate_schedule,
                          verbose=verbose, tensorboard=tensorboard, metadata=metadata,
                          callbacks=list(callbacks), jit_compile=jit_compile)
        if verbose:
            print(f"recipe {recipe.name}: stage '{stage.name}' ({stage.model} on "
                  f"{stage.dataset}, {stage.epochs} epochs) -> {folder}")
        trainer.fit(data, epochs=stage.epochs, steps_per_epoch=stage.steps_per_epoch)
        records.append(stage_record(recipe, out, stage))
    if model is None:  # the last stage was already complete
        model = load(str(recipe.stage_dir(out, recipe.final_stage) / "model.h5"),
                     registry=registry)
    return model


def _finished(folder: Path, stage: Stage) -> bool:
    """Whether ``folder`` holds the stage's finished run: its ``model.h5`` at its epochs."""
    from genzoo_core.run import read_checkpoint_header

    if not (folder / "model.h5").is_file():
        return False
    header = read_checkpoint_header(folder)
    return header is not None and header.training_state.get("epoch") == stage.epochs


def final_weights(run_dir: str | Path) -> tuple[Path, Recipe | None]:
    """The finished weights of a run folder (a recipe run or a plain one), and its recipe.

    Raises:
        GenzooError: the folder holds no finished run (says what to do).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise GenzooError(f"{run_dir} is not a run folder (made by genzoo train --out)")
    recipe = None
    record = run_dir / RECIPE_FILE
    if record.is_file():
        recipe = read_recipe(record)
        final = recipe.stage_dir(run_dir, recipe.final_stage) / "model.h5"
    else:
        final = run_dir / "model.h5"
    if not final.is_file():
        raise GenzooError(f"{run_dir} holds no finished run ({final} is missing): let "
                          f"'genzoo train' finish (it resumes), then publish")
    if recipe is None:
        from genzoo_core.weights import read_header

        stored = read_header(final).metadata.get("recipe")
        if isinstance(stored, dict):
            recipe = recipe_from_dict(stored, str(final))
    return final, recipe


__all__ = [
    "DEFAULT_TOLERANCE",
    "RECIPE_FILE",
    "RECIPE_FORMAT",
    "SCHEDULE_KINDS",
    "STORAGE_PRECISIONS",
    "TRAINING_PRECISIONS",
    "Init",
    "LearningRateSchedule",
    "Recipe",
    "RecipeError",
    "Stage",
    "final_weights",
    "get_recipe",
    "read_recipe",
    "recipe_files",
    "recipe_from_dict",
    "recipes_of",
    "run_recipe",
    "spec_package",
    "stage_record",
]
