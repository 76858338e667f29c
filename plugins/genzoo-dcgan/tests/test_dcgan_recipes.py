"""The recipes of the shipped dcgan weights: one per file, and none drifts from its file.

``check_recipe`` (the conformance kit's) checks that each shipped weight has a
recipe whose last stage spells out the whole config its file stores; the test
below checks what the model card says of the training besides. That every
recipe runs is the core's tests/test_shipped_recipes.py.
"""

from __future__ import annotations

import pytest

import genzoo_core
from genzoo_core.testing import check_recipe

MODEL = "dcgan"
SHIPPED = [entry.name for entry in genzoo_core.get_spec(MODEL).weights]


@pytest.mark.parametrize("name", SHIPPED)
def test_recipe_is_what_the_shipped_file_was_made_with(name):
    recipe = check_recipe(f"{MODEL}/{name}").to_dict()
    [stage] = recipe["stages"]
    _, path = genzoo_core.resolve_weights(f"{MODEL}/{name}")
    header = genzoo_core.read_header(path)
    assert stage["dataset"] == name
    assert header.metadata["dataset"] == f"{name}:train"
    assert stage["epochs"] == header.metadata["metrics"]["epochs"]
    assert stage["steps_per_epoch"] == 60000 // stage["batch_size"]  # one pass, full batches
    assert stage["learning_rate_schedule"] == {"kind": "constant"}
    assert stage["seed"] == 0
    assert recipe["evaluate"]["split"] == "test" and recipe["evaluate"]["n"] == 10000

