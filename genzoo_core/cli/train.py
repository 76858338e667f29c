"""``genzoo train``: train a model on a dataset, resuming from the run folder."""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genzoo_core.cli.common import _at_least
from genzoo_core.errors import ConfigError, GenzooError
from genzoo_core.registry import Registry


def _parse_config(pairs: Sequence[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--config takes KEY=VALUE, got {pair!r}")
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    return config


def cmd_train(args: argparse.Namespace, registry: Registry) -> int:
    """Train a model on a dataset, or run a recipe; resume if the output folder holds a run."""
    from genzoo_core.api import train
    from genzoo_core.spec import NAME_PATTERN

    if args.recipe is not None:
        return _train_recipe(args, registry)
    missing = [flag for flag, value in (("MODEL", args.name), ("--data", args.data),
                                        ("--epochs", args.epochs)) if value is None]
    if missing:
        raise GenzooError(f"genzoo train needs {', '.join(missing)} (e.g. genzoo train gan "
                          f"--data mnist --epochs 5 --out runs/gan), or --recipe MODEL/WEIGHTS")
    if args.seed is not None:
        raise GenzooError("--seed goes with --recipe; a plain run's seed is the trainer's (0)")
    if not NAME_PATTERN.fullmatch(args.name):
        raise GenzooError(
            f"'{args.name}' is not a model name (lowercase, like 'gan'): see 'genzoo list'"
        )
    _at_least(1, epochs=args.epochs, batch_size=args.batch_size,
              steps_per_epoch=args.steps_per_epoch)
    spec = registry.get_model(args.name)  # fail fast, before TensorFlow loads
    config = _parse_config(args.config) or None
    if config is not None:
        spec.resolve_config(config)  # unknown keys and bad values, before TensorFlow loads
    from genzoo_core.trainer import FINAL_NAME

    strategy = None
    if args.strategy == "mirrored":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
    command = "genzoo " + " ".join(shlex.quote(a) for a in args.argv)
    train(
        args.name,
        args.data,
        args.out,
        epochs=args.epochs,
        config=config,
        batch_size=args.batch_size,
        strategy=strategy,
        steps_per_epoch=args.steps_per_epoch,
        metadata={"training_command": command},
        registry=registry,
        precision=args.precision,
        verbose=0 if args.quiet else "auto",
        tensorboard=args.tensorboard,
        jit_compile=args.jit,
    )
    print(f"trained weights: {(Path(args.out) / FINAL_NAME).resolve()}")
    return 0


def _train_recipe(args: argparse.Namespace, registry: Registry) -> int:
    """``genzoo train --recipe NAME --out DIR``: every stage, overrides recorded."""
    from genzoo_core.recipes import get_recipe, run_recipe

    if args.name is not None or args.data is not None:
        raise GenzooError("--recipe names the model and dataset itself: drop "
                          f"{'the model name' if args.name is not None else '--data'}")
    if args.strategy != "default":
        raise GenzooError("--strategy is not available with --recipe yet; run the stages "
                          "with genzoo train MODEL --strategy mirrored")
    _at_least(1, epochs=args.epochs, batch_size=args.batch_size,
              steps_per_epoch=args.steps_per_epoch)
    _at_least(0, seed=args.seed)
    recipe = get_recipe(args.recipe, registry=registry)
    config = _parse_config(args.config) or None
    recipe = recipe.with_overrides(config=config, epochs=args.epochs,
                                   batch_size=args.batch_size,
                                   steps_per_epoch=args.steps_per_epoch, seed=args.seed,
                                   precision=args.precision)
    for stage in recipe.stages:  # unknown keys and bad values, before TensorFlow loads
        registry.get_model(stage.model).resolve_config(stage.config)
    command = "genzoo " + " ".join(shlex.quote(a) for a in args.argv)
    run_recipe(recipe, args.out, registry=registry, command=command,
               verbose=0 if args.quiet else "auto", tensorboard=args.tensorboard,
               jit_compile=args.jit)
    final = recipe.stage_dir(args.out, recipe.final_stage) / "model.h5"
    print(f"trained weights: {final.resolve()}")
    print(f"publish them with: genzoo publish {args.out} --as {recipe.name}")
    return 0
