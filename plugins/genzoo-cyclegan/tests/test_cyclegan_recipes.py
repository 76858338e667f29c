"""The recipes of the shipped cyclegan weights: one per file, and none drifts from its file.

Each shipped ``cyclegan/<weights>`` has ``genzoo_cyclegan/recipes/<weights>.toml``. The
recipe is read the way ``genzoo train --recipe`` reads it (``genzoo info cyclegan``
shows every recipe as the core parsed it), and what it spells out must be what
the shipped file stores: the whole config, the batch size, the epochs and the
dataset. That every recipe runs is the core's tests/test_shipped_recipes.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import genzoo_cyclegan
import pytest

import genzoo_core

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 reads TOML with tomli, as genzoo_core.recipes does
    tomllib = pytest.importorskip("tomli")

MODEL = "cyclegan"
SHIPPED = [entry.name for entry in genzoo_core.get_spec(MODEL).weights]
RECIPES = Path(genzoo_cyclegan.__file__).parent / "recipes"


def run_genzoo(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    genzoo = Path(sys.executable).parent / "genzoo"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([str(genzoo), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture(scope="module")
def info() -> dict:
    result = run_genzoo("info", MODEL, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_shipped_weight_has_its_recipe_file(info):
    assert SHIPPED
    for name in SHIPPED:
        path = RECIPES / f"{name}.toml"
        assert path.is_file(), f"no recipe {path} for the shipped {MODEL}/{name}"
        assert tomllib.loads(path.read_text(encoding="utf-8"))["name"] == f"{MODEL}/{name}"
    assert info["recipes"] == sorted(f"{MODEL}/{name}" for name in SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_recipe_is_what_the_shipped_file_was_made_with(info, name):
    entry = next(w for w in info["weights"] if w["name"] == f"{MODEL}/{name}")
    recipe = entry["recipe"]
    assert recipe is not None, f"genzoo info finds no recipe for {MODEL}/{name}"
    [stage] = recipe["stages"]
    _, path = genzoo_core.resolve_weights(f"{MODEL}/{name}")
    header = genzoo_core.read_header(path)
    # The whole stored config is spelled out, batch size included (a trainer setting).
    assert {**stage["config"], "batch_size": stage["batch_size"]} == header.config
    assert stage["model"] == MODEL and stage["dataset"] == name
    assert header.metadata["dataset"].startswith(f"{name}:train")
    assert stage["epochs"] == header.metadata["metrics"]["epochs"]
    assert stage["steps_per_epoch"] == 150 // stage["batch_size"]  # one pass over 150 + 150
    # The decay is the model's own (LinearDecay over the config's epochs and
    # decay_epochs): the trainer's schedule stays constant, and the model's schedule
    # ends with the run only if the two epoch counts agree.
    assert stage["learning_rate_schedule"] == {"kind": "constant"}
    assert stage["config"]["epochs"] == stage["epochs"]
    assert 0 < stage["config"]["decay_epochs"] <= stage["epochs"]
    assert stage["seed"] == 0
    assert recipe["evaluate"]["split"] == "test"
    assert recipe["evaluate"]["n"] == 40  # all 40 + 40 test photos, as the card's metrics

