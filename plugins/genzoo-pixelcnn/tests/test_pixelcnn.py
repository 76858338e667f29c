"""genzoo-pixelcnn: causality, exact likelihood, fast sampling equal to naive, training."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

import genzoo_core
from genzoo_core import ConfigError, DataError, GenzooError, Trainer
from genzoo_core.plugin import DataSource
from genzoo_core.testing import require_data

TINY = {"filters": 4, "gated_layers": 3, "kernel_size": 3, "output_filters": 8}


def randomised(model, scale=0.5, seed=0):
    """Give every weight a random value, so that no output is trivially constant."""
    rng = np.random.default_rng(seed)
    for weight in model.pixelcnn.weights:
        weight.assign(rng.normal(0, scale, weight.shape))
    return model


def binarized_mnist(split: str, n: int):
    require_data("mnist.npz")
    return genzoo_core.load_data("binarized-mnist", split).take(n)


@pytest.mark.parametrize("layers", [1, 4])
def test_outputs_depend_only_on_earlier_pixels_and_there_is_no_blind_spot(layers):
    model = randomised(genzoo_core.create("pixelcnn", image_shape=[8, 8, 1],
                                          **{**TINY, "gated_layers": layers}))
    x = tf.Variable(np.random.default_rng(1).random((1, 8, 8, 1)).astype(np.float32))
    for i, j in [(0, 0), (3, 4), (5, 0), (7, 7)]:
        with tf.GradientTape() as tape:
            logit = model(x)[0, i, j, 0, 0]
        gradient = np.abs(tape.gradient(logit, x).numpy()[0, :, :, 0])
        later = np.array([[(a, b) >= (i, j) for b in range(8)] for a in range(8)])
        assert gradient[later].max() == 0.0, (i, j)  # pixel (i, j) and after: no influence
        if j > 0:
            assert gradient[i, j - 1] > 0  # the pixel to the left
        if i > 0:
            assert gradient[i - 1, j] > 0  # the pixel above
            if j + 1 < 8:
                # above and to the right: the original PixelCNN's blind spot
                assert gradient[i - 1, j + 1] > 0


def test_log_prob_is_an_exact_distribution_over_all_binary_images():
    model = randomised(genzoo_core.create("pixelcnn", image_shape=[2, 2, 1], **TINY))
    images = np.array(list(itertools.product([0.0, 1.0], repeat=4))).reshape(16, 2, 2, 1)
    assert np.exp(model.log_prob(images)).sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(("output", "classes"), [("bernoulli", 0), ("categorical", 0),
                                                 ("bernoulli", 3)])
def test_cached_sampling_equals_naive_sampling(output, classes):
    model = randomised(genzoo_core.create("pixelcnn", image_shape=[7, 6, 1], output=output,
                                          num_classes=classes, **TINY))
    labels = np.array([0, 2, 1, 2, 0]) if classes else None
    fast = model.sample(5, condition=labels, seed=11)
    naive, _ = model.sample_naive(5, condition=labels, seed=11)
    np.testing.assert_array_equal(fast, naive)
    assert not np.array_equal(fast, model.sample(5, condition=labels, seed=12))
    if output == "bernoulli":
        assert set(np.unique(fast)) == {0.0, 1.0}
    else:
        np.testing.assert_allclose(fast * 255, np.round(fast * 255), atol=1e-4)


@pytest.mark.parametrize("classes", [0, 3])
def test_deepening_keeps_the_distribution_until_training_moves_it(classes):
    model = randomised(genzoo_core.create("pixelcnn", image_shape=[6, 5, 1],
                                          num_classes=classes, **TINY), scale=0.3)
    labels = np.array([0, 2, 1, 0]) if classes else None
    images = np.random.default_rng(4).integers(0, 2, (4, 6, 5, 1)).astype(np.float32)
    deeper = model.deepened(5)
    assert deeper.config["gated_layers"] == 5 and model.config["gated_layers"] == 3
    assert len(deeper.pixelcnn.weights) > len(model.pixelcnn.weights)
    np.testing.assert_allclose(deeper.log_prob(images, condition=labels),
                               model.log_prob(images, condition=labels), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(deeper.sample(4, condition=labels, seed=2),
                                  model.sample(4, condition=labels, seed=2))
    # Once a new layer's residual projection moves, so does the distribution.
    residual = deeper.pixelcnn.get_layer("residual_4")
    residual.set_weights([w + 0.5 for w in residual.get_weights()])
    assert np.abs(deeper.log_prob(images, condition=labels)
                  - model.log_prob(images, condition=labels)).max() > 1e-3
    with pytest.raises(ConfigError, match="above the current 3"):
        model.deepened(3)


@pytest.mark.parametrize("classes", [0, 3])
def test_a_deeper_stage_starts_from_a_shallower_one_as_the_identity(classes):
    """A recipe stage with more gated layers, init from an earlier stage: the same log p(x)."""
    model = randomised(genzoo_core.create("pixelcnn", image_shape=[6, 5, 1],
                                          num_classes=classes, **TINY), scale=0.3)
    labels = np.array([1, 0, 2, 0]) if classes else None
    images = np.random.default_rng(5).integers(0, 2, (4, 6, 5, 1)).astype(np.float32)
    deeper = randomised(genzoo_core.create("pixelcnn", image_shape=[6, 5, 1],
                                           num_classes=classes,
                                           **{**TINY, "gated_layers": 5}), seed=1)
    before = deeper.log_prob(images, condition=labels)
    left = deeper.initialize_from(model)
    np.testing.assert_allclose(deeper.log_prob(images, condition=labels),
                               model.log_prob(images, condition=labels), rtol=1e-5, atol=1e-5)
    assert np.abs(before - model.log_prob(images, condition=labels)).max() > 1e-2
    # the new layers' stacks start as built; their residual projections start at zero
    assert "pixelcnn/vertical_4" in left and "pixelcnn/vertical_2" not in left
    assert not any(name.startswith("pixelcnn/residual_") for name in left)
    assert not deeper.pixelcnn.get_layer("residual_3").get_weights()[0].any()


def test_initialize_from_another_width_leaves_the_new_layers_as_built():
    """No identity start where the earlier layers did not carry over (another width)."""
    narrow = randomised(genzoo_core.create("pixelcnn", image_shape=[6, 5, 1], **TINY))
    wide = genzoo_core.create("pixelcnn", image_shape=[6, 5, 1],
                              **{**TINY, "filters": 6, "gated_layers": 4})
    residual = wide.pixelcnn.get_layer("residual_3").get_weights()[0].copy()
    left = wide.initialize_from(narrow)
    assert "pixelcnn/vertical_0" in left and "pixelcnn/residual_3" in left
    np.testing.assert_array_equal(wide.pixelcnn.get_layer("residual_3").get_weights()[0],
                                  residual)


def test_completion_keeps_the_given_rows_and_samples_the_rest():
    model = randomised(genzoo_core.create("pixelcnn", image_shape=[6, 6, 1], **TINY))
    images = (np.random.default_rng(2).random((4, 6, 6, 1)) < 0.5).astype(np.float32)
    completed = model.complete(images, 3, seed=0)
    np.testing.assert_array_equal(completed[:, :3], images[:, :3])
    assert not np.array_equal(completed[:, 3:], model.complete(images, 3, seed=1)[:, 3:])
    np.testing.assert_array_equal(model.complete(images, 6, seed=0), images)
    with pytest.raises(GenzooError, match=r"rows must lie in \[0, 6\]"):
        model.complete(images, 7)


def test_sampled_pixels_follow_the_model_conditionals():
    # the first pixel has no context: its frequency in samples is sigmoid(its logit)
    model = randomised(genzoo_core.create("pixelcnn", image_shape=[2, 2, 1], **TINY), seed=3)
    logit = float(model(np.zeros((1, 2, 2, 1), np.float32))[0, 0, 0, 0, 0])
    first = model.sample(4000, seed=0)[:, 0, 0, 0]
    expected = 1 / (1 + np.exp(-logit))
    assert abs(first.mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / 4000)


def test_class_labels_condition_the_model():
    model = randomised(genzoo_core.create("pixelcnn", image_shape=[4, 4, 1], num_classes=3,
                                          **TINY))
    images = (np.random.default_rng(0).random((3, 4, 4, 1)) < 0.5).astype(np.float32)
    as_zero = model.log_prob(images, condition=np.array([0, 0, 0]))
    as_two = model.log_prob(images, condition=np.array([2, 2, 2]))
    assert not np.allclose(as_zero, as_two)
    with pytest.raises(GenzooError, match=r"\[0, 3\)"):
        model.sample(2, condition=np.array([0, 3]))
    with pytest.raises(GenzooError, match="integer labels"):
        model.sample(2, condition=np.array([0.5, 1.0]))
    unconditional = genzoo_core.create("pixelcnn", image_shape=[4, 4, 1], **TINY)
    with pytest.raises(GenzooError, match="unconditional"):
        unconditional.sample(2, condition=np.array([0, 1]))


def test_bad_inputs_and_configs_are_clear_errors():
    model = genzoo_core.create("pixelcnn", image_shape=[4, 4, 1], **TINY)
    with pytest.raises(GenzooError, match="pixels must be 0 or 1"):
        model.log_prob(np.full((1, 4, 4, 1), 0.5))
    with pytest.raises(GenzooError, match=r"shape \(n, 4, 4, 1\)"):
        model.log_prob(np.zeros((1, 4, 4)))
    with pytest.raises(ConfigError, match="odd"):
        genzoo_core.create("pixelcnn", kernel_size=4)
    with pytest.raises(ConfigError, match="one channel"):
        genzoo_core.create("pixelcnn", image_shape=[8, 8, 3])
    with pytest.raises(DataError, match="no labels"):
        genzoo_core.create("pixelcnn", num_classes=10, **TINY).check_data(
            DataSource("bits", np.zeros((4, 28, 28, 1), np.uint8))
        )


def test_config_schema_refuses_bad_values_before_building(monkeypatch):
    """Huge widths and wrong types are ConfigErrors naming the key; no layer is built."""
    import genzoo_pixelcnn.model

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from a bad config")

    monkeypatch.setattr(genzoo_pixelcnn.model, "build_pixelcnn", refuse)
    for key, value in (("filters", 4_000_000), ("gated_layers", 10**9),
                       ("num_classes", 10**9), ("output_filters", "64"),
                       ("kernel_size", 5.0), ("kernel_size", 4), ("image_shape", [28, 28, 3]),
                       ("output", "gaussian")):
        with pytest.raises(ConfigError, match=key):
            genzoo_core.create("pixelcnn", **{key: value})
    spec = genzoo_core.get_spec("pixelcnn")
    assert spec.training_keys == {"learning_rate", "batch_size"}
    spec.check_config(spec.default_config)
    for entry in spec.weights:
        path = genzoo_core.resolve_weights(f"pixelcnn/{entry.name}")[1]
        spec.check_config(genzoo_core.read_header(path).config)


def test_training_steps_lower_the_exact_nll_of_real_digits(tmp_path):
    data = binarized_mnist("train", 1280)
    model = genzoo_core.create("pixelcnn", **{**TINY, "filters": 8, "gated_layers": 2})
    test = genzoo_core.load_data("binarized-mnist", "test").images[:200] / 255.0
    before = -model.log_prob(test).mean()
    history = Trainer(model, tmp_path, verbose=0, preview_count=0).fit(data, epochs=2)
    after = -model.log_prob(test).mean()
    assert history.history["nll"][1] < history.history["nll"][0]
    assert after < before - 100, (before, after)  # nats per image
    bits = history.history["bits_per_dim"][1]
    assert bits == pytest.approx(history.history["nll"][1] / (784 * np.log(2)), rel=1e-6)


def test_pretrained_weights_reproduce_their_recorded_nll():
    _, path = genzoo_core.resolve_weights("pixelcnn/mnist")  # verifies the sha256
    header = genzoo_core.read_header(path)
    metrics = header.metadata["metrics"]
    assert header.metadata["dataset"] == "binarized-mnist:train"
    # The target for the full test set (the first 500 are re-measured below).
    assert metrics["test_nll"]["images"] == 10_000 and metrics["test_nll"]["nll_nats"] <= 84.0
    model = genzoo_core.load("pixelcnn/mnist")
    test = binarized_mnist("test", 500).images / 255.0
    # the likelihood is exact, so only float32 rounding separates this from the record
    assert -model.log_prob(test).mean() == pytest.approx(metrics["test_nll_first_500"], abs=0.01)
    noise = (np.random.default_rng(0).random(test.shape) < test.mean()).astype(np.float32)
    assert model.log_prob(test).mean() > model.log_prob(noise).mean() + 100



# -- the recipe of the shipped weights ----------------------------------------------------


def test_the_recipe_names_the_shipped_weights_and_their_stored_config():
    recipe = genzoo_core.get_recipe("pixelcnn/mnist")  # parsed and checked by the core
    assert recipe.name == "pixelcnn/mnist"
    assert "mnist" in [w.name for w in genzoo_core.get_spec("pixelcnn").weights]
    header = genzoo_core.read_header(genzoo_core.resolve_weights("pixelcnn/mnist")[1])
    stages = recipe.stages
    # the last stage's config (over the recipe's) is the config the file stores
    assert dict(recipe.final_stage.config) == header.config
    assert {s.dataset for s in stages} == {header.metadata["dataset"].partition(":")[0]}
    assert {s.batch_size for s in stages} == {header.config["batch_size"]}
    # the stages are the shipped file's schedule: epochs, learning rate, depth
    schedule = header.metadata["metrics"]["schedule"]
    assert len(stages) == len(schedule)
    for stage, step in zip(stages, schedule):
        assert stage.epochs == step["epochs"], stage.name
        assert stage.config["learning_rate"] == pytest.approx(step["learning_rate"]), stage.name
        assert stage.config["gated_layers"] == step.get("gated_layers", 6), stage.name
        assert stage.learning_rate_schedule.kind == "constant"
    assert sum(s.epochs for s in stages) == header.metadata["metrics"]["epochs"]
    # each continuation starts from the stage before it (its weights, fresh optimizers)
    assert not stages[0].init
    for earlier, stage in zip(stages, stages[1:]):
        assert [(i.stage, dict(i.components)) for i in stage.init] == [(earlier.name, {})]
    assert recipe.evaluate["n"] == header.metadata["metrics"]["test_nll"]["images"]
