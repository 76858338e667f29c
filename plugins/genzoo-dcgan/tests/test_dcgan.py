"""genzoo-dcgan: architecture for each image size, sampling, losses, training steps."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import genzoo_core
from genzoo_core import ConfigError, GenzooError, Trainer
from genzoo_core.plugin import DataSource, ModelContract, losses
from genzoo_core.testing import require_data

SMALL = {"generator_filters": 8, "discriminator_filters": 8}


def real_mnist(n: int) -> DataSource:
    require_data("mnist.npz")
    return genzoo_core.load_data("mnist", "train").take(n)


def layer_types(model: keras.Model, kind: type) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if isinstance(layer, kind)]


@pytest.mark.parametrize(("shape", "ups"), [([28, 28, 1], 3), ([32, 32, 3], 3), ([64, 64, 3], 4)])
def test_shapes_and_strided_convolutions(shape, ups):
    model = genzoo_core.create("dcgan", image_shape=shape, **SMALL)
    assert isinstance(model, ModelContract)
    assert model.generator.output_shape == (None, *shape)
    assert model.discriminator.output_shape == (None, 1)
    assert len(layer_types(model.generator, keras.layers.Conv2DTranspose)) == ups
    assert model.generator.get_layer("to_image").activation.__name__ == "tanh"
    downs = layer_types(model.discriminator, keras.layers.Conv2D)
    assert all(layer.strides == (2, 2) for layer in downs)
    assert layer_types(model.discriminator, keras.layers.LeakyReLU)
    # batch norm everywhere in G, and in D after its first layer
    assert len(layer_types(model.generator, keras.layers.BatchNormalization)) == ups
    assert len(layer_types(model.discriminator, keras.layers.BatchNormalization)) == len(downs) - 1


def test_the_28x28_generator_is_the_tensorflow_tutorial_layout():
    model = genzoo_core.create("dcgan")
    convs = layer_types(model.generator, keras.layers.Conv2DTranspose)
    assert [(c.filters, c.strides) for c in convs] == [(128, (1, 1)), (64, (2, 2)), (1, (2, 2))]
    assert model.generator.get_layer("to_map").output.shape[1:] == (7, 7, 256)


def test_unsupported_sizes_and_critic_steps_are_clear_errors():
    with pytest.raises(ConfigError, match="28, 32 or 64"):
        genzoo_core.create("dcgan", image_shape=[48, 48, 3])
    with pytest.raises(ConfigError, match="critic_steps"):
        genzoo_core.create("dcgan", critic_steps=0)
    with pytest.raises(ConfigError, match="'loss' must be one of"):
        genzoo_core.create("dcgan", loss="wasserstein-pg")


def test_config_schema_refuses_bad_values_before_building(monkeypatch):
    """Huge widths and wrong types are ConfigErrors naming the key; no layer is built."""
    import genzoo_dcgan.model

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from a bad config")

    monkeypatch.setattr(genzoo_dcgan.model, "build_generator", refuse)
    monkeypatch.setattr(genzoo_dcgan.model, "build_discriminator", refuse)
    for key, value in (("generator_filters", 4_000_000), ("latent_dim", 10**9),
                       ("discriminator_filters", "64"), ("image_shape", [64, 64, 3.0]),
                       ("image_shape", [48, 48, 3]), ("critic_steps", True)):
        with pytest.raises(ConfigError, match=f"{key}"):
            genzoo_core.create("dcgan", **{key: value})
    spec = genzoo_core.get_spec("dcgan")
    assert set(spec.config_schema["loss"].choices) == set(losses.GAN_LOSSES)
    assert spec.training_keys == {"critic_steps", "learning_rate", "beta_1", "beta_2",
                                  "batch_size"}
    spec.check_config(spec.default_config)
    for entry in spec.weights:
        path = genzoo_core.resolve_weights(f"dcgan/{entry.name}")[1]
        spec.check_config(genzoo_core.read_header(path).config)


def test_sample_contract():
    model = genzoo_core.create("dcgan", **SMALL)
    images = model.sample(6, seed=2)
    assert images.shape == (6, 28, 28, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(images, model.sample(6, seed=2))
    with pytest.raises(GenzooError, match="unconditional"):
        model.sample(2, condition=[1, 2])


def test_gradient_penalty_critic_has_no_batch_norm():
    model = genzoo_core.create("dcgan", loss="wasserstein-gp", critic_steps=5, **SMALL)
    assert not layer_types(model.discriminator, keras.layers.BatchNormalization)


def test_gradient_penalty_is_near_zero_for_a_1_lipschitz_critic():
    # A linear critic with a unit-norm weight vector is 1-Lipschitz everywhere.
    rng = np.random.default_rng(0)
    w = rng.standard_normal((28 * 28, 1)).astype(np.float32)
    w /= np.linalg.norm(w)
    critic = lambda x: tf.matmul(tf.reshape(x, (-1, 28 * 28)), w)  # noqa: E731
    real = rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
    fake = rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
    assert float(losses.gradient_penalty(critic, real, fake)) < 1e-8
    assert float(losses.gradient_penalty(lambda x: 3.0 * critic(x), real, fake)) == (
        pytest.approx(4.0, rel=1e-4)  # (|3 w| - 1)^2
    )


def test_critic_steps_update_the_discriminator_that_many_times(tmp_path):
    data = DataSource("noise", np.random.default_rng(0).integers(0, 256, (32, 28, 28, 1),
                                                                   np.uint8))
    model = genzoo_core.create("dcgan", loss="wasserstein-gp", critic_steps=5, batch_size=16,
                               **SMALL)
    Trainer(model, tmp_path, verbose=0, preview_count=0).fit(data, epochs=1)
    iterations = {k: int(v.iterations.numpy()) for k, v in model.optimizers.items()}
    assert iterations == {"generator": 2, "discriminator": 10}


@pytest.mark.parametrize("loss", sorted(losses.GAN_LOSSES))
def test_every_adversarial_loss_trains_on_real_digits(loss, tmp_path):
    data = real_mnist(64)
    model = genzoo_core.create("dcgan", loss=loss, batch_size=32, **SMALL)
    before = [w.copy() for w in model.generator.get_weights()]
    history = Trainer(model, tmp_path, verbose=0, preview_count=0).fit(data, epochs=1)
    assert np.isfinite(history.history["d_loss"][0]) and np.isfinite(history.history["g_loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.generator.get_weights()))


def test_real_train_steps_move_the_losses(tmp_path):
    data = real_mnist(256)
    model = genzoo_core.create("dcgan", batch_size=64, **SMALL)
    history = Trainer(model, tmp_path, verbose=0, preview_count=0).fit(data, epochs=2)
    for name in ("d_loss", "g_loss"):
        values = history.history[name]
        assert all(np.isfinite(values)) and values[0] != values[-1]


# -- the pretrained weights ---------------------------------------------------------------


SHIPPED = [entry.name for entry in genzoo_core.get_spec("dcgan").weights]
EXTRACTOR_FOR = {"mnist": "mnist-cnn", "fashion-mnist": "fashion-mnist-cnn"}
# The classifier's mean top probability on real test images is 0.99 (MNIST) and
# 0.94 (Fashion-MNIST); samples must come within reach of it.
MIN_CONFIDENCE = {"mnist": 0.8, "fashion-mnist": 0.7}


def test_both_datasets_are_shipped():
    assert set(SHIPPED) == {"mnist", "fashion-mnist"}


@pytest.mark.parametrize("name", SHIPPED)
def test_pretrained_weights_load_by_name_and_sample_the_dataset(name):
    _, path = genzoo_core.resolve_weights(f"dcgan/{name}")  # verifies the sha256
    header = genzoo_core.read_header(path)
    assert header.metadata["dataset"] == f"{name}:train"
    assert header.metadata["training_command"]  # how it was made: test_dcgan_recipes.py
    model = genzoo_core.load(f"dcgan/{name}")
    assert model.config["generator_filters"] == 32
    # The dataset's shipped classifier is confident on the samples and finds most
    # classes among them; an untrained generator of the same config fails both.
    classifier = genzoo_core.get_feature_extractor(EXTRACTOR_FOR[name])
    untrained = genzoo_core.create("dcgan", model.config)
    for candidate, should_pass in ((model, True), (untrained, False)):
        _, probabilities = classifier.extract(candidate.sample(500, seed=0))
        confident = probabilities.max(axis=1).mean()
        classes = np.bincount(probabilities.argmax(axis=1), minlength=10) / 500
        looks_like_the_data = confident > MIN_CONFIDENCE[name] and (classes > 0.03).sum() >= 8
        assert looks_like_the_data == should_pass, (confident, classes)
