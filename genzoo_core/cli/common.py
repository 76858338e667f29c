"""Helpers that more than one ``genzoo`` command uses: tables, option checks, sample flags."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from genzoo_core.errors import GenzooError


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _at_least(minimum: int, **options: int | None) -> None:
    """Refuse any given option below ``minimum``, naming it as the user typed it."""
    for name, value in options.items():
        if value is not None and value < minimum:
            flag = f"-{name}" if len(name) == 1 else f"--{name.replace('_', '-')}"
            bound = "0 or more" if minimum == 0 else f"at least {minimum}"
            raise GenzooError(f"{flag} must be {bound}, got {value}")


def _check_parent(output: Path) -> None:
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise GenzooError(f"-o {output}: {parent} is a file, not a folder")
            return


SAMPLE_FLAGS = {"steps": "--steps", "guidance": "--guidance", "sampler": "--sampler",
                "eta": "--eta"}
"""Sampling option -> the flag of ``genzoo sample`` and ``genzoo eval`` that sets it."""


def add_sample_option_flags(parser: argparse.ArgumentParser) -> None:
    """``--steps``, ``--guidance``, ``--sampler`` and ``--eta``: options of iterative samplers."""
    parser.add_argument("--steps", type=int, default=None, metavar="N",
                        help="sampling steps of an iterative sampler (diffusion models)")
    parser.add_argument("--guidance", type=float, default=None, metavar="W",
                        help="guidance weight, for models that take one")
    parser.add_argument("--sampler", default=None, metavar="NAME",
                        help="which sampler draws the images, for models that offer several")
    parser.add_argument("--eta", type=float, default=None, metavar="X",
                        help="the sampler's noise scale (DDIM's eta), for models that take it")


def sample_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sampling options the user set with the flags of :func:`add_sample_option_flags`.

    Only those given are returned (a model keeps its defaults for the others);
    ``--steps`` below 1 is refused here, the rest by the model's spec.
    """
    _at_least(1, steps=getattr(args, "steps", None))
    return {option: getattr(args, option) for option in SAMPLE_FLAGS
            if getattr(args, option, None) is not None}


def check_sample_options(spec: Any, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` checked against ``spec``; a refusal names the flags as the user typed them."""
    from genzoo_core.errors import ConfigError

    unknown = [option for option in options if option not in spec.sample_options]
    if unknown:
        flags = ", ".join(SAMPLE_FLAGS.get(option, option) for option in unknown)
        declared = [SAMPLE_FLAGS.get(o, o) for o in spec.sample_options if o in SAMPLE_FLAGS]
        if declared:
            has = f"it takes {', '.join(declared)}"
        elif spec.sample_options:
            has = f"its sampling options {', '.join(spec.sample_options)} have no flag"
        else:
            has = "it draws in one pass and takes no sampling options"
        raise ConfigError(f"'{spec.name}' has no {flags} ({has}): drop {flags}")
    try:
        return spec.check_sample_options(options)
    except ConfigError as exc:
        message = str(exc)
        for option, flag in SAMPLE_FLAGS.items():
            message = message.replace(f"sampling option '{option}'", flag)
        raise ConfigError(message) from None


def model_spec(name: str, registry: Any) -> Any:
    """The spec of the model ``name`` (``MODEL``, ``MODEL/WEIGHTS`` or a weights file) names.

    Reads a file's header only; resolves and loads nothing else.
    """
    from genzoo_core.api import _is_path, _split_name, _weights_file

    if _is_path(name) and name.partition("/")[0] not in registry.models:
        from genzoo_core.weights import read_header

        return registry.get_model(read_header(_weights_file(name)).model)
    return registry.get_model(_split_name(name)[0])
