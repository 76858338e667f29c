"""``genzoo train``: train a model on a dataset, resuming from the run folder."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from genzoo_core.cli.common import _at_least
from genzoo_core.distribute import (
    ClusterConfig,
    check_strategy,
    lost_worker_error,
    make_strategy,
)
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


def _start_strategy(args: argparse.Namespace) -> tuple[ClusterConfig | None, Any]:
    """``--strategy``'s cluster (multi-worker) and strategy, made before any other TF op.

    A bad TF_CONFIG and a backend other than TensorFlow are each said in one line
    first; a multi-worker strategy says which worker this is before it waits for the rest.
    """
    from genzoo_core.backend import require_tensorflow

    cluster = check_strategy(args.strategy)  # a bad TF_CONFIG, before TensorFlow loads
    require_tensorflow("training")  # training is TensorFlow's alone: said before it starts
    if cluster is not None and not args.quiet:
        role = "chief, writes the run folder" if cluster.is_chief else "not the chief"
        print(f"multi-worker: {cluster.task_type} {cluster.task_index} of "
              f"{cluster.num_workers} ({role}); waiting for every worker in TF_CONFIG to start",
              flush=True)
    return cluster, make_strategy(args.strategy)


@contextlib.contextmanager
def _lost_workers(cluster: ClusterConfig | None, out: str) -> Iterator[None]:
    """Say in one line, and how to resume, when a multi-worker job loses a worker."""
    try:
        yield
    except Exception as exc:
        error = lost_worker_error(exc, cluster, out) if cluster is not None else None
        if error is None:
            raise
        raise error from exc


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
    from genzoo_core.run_files import FINAL_NAME

    # Before any other TensorFlow operation: multi-worker sets up the collective ops.
    cluster, strategy = _start_strategy(args)
    command = "genzoo " + " ".join(shlex.quote(a) for a in args.argv)
    with _lost_workers(cluster, args.out):
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
    # Every stage trains under it; made before any other TensorFlow operation.
    cluster, strategy = _start_strategy(args)
    command = "genzoo " + " ".join(shlex.quote(a) for a in args.argv)
    with _lost_workers(cluster, args.out):
        run_recipe(recipe, args.out, registry=registry, command=command,
                   verbose=0 if args.quiet else "auto", tensorboard=args.tensorboard,
                   jit_compile=args.jit, strategy=strategy)
    final = recipe.stage_dir(args.out, recipe.final_stage) / "model.h5"
    print(f"trained weights: {final.resolve()}")
    print(f"publish them with: genzoo publish {args.out} --as {recipe.name}")
    return 0
