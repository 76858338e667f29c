"""genzoo-cgan: architecture, labels, class grid, training steps on real MNIST, weights."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import genzoo_core
from genzoo_core import ConfigError, DataError, GenzooError, Trainer
from genzoo_core.plugin import DataSource, ModelContract, losses
from genzoo_core.testing import require_data

SMALL = {"generator_filters": [16, 8], "discriminator_filters": [8, 16], "embedding_dim": 8,
         "latent_dim": 16}
EXTRACTOR_FOR = {"mnist": "mnist-cnn", "fashion-mnist": "fashion-mnist-cnn"}
MIN_ACCURACY = {"mnist": 0.9, "fashion-mnist": 0.8}
SHIPPED = [entry.name for entry in genzoo_core.get_spec("cgan").weights]


def real_data(name: str, n: int) -> DataSource:
    require_data({"mnist": "mnist.npz", "fashion-mnist": "fashion-mnist"}[name])
    return genzoo_core.load_data(name, "train").take(n)


@pytest.fixture(scope="module")
def small_model():
    return genzoo_core.create("cgan", **SMALL)


def test_spec():
    spec = genzoo_core.get_spec("cgan")
    assert spec.condition.value == "class_label"
    assert [c.value for c in spec.capabilities] == ["sample"]
    assert spec.components == ("generator", "discriminator")
    config = spec.default_config
    assert config["image_shape"] == [28, 28, 1] and config["num_classes"] == 10
    assert (config["latent_dim"], config["embedding_dim"]) == (100, 50)
    assert config["loss"] == "non-saturating" and config["batch_size"] == 128
    assert (config["learning_rate"], config["beta_1"]) == (2e-4, 0.5)


def test_architecture_feeds_the_label_to_both_networks():
    model = genzoo_core.create("cgan")
    assert isinstance(model, ModelContract)
    generator, discriminator = model.generator, model.discriminator
    assert [tuple(i.shape) for i in generator.inputs] == [(None, 100), (None,)]
    assert [tuple(i.shape) for i in discriminator.inputs] == [(None, 28, 28, 1), (None,)]
    for net in (generator, discriminator):
        embedding = net.get_layer("label_embedding")
        assert isinstance(embedding, keras.layers.Embedding)
        assert (embedding.input_dim, embedding.output_dim) == (10, 50)
    assert generator.get_layer("z_and_label").output.shape == (None, 150)
    assert generator.get_layer("project").units == 7 * 7 * 128
    assert generator.get_layer("upsample").filters == 64
    assert generator.get_layer("to_image").activation.__name__ == "tanh"
    assert generator.output.shape == (None, 28, 28, 1)
    assert discriminator.get_layer("image_and_label").output.shape == (None, 28, 28, 2)
    assert [discriminator.get_layer(f"conv_{i}").filters for i in (0, 1)] == [64, 128]
    assert discriminator.get_layer("dropout").rate == 0.3
    projection = discriminator.get_layer("class_projection_embedding")  # Miyato & Koyama
    assert (projection.input_dim, projection.output_dim) == (10, 7 * 7 * 128)
    assert discriminator.output.shape == (None, 1)
    model.compile()
    for optimizer in model.optimizers.values():
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        assert float(optimizer.beta_1) == pytest.approx(0.5)


def test_the_label_changes_the_image(small_model):
    """Same z, different label: a different image (the embedding reaches the output)."""
    sevens = small_model.sample(4, condition=[7] * 4, seed=0)
    ones = small_model.sample(4, condition=[1] * 4, seed=0)
    assert not np.allclose(sevens, ones)


def test_sample_contract(small_model):
    images = small_model.sample(5, condition=np.array([0, 1, 2, 3, 9]), seed=0)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(
        images, small_model.sample(5, condition=[0, 1, 2, 3, 9], seed=0)
    )
    assert not np.array_equal(images, small_model.sample(5, condition=[0, 1, 2, 3, 9], seed=1))
    # None is the class grid 0, 1, ..., 9, 0, ...
    np.testing.assert_array_equal(
        small_model.sample(12, seed=3), small_model.sample(12, condition=np.arange(12) % 10,
                                                           seed=3)
    )


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ([1, 2], r"shape \(3,\)"),
        (np.zeros((3, 1), np.int64), r"shape \(3,\)"),
        (5, r"shape \(3,\)"),
        ([0, 10, 1], r"\[0, 10\)"),
        ([-1, 0, 1], r"\[0, 10\)"),
        ([0.0, 1.0, 2.0], "integers"),
        (np.array([1, 2, 3], np.float32), "integers"),
        (["a", "b", "c"], "integers"),
        ([True, False, True], "integers"),
    ],
)
def test_condition_validation(small_model, condition, message):
    with pytest.raises(GenzooError, match=message):
        small_model.sample(3, condition=condition, seed=0)
    assert issubclass(ConfigError, GenzooError)


def test_config_schema_refuses_bad_values_before_building(monkeypatch):
    """Huge widths and wrong types are ConfigErrors naming the key; no layer is built."""
    import genzoo_cgan.model

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from a bad config")

    monkeypatch.setattr(genzoo_cgan.model, "build_generator", refuse)
    monkeypatch.setattr(genzoo_cgan.model, "build_discriminator", refuse)
    for key, value in (("generator_filters", [4_000_000, 64]), ("num_classes", 10**9),
                       ("embedding_dim", 10**9), ("latent_dim", "100"),
                       ("generator_filters", [128]), ("image_shape", [30, 30, 1]),
                       ("loss", "wgan")):
        with pytest.raises(ConfigError, match=key):
            genzoo_core.create("cgan", **{key: value})
    spec = genzoo_core.get_spec("cgan")
    assert set(spec.config_schema["loss"].choices) == set(losses.GAN_LOSSES)
    assert spec.training_keys == {"dropout", "loss", "learning_rate", "beta_1", "batch_size"}
    spec.check_config(spec.default_config)
    for entry in spec.weights:
        path = genzoo_core.resolve_weights(f"cgan/{entry.name}")[1]
        spec.check_config(genzoo_core.read_header(path).config)


def test_preview_is_a_class_grid(small_model):
    """num_classes**2 images, class i % 10 at index i: one class per column of the grid."""
    preview = small_model.preview(64, seed=0)
    assert preview.shape == (100, 28, 28, 1)
    assert math.ceil(math.sqrt(len(preview))) == 10  # the Trainer's grid has 10 columns
    labels = np.arange(100) % 10  # row r, column c holds image 10 * r + c, of class c
    np.testing.assert_array_equal(preview, small_model.sample(100, condition=labels, seed=0))


def test_real_train_steps_move_the_losses_and_the_weights(tmp_path):
    data = real_data("mnist", 512)
    model = genzoo_core.create("cgan", **SMALL)
    before = {net: [w.copy() for w in getattr(model, net).get_weights()]
              for net in ("generator", "discriminator")}
    history = Trainer(model, tmp_path, verbose=0, preview_count=0, batch_size=64).fit(
        data, epochs=2
    )
    for name in ("d_loss", "g_loss"):
        values = history.history[name]
        assert all(np.isfinite(values)) and values[0] != values[-1]
    for net, weights in before.items():
        after = getattr(model, net).get_weights()
        assert any(not np.array_equal(a, b) for a, b in zip(weights, after)), net
    embedding = model.discriminator.get_layer("label_embedding").get_weights()[0]
    assert not np.array_equal(embedding, before["discriminator"][0])


@pytest.mark.parametrize("loss", sorted(losses.GAN_LOSSES))
def test_every_adversarial_loss_trains(loss, tmp_path):
    data = real_data("mnist", 64)
    model = genzoo_core.create("cgan", loss=loss, **SMALL)
    before = [w.copy() for w in model.generator.get_weights()]
    history = Trainer(model, tmp_path, verbose=0, preview_count=0, batch_size=32).fit(
        data, epochs=1
    )
    assert np.isfinite(history.history["d_loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.generator.get_weights()))


def test_unlabelled_data_is_refused(tmp_path):
    images = np.zeros((64, 28, 28, 1), np.uint8)
    model = genzoo_core.create("cgan", **SMALL)
    with pytest.raises(DataError, match="needs class labels"):
        Trainer(model, tmp_path, verbose=0, preview_count=0, batch_size=32).fit(
            DataSource("unlabelled", images), epochs=1
        )
    labels = np.arange(64) % 12
    with pytest.raises(DataError, match="12 classes"):
        Trainer(model, tmp_path, verbose=0, preview_count=0, batch_size=32).fit(
            DataSource("twelve", images, labels, 12), epochs=1
        )


# -- the pretrained weights ---------------------------------------------------------------


def test_both_datasets_are_shipped():
    assert set(SHIPPED) == {"mnist", "fashion-mnist"}


@pytest.mark.parametrize("name", SHIPPED)
def test_pretrained_samples_have_their_labels(name):
    _, path = genzoo_core.resolve_weights(f"cgan/{name}")  # verifies the sha256
    header = genzoo_core.read_header(path)
    assert header.metadata["dataset"].startswith(f"{name}:train")
    assert header.metadata["training_command"]  # how it was made: test_cgan_recipes.py
    model = genzoo_core.load(f"cgan/{name}")
    labels = np.arange(200) % 10
    images = model.sample(200, condition=labels, seed=0)
    _, probabilities = genzoo_core.get_feature_extractor(EXTRACTOR_FOR[name]).extract(images)
    accuracy = float(np.mean(probabilities.argmax(1) == labels))
    assert accuracy >= MIN_ACCURACY[name], accuracy


def test_cli_sample_a_label(tmp_path):
    output = tmp_path / "sevens.png"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    genzoo = Path(sys.executable).parent / "genzoo"
    result = subprocess.run([str(genzoo), "sample", "cgan/mnist", "--label", "7", "-n", "16",
                             "-o", str(output)], capture_output=True, text=True, env=env,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    assert output.stat().st_size > 500 and str(output) in result.stdout
    result = subprocess.run([str(genzoo), "sample", "cgan/mnist", "--label", "12", "-n", "2",
                             "-o", str(tmp_path / "bad.png")], capture_output=True, text=True,
                            env=env, timeout=180)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "--label must be in 0..9 (cgan/mnist has 10 classes), got 12" in result.stderr
