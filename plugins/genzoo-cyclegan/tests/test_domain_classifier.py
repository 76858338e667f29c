"""cyclegan-domain-classifier: the registered model behind the summer2winter-domain extractor.

It trains like any model (a step has a finite loss and moves the weights), the
extractor is exactly the published weights' classifier (features from its
penultimate layer, probabilities from its softmax), and the recipe is what the
published file was made with.
"""

from __future__ import annotations

import numpy as np
import pytest
from genzoo_cyclegan.plugin import DOMAIN_CLASSIFIER, DOMAIN_CLASSIFIER_METRICS

import genzoo_core
from genzoo_core import Trainer
from genzoo_core.plugin import UnpairedDataSource
from genzoo_core.testing import require_data

TINY = {"image_shape": [16, 16, 3], "filters": [4, 4], "feature_dim": 4}


def test_the_classifier_trains_a_step_with_a_finite_loss(tmp_path):
    model = genzoo_core.create("cyclegan-domain-classifier", **TINY)
    rng = np.random.default_rng(0)
    data = UnpairedDataSource("domains", rng.integers(0, 128, (8, 32, 32, 3), np.uint8),
                              rng.integers(128, 256, (8, 32, 32, 3), np.uint8),
                              jitter=True, mirror=True)
    before = [w.copy() for w in model.classifier.get_weights()]
    history = Trainer(model, tmp_path / "run", batch_size=4, verbose=0).fit(data, epochs=1)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] > 0
    after = model.classifier.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert model.classifier.output.shape[-1] == 2


def test_the_classifier_refuses_data_without_two_domains(tmp_path):
    from genzoo_core import DataError
    from genzoo_core.plugin import DataSource

    model = genzoo_core.create("cyclegan-domain-classifier", **TINY)
    images = np.zeros((8, 16, 16, 3), np.uint8)
    with pytest.raises(DataError, match="two unpaired image domains"):
        Trainer(model, tmp_path / "run", batch_size=4, verbose=0).fit(
            DataSource("plain", images), epochs=1)


def test_the_extractor_is_the_published_classifier():
    import keras

    model = genzoo_core.load(DOMAIN_CLASSIFIER)  # by name: the manifest's sha256 is checked
    extractor = genzoo_core.get_feature_extractor("summer2winter-domain")
    _, path = genzoo_core.resolve_weights(DOMAIN_CLASSIFIER)
    assert extractor.sha256 == genzoo_core.sha256_file(path)
    assert genzoo_core.get_spec("cyclegan-domain-classifier").get_weights(
        DOMAIN_CLASSIFIER.partition("/")[2]).sha256 == extractor.sha256
    images = np.random.default_rng(1).random((6, 64, 64, 3)).astype(np.float32)
    features, probabilities = extractor.extract(images)
    classifier = model.classifier
    expected_features = keras.Model(classifier.input,
                                    classifier.get_layer("features").output)(images)
    expected = keras.ops.softmax(classifier(images, training=False), axis=-1)
    assert features.shape == (6, 16) and probabilities.shape == (6, 2)
    np.testing.assert_allclose(features, np.asarray(expected_features), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probabilities, np.asarray(expected), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_the_recipe_is_what_the_published_file_was_made_with():
    recipe = genzoo_core.get_recipe(DOMAIN_CLASSIFIER)
    [stage] = recipe.stages
    _, path = genzoo_core.resolve_weights(DOMAIN_CLASSIFIER)
    header = genzoo_core.read_header(path)
    assert header.model == "cyclegan-domain-classifier" == stage.model
    assert {**stage.config, "batch_size": stage.batch_size} == header.config
    assert header.metadata["recipe"]["stages"] == [stage.to_dict()]
    assert header.metadata["dataset"] == f"{stage.dataset}:train"
    assert header.metadata["metrics"]["epochs"] == stage.epochs
    assert not recipe.overrides and recipe.storage_precision == "float32"


def test_the_published_classifier_scores_the_held_out_photos_as_recorded():
    require_data("cyclegan/summer2winter_yosemite/testA")
    from genzoo_cyclegan.domain import held_out_accuracy

    assert held_out_accuracy() == DOMAIN_CLASSIFIER_METRICS


def test_the_classifier_keeps_the_model_contract():
    from genzoo_core.testing import check_model

    def domains():
        rng = np.random.default_rng(0)
        return UnpairedDataSource("domains", rng.integers(0, 256, (8, 16, 16, 3), np.uint8),
                                  rng.integers(0, 256, (8, 16, 16, 3), np.uint8))

    # train_data: the kit's own train data asks the model for a sample to learn the image
    # shape, which an auxiliary network refuses
    outcome = check_model("cyclegan-domain-classifier", config=TINY, train_data=domains)
    assert outcome["check_train_step"] == outcome["check_pretrained_weights"] == "passed"
