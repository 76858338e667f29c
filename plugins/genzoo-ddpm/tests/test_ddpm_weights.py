"""The shipped ddpm weights: each made by its recipe, holding the average alone, and scoring.

``check_recipe`` (the conformance kit's) checks that each shipped weight has a
recipe whose last stage spells out the whole config its file stores. The other
tests check what the model card says of the files.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import genzoo_core
from genzoo_core.testing import check_recipe, require_data

SHIPPED = [f"{model}/{entry.name}" for model in ("ddpm", "ddpm-guided")
           for entry in genzoo_core.get_spec(model).weights]


@pytest.mark.parametrize("name", SHIPPED)
def test_recipe_is_what_the_shipped_file_was_made_with(name):
    recipe = check_recipe(name).to_dict()
    [stage] = recipe["stages"]
    _, path = genzoo_core.resolve_weights(name)
    header = genzoo_core.read_header(path)
    assert stage["epochs"] == len(header.metadata["epoch_seconds"])
    assert stage["seed"] == 0
    assert recipe["evaluate"]["split"] == "test"


@pytest.mark.parametrize("name", SHIPPED)
def test_published_files_hold_only_the_averaged_network(name):
    _, path = genzoo_core.resolve_weights(name)
    with h5py.File(path) as f:
        assert list(f["components"]) == ["ema_denoiser"]
        assert f["components"]["ema_denoiser"].attrs["use"] == "inference"


@pytest.mark.skipif(not any(n.startswith("ddpm-guided/") for n in SHIPPED),
                    reason="no ddpm-guided weights are shipped")
def test_guided_samples_follow_their_labels_as_guidance_rises():
    """Guidance 0 ignores the label; at 4 most samples show it (0.07 and 0.72 on 300)."""
    require_data("mnist.npz")
    model = genzoo_core.load("ddpm-guided/mnist")
    labels = np.repeat(np.arange(10), 4)
    classifier = genzoo_core.get_feature_extractor("mnist-cnn")
    accuracy = {}
    for guidance in (0.0, 4.0):
        images = model.sample(40, condition=labels, seed=0, steps=20, guidance=guidance)
        _, probabilities = classifier.extract(images)
        accuracy[guidance] = (probabilities.argmax(1) == labels).mean()
    assert accuracy[0.0] <= 0.3 and accuracy[4.0] >= 0.5, accuracy
