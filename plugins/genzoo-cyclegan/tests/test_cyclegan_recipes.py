"""The recipes of the shipped cyclegan weights: one per file, and none drifts from its file.

``check_recipe`` (the conformance kit's) checks that each shipped weight has a
recipe whose last stage spells out the whole config its file stores; the test
below checks what the model card says of the training besides. That every
recipe runs is the core's tests/test_shipped_recipes.py.
"""

from __future__ import annotations

import pytest

import genzoo_core
from genzoo_core.testing import check_recipe

MODEL = "cyclegan"
SHIPPED = [entry.name for entry in genzoo_core.get_spec(MODEL).weights]


@pytest.mark.parametrize("name", SHIPPED)
def test_recipe_is_what_the_shipped_file_was_made_with(name):
    recipe = check_recipe(f"{MODEL}/{name}").to_dict()
    [stage] = recipe["stages"]
    _, path = genzoo_core.resolve_weights(f"{MODEL}/{name}")
    header = genzoo_core.read_header(path)
    assert stage["dataset"] == name
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

