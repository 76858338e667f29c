"""genzoo-gan: architecture, sampling, training steps on real MNIST, pretrained weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import genzoo_core
from genzoo_core import GenzooError, Trainer
from genzoo_core.plugin import DataSource, ModelContract, losses
from genzoo_core.testing import require_data


def real_mnist(n: int) -> DataSource:
    require_data("mnist.npz")
    return genzoo_core.load_data("mnist", "train").take(n)


def dense_units(model: keras.Model) -> list[int]:
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_architecture_follows_the_paper_setup():
    model = genzoo_core.create("gan")
    assert isinstance(model, ModelContract)
    assert dense_units(model.generator) == [256, 512, 1024, 784]
    assert dense_units(model.discriminator) == [1024, 512, 256, 1]
    assert model.generator.get_layer("to_pixels").activation.__name__ == "tanh"
    slopes = {layer.negative_slope for layer in model.generator.layers
              if isinstance(layer, keras.layers.LeakyReLU)}
    assert slopes == {0.2}
    dropouts = [layer.rate for layer in model.discriminator.layers
                if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == [0.3, 0.3, 0.3]
    model.compile()
    for optimizer in model.optimizers.values():
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        assert float(optimizer.beta_1) == pytest.approx(0.5)


def test_sample_contract():
    model = genzoo_core.create("gan", generator_units=[32], discriminator_units=[32])
    images = model.sample(5, seed=0)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(images, model.sample(5, seed=0))
    with pytest.raises(GenzooError, match="unconditional"):
        model.sample(2, condition=[1, 2])


def test_config_schema_refuses_bad_values_before_building(monkeypatch):
    """Huge widths and wrong types are ConfigErrors naming the key; no layer is built."""
    import genzoo_gan.model

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from a bad config")

    monkeypatch.setattr(genzoo_gan.model, "build_generator", refuse)
    monkeypatch.setattr(genzoo_gan.model, "build_discriminator", refuse)
    for key, value in (("generator_units", [256, 4_000_000]), ("latent_dim", 10**9),
                       ("discriminator_units", "1024"), ("latent_dim", 100.0),
                       ("image_shape", [28, 28, 5]), ("loss", "wgan")):
        with pytest.raises(genzoo_core.ConfigError, match=f"'{key}"):
            genzoo_core.create("gan", **{key: value})
    spec = genzoo_core.get_spec("gan")
    assert set(spec.config_schema["loss"].choices) == set(losses.GAN_LOSSES)
    assert spec.training_keys == {"dropout", "loss", "learning_rate", "beta_1", "batch_size"}
    spec.check_config(spec.default_config)
    for entry in spec.weights:
        path = genzoo_core.resolve_weights(f"gan/{entry.name}")[1]
        spec.check_config(genzoo_core.read_header(path).config)


def test_real_train_steps_move_the_losses_and_the_samples(tmp_path):
    data = real_mnist(2048)
    real_mean = data.images.mean() / 255.0  # about 0.13: mostly black background
    model = genzoo_core.create("gan")
    before = abs(model.sample(256, seed=0).mean() - real_mean)  # tanh(~0) -> grey, 0.5
    history = Trainer(model, tmp_path, verbose=0, preview_count=0, batch_size=64).fit(
        data, epochs=3
    )
    for name in ("d_loss", "g_loss"):
        values = history.history[name]
        assert all(np.isfinite(values)) and values[0] != values[-1]
    after = abs(model.sample(256, seed=0).mean() - real_mean)
    assert after < 0.75 * before, (before, after)  # untrained, the gap would not shrink


@pytest.mark.parametrize("loss", sorted(losses.GAN_LOSSES))
def test_every_adversarial_loss_trains(loss, tmp_path):
    data = real_mnist(128)
    model = genzoo_core.create("gan", loss=loss, generator_units=[64], discriminator_units=[64])
    before = [w.copy() for w in model.generator.get_weights()]
    history = Trainer(model, tmp_path, verbose=0, preview_count=0, batch_size=64).fit(
        data, epochs=1
    )
    assert np.isfinite(history.history["d_loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.generator.get_weights()))


# -- the pretrained weights ---------------------------------------------------------------


def test_pretrained_weights_load_by_name_and_path():
    _, path = genzoo_core.resolve_weights("gan/mnist")  # verifies the sha256
    by_name = genzoo_core.load("gan/mnist")
    by_keyword = genzoo_core.load("gan", weights="mnist")
    by_path = genzoo_core.load(str(path))
    reference = by_name.sample(16, seed=0)
    np.testing.assert_array_equal(reference, by_keyword.sample(16, seed=0))
    np.testing.assert_array_equal(reference, by_path.sample(16, seed=0))
    header = genzoo_core.read_header(path)
    assert header.metadata["dataset"].startswith("mnist:train")
    assert "--recipe gan/mnist" in header.metadata["training_command"]
    assert header.metadata["recipe"]["name"] == "gan/mnist"  # the file says how to rebuild it
    assert len(header.metadata["epoch_seconds"]) == header.metadata["metrics"]["epochs"] == 50


def test_pretrained_samples_look_like_mnist():
    """Digits are dark backgrounds with few mid-grey pixels; an untrained G is all grey."""
    real = real_mnist(2000).images.astype(np.float32) / 255.0
    for model, should_pass in ((genzoo_core.load("gan/mnist"), True),
                               (genzoo_core.create("gan"), False)):
        fake = model.sample(2000, seed=1)
        mean_gap = abs(fake.mean() - real.mean())
        grey = np.mean((fake > 0.2) & (fake < 0.8))
        looks_real = mean_gap < 0.05 and grey < 2 * np.mean((real > 0.2) & (real < 0.8))
        assert looks_real == should_pass, (mean_gap, grey)


def test_cli_sample_by_name(tmp_path):
    output = tmp_path / "grid.png"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    genzoo = Path(sys.executable).parent / "genzoo"
    result = subprocess.run([str(genzoo), "sample", "gan/mnist", "-n", "16", "--seed", "0",
                             "-o", str(output)], capture_output=True, text=True, env=env,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    assert output.stat().st_size > 1000 and str(output) in result.stdout
    result = subprocess.run([str(genzoo), "sample", "gan/mnist", "--label", "3"],
                            capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "unconditional" in result.stderr


def test_the_installed_plugin_ships_its_weights(tmp_path):
    """A non-editable install (what a wheel user gets) contains weights/mnist.h5."""
    target = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(Path(__file__).resolve().parents[1])],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    packaged = target / "genzoo_gan" / "weights" / "mnist.h5"
    assert packaged.is_file()
    assert genzoo_core.sha256_file(packaged) == genzoo_core.get_spec("gan").weights[0].sha256
