"""stackgan-attribute-classifier: the registered model behind the shapes-cnn extractor.

It trains like any model (a step has a finite loss and moves the weights), the
extractor is exactly the published weights' classifier (features from its
penultimate layer, attribute accuracy from its heads), and the recipe is what
the published file was made with.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from genzoo_stackgan import shapes
from genzoo_stackgan.classifier import (
    attribute_accuracy,
    held_out_accuracy,
    labelled,
    predict_attributes,
)
from genzoo_stackgan.plugin import ATTRIBUTE_CLASSIFIER, CLASSIFIER_METRICS

import genzoo_core
from genzoo_core import DataError, Trainer
from genzoo_core.plugin import CaptionedDataSource


def test_the_classifier_trains_a_step_with_a_finite_loss(tmp_path):
    model = genzoo_core.create("stackgan-attribute-classifier")
    before = [w.copy() for w in model.classifier.get_weights()]
    history = Trainer(model, tmp_path / "run", batch_size=16, verbose=0).fit(
        model.example_data(32), epochs=1)
    for key in ("loss", "shape_loss", "colour_loss", "size_loss"):
        assert np.all(np.isfinite(history.history[key])) and history.history[key][-1] > 0, key
    after = model.classifier.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_the_classifier_reads_the_attributes_of_a_shapes_split_and_refuses_other_data():
    data = genzoo_core.load_data("shapes", "test").take(50)
    attributes = labelled(data).attributes
    split = shapes.make_split("test")
    assert np.array_equal(attributes["shape"], split.shape[:50])
    assert np.array_equal(attributes["colour"], split.colour[:50])
    other = CaptionedDataSource("shapes:test", split.images[1:51], split.captions[1:51])
    with pytest.raises(DataError, match="--data shapes"):
        labelled(other)  # the name says shapes, the images are not that split's
    model = genzoo_core.create("stackgan-attribute-classifier", extra_renders=10)
    prepared = model.prepare_data(data)
    assert len(prepared) == 60
    assert np.array_equal(prepared.images[50:], shapes.generate(10, seed=10).images)


def test_the_extractor_is_the_published_classifier():
    model = genzoo_core.load(ATTRIBUTE_CLASSIFIER)  # by name: the manifest's sha256 is checked
    extractor = genzoo_core.get_feature_extractor("shapes-cnn")
    _, path = genzoo_core.resolve_weights(ATTRIBUTE_CLASSIFIER)
    assert extractor.sha256 == genzoo_core.sha256_file(path)
    data = shapes.generate(40, seed=12345)
    images = data.images.astype(np.float32) / 255.0
    features, probabilities = extractor.extract(images)
    classifier = model.classifier
    expected = keras.Model(classifier.input, classifier.get_layer("features").output)(images)
    assert probabilities is None and features.shape == (40, 128)
    np.testing.assert_allclose(features, np.asarray(expected), rtol=1e-5, atol=1e-5)
    # Images drawn for other captions than the reference's: the score is the classifier's
    # reading of these images against the reference renders' own attributes.
    reference = genzoo_core.load_data("shapes", "test").take(40)
    test = shapes.make_split("test")
    expected_scores = attribute_accuracy(predict_attributes(classifier, images),
                                         (test.shape[:40], test.colour[:40], test.size[:40]))
    assert extractor.attribute_accuracy(images, reference) == expected_scores
    assert 0 < expected_scores["shape"] < 1


def test_the_recipe_is_what_the_published_file_was_made_with():
    recipe = genzoo_core.get_recipe(ATTRIBUTE_CLASSIFIER)
    [stage] = recipe.stages
    _, path = genzoo_core.resolve_weights(ATTRIBUTE_CLASSIFIER)
    header = genzoo_core.read_header(path)
    assert header.model == "stackgan-attribute-classifier" == stage.model
    assert {**stage.config, "batch_size": stage.batch_size} == header.config
    assert header.metadata["recipe"]["stages"] == [stage.to_dict()]
    assert header.metadata["dataset"].startswith(f"{stage.dataset}:train")
    assert header.metadata["metrics"]["epochs"] == stage.epochs
    assert not recipe.overrides and recipe.storage_precision == "float32"


def test_the_published_classifier_scores_the_held_out_renders_as_recorded():
    scores = held_out_accuracy()
    assert {f"test_accuracy_{k}": scores[k] for k in ("shape", "colour", "size",
                                                      "position")} == CLASSIFIER_METRICS


def test_the_classifier_keeps_the_model_contract():
    from genzoo_core.testing import check_model

    def renders():
        return genzoo_core.create("stackgan-attribute-classifier").example_data(16)

    # train_data: the kit's own train data asks the model for a sample to learn the image
    # shape, which an auxiliary network refuses
    outcome = check_model("stackgan-attribute-classifier", train_data=renders)
    assert outcome["check_train_step"] == outcome["check_pretrained_weights"] == "passed"
