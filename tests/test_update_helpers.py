"""The helpers ``GenerativeModel`` offers a ``train_step``: ``minimize``, the default
``make_optimizers``, the read-only ``settings``, and the deprecated ``_genzoo_config``.

The toy model (tests/toy_plugin) is written against the older contract on purpose
(``replica_scale``, ``self._genzoo_config``, its own ``make_optimizers``); the
subclasses here opt into the helpers one at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo_core import GenerativeModel, GenzooError

TOY = Path(__file__).resolve().parent / "toy_plugin"


@pytest.fixture
def toy_class(monkeypatch):
    monkeypatch.syspath_prepend(str(TOY))
    from toyzoo.model import ToyGAN

    return ToyGAN


def _sgd_model(toy_class):
    """A toy whose optimizers are plain SGD(1): an update is exactly minus the gradient."""

    class SGDToy(toy_class):
        def make_optimizers(self):
            return {name: keras.optimizers.SGD(1.0, name=name)
                    for name in ("generator", "discriminator")}

    keras.utils.set_random_seed(0)
    model = SGDToy()
    model.compile()
    return model


def _toy_loss(model, images):
    return tf.reduce_mean(tf.square(model.discriminator(images, training=False) - 1.0))


# -- minimize ---------------------------------------------------------------------------


def test_minimize_applies_minus_the_gradient_of_the_loss(toy_class):
    model = _sgd_model(toy_class)
    images = tf.constant(np.random.default_rng(0).random((8, 4, 4, 1)), tf.float32)
    variables = model.optimizer_variables("discriminator")
    with tf.GradientTape() as reference:
        loss = _toy_loss(model, images)
    expected = [v.numpy() - g.numpy() for v, g in
                zip(variables, reference.gradient(loss, variables), strict=True)]
    before_generator = [v.numpy() for v in model.generator.trainable_variables]

    with tf.GradientTape() as tape:
        loss = _toy_loss(model, images)
    model.minimize(tape, loss, "discriminator")

    for variable, value in zip(variables, expected, strict=True):
        np.testing.assert_allclose(variable.numpy(), value, rtol=0, atol=1e-7)
    for variable, value in zip(model.generator.trainable_variables, before_generator,
                               strict=True):
        np.testing.assert_array_equal(variable.numpy(), value)  # only optimizer 'name' moves


def test_minimize_inside_the_tape_block_is_refused(toy_class):
    model = _sgd_model(toy_class)
    images = tf.zeros((2, 4, 4, 1))
    with tf.GradientTape() as tape:
        loss = _toy_loss(model, images)
        with pytest.raises(GenzooError, match="after the with block"):
            model.minimize(tape, loss, "discriminator")


MIRRORED = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf

    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import keras

    sys.path.insert(0, sys.argv[1])
    from toyzoo.model import ToyGAN

    class SGDToy(ToyGAN):
        def make_optimizers(self):
            return {name: keras.optimizers.SGD(1.0, name=name)
                    for name in ("generator", "discriminator")}

        def train_step(self, batch):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self.discriminator(batch, training=False) - 1.0))
            self.minimize(tape, loss, "discriminator")
            return loss

    images = np.random.default_rng(0).random((8, 4, 4, 1)).astype("float32")
    result = {}
    for devices in (["/cpu:0"], ["/cpu:0", "/cpu:1"]):
        strategy = tf.distribute.MirroredStrategy(devices)
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = SGDToy()
            model.compile()
        data = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensor_slices(images).batch(8)
        )
        step = tf.function(lambda batch: strategy.run(model.train_step, args=(batch,)))
        if len(devices) == 1:
            result["initial"] = [
                v.numpy().tolist() for v in model.discriminator.trainable_variables
            ]
        for batch in data:
            step(batch)
        result[len(devices)] = [
            v.numpy().tolist() for v in model.discriminator.trainable_variables
        ]
    print(json.dumps(result))
    """
)


def test_minimize_under_two_replicas_matches_one_device(tmp_path):
    """Two replicas of half the batch each make the update of one device on all of it."""
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    done = subprocess.run([sys.executable, str(script), str(TOY)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for one, two in zip(result["1"], result["2"], strict=True):
        np.testing.assert_allclose(np.array(two), np.array(one), rtol=1e-5, atol=1e-6)
    # the update did happen: a helper that skipped it would pass the check above
    assert not np.allclose(np.array(result["1"][0]), np.array(result["initial"][0]))


# -- make_optimizers ----------------------------------------------------------------------


def test_default_make_optimizers_is_one_adam_per_component_from_the_config(toy_class):
    class DefaultOptimizers(toy_class):
        make_optimizers = GenerativeModel.make_optimizers

    model = DefaultOptimizers(learning_rate=0.03)
    optimizers = model.make_optimizers()
    assert list(optimizers) == ["generator", "discriminator"]
    for name, optimizer in optimizers.items():
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert optimizer.name == name
        assert float(optimizer.learning_rate) == pytest.approx(0.03)
        # the toy's config has no beta_1 or beta_2: Keras' defaults
        assert optimizer.beta_1 == 0.9 and optimizer.beta_2 == 0.999


def test_default_make_optimizers_reads_beta_1_and_beta_2(toy_class):
    class WithBetas(toy_class):
        make_optimizers = GenerativeModel.make_optimizers

        @property
        def settings(self):
            return {**super().settings, "beta_1": 0.5, "beta_2": 0.99}

    optimizers = WithBetas().make_optimizers()
    assert {(o.beta_1, o.beta_2) for o in optimizers.values()} == {(0.5, 0.99)}


# -- settings and the deprecated _genzoo_config -------------------------------------------


def test_settings_are_the_config_and_read_only(toy_class):
    model = toy_class(units=5)
    settings = model.settings
    assert settings["units"] == 5
    assert settings["image_shape"] == (4, 4, 1)  # lists are tuples
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()} == (
        model.config
    )
    with pytest.raises(TypeError):
        settings["units"] = 6
    with pytest.raises(AttributeError):
        settings["image_shape"].append(2)
    with pytest.raises(AttributeError):
        model.settings = {}
    assert model.settings is settings  # made once, not copied per read
    assert model.config["units"] == 5


def test_reading_genzoo_config_from_plugin_code_warns(toy_class):
    from toyzoo.plugin import SPEC

    class Quiet(GenerativeModel):
        spec = SPEC

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        model = Quiet(units=5)  # building a model must not warn...
        assert model.sample_shape == (4, 4, 1)  # ...nor the core's own reads
        assert model.config["units"] == 5
    with pytest.warns(DeprecationWarning, match=r"self\.settings"):
        config = model._genzoo_config
    assert config["units"] == model.settings["units"] == 5


def test_an_old_style_model_still_trains(toy_class):
    """The toy uses replica_scale, _genzoo_config and its own make_optimizers."""
    model = toy_class()
    model.compile()
    with pytest.warns(DeprecationWarning):
        logs = model.train_step({"images": tf.zeros((4, 4, 4, 1))})
    assert set(logs) == {"d_loss", "g_loss"}
