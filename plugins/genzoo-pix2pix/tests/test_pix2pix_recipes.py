"""The recipes of pix2pix: the shipped maps weights' and their L1-only baseline's.

``pix2pix/maps`` has ``genzoo_pix2pix/recipes/maps.toml``, read the way ``genzoo
train --recipe`` reads it (``genzoo info pix2pix`` shows every recipe as the core
parsed it); what it spells out must be what the shipped file stores: the whole
config, the batch size, the epochs and the dataset. ``pix2pix/maps-l1-only`` (not
shipped) must stay the same run with the GAN term off, or the model card's
comparison no longer holds. That every recipe runs is the core's tests/test_shipped_recipes.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import genzoo_pix2pix
import pytest

import genzoo_core

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 reads TOML with tomli, as genzoo_core.recipes does
    tomllib = pytest.importorskip("tomli")

MODEL = "pix2pix"
SHIPPED = [entry.name for entry in genzoo_core.get_spec(MODEL).weights]
RECIPES = Path(genzoo_pix2pix.__file__).parent / "recipes"
BASELINE = "maps-l1-only"  # a recipe for a weight that is not shipped: the card's baseline


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
    assert SHIPPED == ["maps"]
    for name in [*SHIPPED, BASELINE]:
        path = RECIPES / f"{name}.toml"
        assert path.is_file(), f"no recipe {path}"
        assert tomllib.loads(path.read_text(encoding="utf-8"))["name"] == f"{MODEL}/{name}"
    # genzoo info parses every recipe file of the plugin (one that does not parse is an error)
    assert info["recipes"] == sorted(f"{MODEL}/{name}" for name in [*SHIPPED, BASELINE])


def test_maps_recipe_is_what_the_shipped_file_was_made_with(info):
    recipe = next(w for w in info["weights"] if w["name"] == f"{MODEL}/maps")["recipe"]
    assert recipe is not None, "genzoo info finds no recipe for pix2pix/maps"
    [stage] = recipe["stages"]
    _, path = genzoo_core.resolve_weights(f"{MODEL}/maps")
    header = genzoo_core.read_header(path)
    # The whole stored config is spelled out, batch size included (a trainer setting).
    assert {**stage["config"], "batch_size": stage["batch_size"]} == header.config
    assert stage["model"] == MODEL and stage["dataset"] == "maps"
    assert header.metadata["dataset"].startswith("maps:train")
    assert stage["epochs"] == header.metadata["metrics"]["epochs"]
    assert stage["steps_per_epoch"] == 150 // stage["batch_size"]  # one pass over 150 pairs
    assert stage["learning_rate_schedule"] == {"kind": "constant"}  # trained without decay
    assert stage["seed"] == 0
    # Stored in half precision, as the shipped file (every number of the card is its own).
    assert recipe["publish"]["precision"] == header.metadata["precision"] == "float16"
    assert recipe["evaluate"] == {"metrics": ["fid", "l1", "ssim", "sharpness"], "n": 50,
                                  "split": "val", "seed": 0}


def test_l1_only_baseline_is_the_maps_run_without_the_gan_term(info):
    maps = tomllib.loads((RECIPES / "maps.toml").read_text(encoding="utf-8"))
    baseline = tomllib.loads((RECIPES / f"{BASELINE}.toml").read_text(encoding="utf-8"))
    assert maps["config"]["adversarial_weight"] > 0
    assert baseline["config"] == {**maps["config"], "adversarial_weight": 0.0}
    for key in ("dataset", "train", "evaluate"):
        assert baseline[key] == maps[key], key
    assert baseline["publish"] == maps["publish"]

