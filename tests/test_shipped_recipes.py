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
