"""Every pretrained weight the installed plugins ship has a recipe, and every recipe runs.

These tests use the plugins installed beside the core (not the throw-away
ones of the other core tests). Each recipe runs all of its stages for one
epoch of two steps on the real data, through ``genzoo train --recipe``.
"""

from __future__ import annotations

import pytest
from conftest import run_cli

from genzoo_core.registry import Registry


def installed() -> Registry:
    return Registry()


def shipped_weights() -> list[str]:
    return [f"{spec.name}/{w.name}" for spec in installed().models.values()
            for w in spec.weights]


def all_recipes() -> list[str]:
    from genzoo_core.recipes import recipes_of

    return sorted(name for spec in installed().models.values() for name in recipes_of(spec))


@pytest.mark.parametrize("name", shipped_weights())
def test_every_shipped_weight_has_a_recipe_that_names_it(name):
    from genzoo_core.recipes import get_recipe

    recipe = get_recipe(name, registry=installed())
    assert recipe.name == name
    registry = installed()
    for stage in recipe.stages:  # every stage's model and dataset are registered
        registry.get_model(stage.model).resolve_config(stage.config)
        registry.get_dataset(stage.dataset)


@pytest.mark.parametrize("name", all_recipes())
def test_every_recipe_runs_all_its_stages_on_real_data(name, tmp_path, capsys, genzoo_data):
    from genzoo_core.recipes import get_recipe
    from genzoo_core.weights import read_header

    genzoo_data(".")  # skips, saying why, without the real datasets
    registry = installed()
    recipe = get_recipe(name, registry=registry)
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--recipe", name, "--out", str(out), "--epochs", "1",
                            "--steps-per-epoch", "2", "-q"], registry, capsys)
    assert code == 0, err
    final = recipe.stage_dir(out, recipe.final_stage) / "model.h5"
    metadata = read_header(final).metadata
    assert metadata["recipe"]["name"] == name
    assert metadata["recipe"]["overrides"] == {"epochs": 1, "steps_per_epoch": 2}
    assert len(metadata["epoch_seconds"]) == 1
    assert [s["name"] for s in metadata.get("earlier_stages", [])] == \
        [s.name for s in recipe.stages[:-1]]


def test_a_short_recipe_run_published_into_a_copy_of_its_plugin_loads_by_name(
    tmp_path, capsys, genzoo_data
):
    """gan/mnist end to end: recipe run, publish into a copy of genzoo-gan, load by name.

    The copy's package is put first on the path of a fresh process, so its
    plugin module (the same entry point) reads the manifest publish wrote.
    """
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    genzoo_data(".")
    registry = installed()
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--recipe", "gan/mnist", "--out", str(out), "--epochs",
                            "1", "--steps-per-epoch", "2", "-q"], registry, capsys)
    assert code == 0, err
    source = Path(__file__).resolve().parents[1] / "plugins" / "genzoo-gan"
    copy = tmp_path / "genzoo-gan"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                "__pycache__", "tests"))
    code, printed, err = run_cli(["publish", str(out), "--as", "gan/mnist", "--into", str(copy),
                                  "-n", "200", "-q"], registry, capsys)
    assert code == 0, err
    (entry,) = json.loads((copy / "genzoo_gan" / "weights" / "manifest.json").read_text())[
        "weights"]
    probe = ("import genzoo_core, json; spec = genzoo_core.get_spec('gan'); "
             "model = genzoo_core.load('gan/mnist'); "
             "print(json.dumps([spec.weights[0].sha256, spec.weights[0].size, "
             "model.sample(2, seed=0).shape[1:]]))")
    env = {**os.environ, "PYTHONPATH": str(copy), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    sha256, size, shape = json.loads(result.stdout.strip().splitlines()[-1])
    assert sha256 == entry["sha256"] and size == entry["size"] and shape == [28, 28, 1]
    assert entry["recipe"] == "gan/mnist" and "fid" in entry["metrics"]
