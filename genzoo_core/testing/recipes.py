"""A check for a plugin's tests: a pretrained weight's recipe spells out what its file stores.

Not one of the kit's :data:`~genzoo_core.testing.CHECKS` (a model without
pretrained weights has nothing to check); a plugin calls it for each shipped
weight::

    from genzoo_core.testing import check_recipe

    @pytest.mark.parametrize("name", ["mymodel/mnist"])
    def test_the_recipe_is_what_made_the_file(name):
        recipe = check_recipe(name)
        assert recipe.final_stage.epochs == 50      # and what else the model card states
"""

from __future__ import annotations

from typing import Any


def check_recipe(name: str, *, registry: Any = None) -> Any:
    """Check the recipe of pretrained weights ``MODEL/WEIGHTS`` against the shipped file.

    The plugin ships a recipe that makes ``name``; its last stage trains the
    model on the dataset the file records; and the last stage's config (with
    the stage's batch size, a trainer setting that the model's config also
    holds) resolves to exactly the config the file stores, so the recipe cannot
    drift from the weights it describes. Returns the recipe, for further checks.

    Raises:
        AssertionError: naming what differs.
    """
    from genzoo_core.api import _registry, resolve_weights
    from genzoo_core.recipes import get_recipe
    from genzoo_core.weights import read_header

    registry = _registry(registry)
    recipe = get_recipe(name, registry=registry)
    if recipe.name != name:
        raise AssertionError(f"the recipe found for {name} makes {recipe.name}")
    spec, path = resolve_weights(name, registry=registry)
    header = read_header(path)
    stage = recipe.final_stage
    if stage.model != spec.name:
        raise AssertionError(f"the last stage of {name}'s recipe trains '{stage.model}'")
    trained_on = str(header.metadata.get("dataset", "")).split(":")[0].split(" ")[0]
    if trained_on and trained_on != stage.dataset:
        raise AssertionError(f"{name} was trained on '{trained_on}', its recipe's last stage "
                             f"on '{stage.dataset}'")
    config = dict(stage.config)
    if stage.batch_size is not None and "batch_size" in header.config:
        config["batch_size"] = stage.batch_size
    expected, stored = spec.resolve_config(config), spec.resolve_config(header.config)
    differ = sorted(k for k in set(expected) | set(stored) if expected.get(k) != stored.get(k))
    if differ:
        shown = ", ".join(f"{k}: recipe {expected.get(k)!r}, file {stored.get(k)!r}"
                          for k in differ[:5])
        raise AssertionError(f"{name}'s recipe differs from its file's config: {shown}")
    return recipe


__all__ = ["check_recipe"]
