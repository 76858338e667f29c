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
    """Train a model on a dataset; resume if the output folder holds a checkpoint."""
    from genzoo_core.api import train
    from genzoo_core.spec import NAME_PATTERN

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
        verbose=0 if args.quiet else "auto",
        tensorboard=args.tensorboard,
    )
    print(f"trained weights: {(Path(args.out) / FINAL_NAME).resolve()}")
    return 0
