"""sample() and the conformance kit refuse images out of range or of the wrong shape."""

from __future__ import annotations

import numpy as np
import pytest

import genzoo_core
from genzoo_core import GenzooError, Registry
from genzoo_core.testing import KitOptions, check_pretrained_weights, check_sample

PLUGIN = """
    from dataclasses import replace

    from genzoo_core import WeightsSpec, hookimpl
    from toyzoo.plugin import SPEC

    SPECS = {
        name: replace(SPEC, name=name, builder=f"zoo_test_kit.model:{cls}")
        for name, cls in [("tanhgan", "TanhGAN"), ("bytegan", "ByteGAN"),
                          ("nchwgan", "NCHWGAN"), ("smallgan", "SmallGAN"),
                          ("nangan", "NaNGAN"), ("roundgan", "RoundingGAN")]
    }
    SPECS["urlgan"] = replace(SPEC, name="urlgan", builder="toyzoo.model:ToyGAN", weights=(
        WeightsSpec(name="w", sha256="0" * 64, url="http://127.0.0.1:9/w.h5"),))

    @hookimpl
    def genzoo_api_range():
        return ">=1.0,<2"

    @hookimpl
    def genzoo_register_models():
        return list(SPECS.values())
"""

MODELS = """
    import numpy as np

    from toyzoo.model import ToyGAN
    from zoo_test_kit.plugin import SPECS


    class TanhGAN(ToyGAN):
        spec = SPECS["tanhgan"]

        def generate(self, n, *, condition, rng):  # a tanh generator left unmapped
            return super().generate(n, condition=condition, rng=rng) * 2 - 1


    class ByteGAN(ToyGAN):
        spec = SPECS["bytegan"]

        def generate(self, n, *, condition, rng):
            return (super().generate(n, condition=condition, rng=rng) * 255).astype(np.uint8)


    class NCHWGAN(ToyGAN):
        spec = SPECS["nchwgan"]

        def generate(self, n, *, condition, rng):
            return np.transpose(super().generate(n, condition=condition, rng=rng), (0, 3, 1, 2))


    class SmallGAN(ToyGAN):
        spec = SPECS["smallgan"]

        def generate(self, n, *, condition, rng):  # half the declared size
            return super().generate(n, condition=condition, rng=rng)[:, :2, :2]


    class NaNGAN(ToyGAN):
        spec = SPECS["nangan"]

        def generate(self, n, *, condition, rng):
            return super().generate(n, condition=condition, rng=rng) * np.nan


    class RoundingGAN(ToyGAN):
        spec = SPECS["roundgan"]

        def generate(self, n, *, condition, rng):  # float rounding just past the bounds
            images = super().generate(n, condition=condition, rng=rng)
            images[0, 0, 0, 0], images[-1, -1, -1, -1] = -1e-6, 1 + 1e-6
            return images
"""


@pytest.fixture
def kit_registry(toy_registry, make_plugin):
    site = make_plugin("genzoo-kit-test", {"zoo_test_kit/__init__.py": "",
                                           "zoo_test_kit/plugin.py": PLUGIN,
                                           "zoo_test_kit/model.py": MODELS},
                       {"kit": "zoo_test_kit.plugin"})
    registry = Registry(path=[str(site)])
    assert not [p.error for p in registry.plugins if p.status != "ok"]
    return registry


@pytest.mark.parametrize("name, words", [
    ("tanhgan", "returned values in [-"),
    ("bytegan", "returned uint8 values; genzoo images are floats in [0, 1]"),
    ("nchwgan", "returned images of shape (1, 4, 4); the model declares (4, 4, 1)"),
    ("smallgan", "returned images of shape (2, 2, 1); the model declares (4, 4, 1)"),
    ("nangan", "returned NaN or infinite values"),
])
def test_sample_refuses_what_it_used_to_clip_or_pass(kit_registry, name, words):
    model = genzoo_core.create(name, registry=kit_registry)
    with pytest.raises(GenzooError) as info:
        model.sample(3, seed=0)
    assert words in str(info.value)
    with pytest.raises((GenzooError, AssertionError)) as info:  # and the kit fails it
        check_sample(name, KitOptions(registry=kit_registry))
    assert words in str(info.value)


def test_values_within_float_rounding_are_clipped_not_refused(kit_registry):
    images = genzoo_core.create("roundgan", registry=kit_registry).sample(3, seed=0)
    assert images.min() == 0.0 and images.max() == 1.0
    check_sample("roundgan", KitOptions(registry=kit_registry))


def test_the_kit_asks_downloaded_weights_to_record_their_size(kit_registry):
    with pytest.raises(AssertionError, match="urlgan/w is downloaded from a URL but records no"):
        check_pretrained_weights("urlgan", KitOptions(registry=kit_registry))


@pytest.mark.parametrize("seed", [-1, 2.5, "7"])
def test_sample_refuses_a_seed_numpy_would_choke_on(toy_model, seed):
    with pytest.raises(GenzooError, match="seed must be a non-negative integer"):
        toy_model.sample(2, seed=seed)
    assert np.array_equal(toy_model.sample(2, seed=7), toy_model.sample(2, seed=np.int64(7)))


# -- inference on another Keras backend (one worker process for all of these: ~10 s) ----

BACKEND_PLUGIN = """
    from dataclasses import replace

    from genzoo_core import hookimpl
    from toyzoo.plugin import SPEC

    SPECS = {name: replace(SPEC, name=name, builder=f"zoo_test_backends.model:{cls}")
             for name, cls in [("tfgan", "TFOnlyGAN"), ("driftgan", "DriftingGAN")]}

    @hookimpl
    def genzoo_api_range():
        return ">=1.0,<2"

    @hookimpl
    def genzoo_register_models():
        return list(SPECS.values())
"""

BACKEND_MODELS = """
    import keras
    import numpy as np

    from toyzoo.model import ToyGAN
    from zoo_test_backends.plugin import SPECS


    class TFOnlyGAN(ToyGAN):
        spec = SPECS["tfgan"]

        def generate(self, n, *, condition, rng):  # tf.* in a sampling path
            import tensorflow as tf

            z = tf.constant(rng.standard_normal((n, self.settings["latent_dim"])), tf.float32)
            return tf.function(lambda b: self.generator(b, training=False))(z).numpy()


    class DriftingGAN(ToyGAN):
        spec = SPECS["driftgan"]

        def generate(self, n, *, condition, rng):  # another image on another backend
            images = super().generate(n, condition=condition, rng=rng)
            return images * 0.5 + (0.1 if keras.backend.backend() != "tensorflow" else 0.0)
"""


@pytest.fixture
def backend_registry(toy_registry, make_plugin):
    pytest.importorskip("jax", reason="JAX is not installed: pip install 'jax[cpu]'")
    site = make_plugin("genzoo-backend-test", {"zoo_test_backends/__init__.py": "",
                                               "zoo_test_backends/plugin.py": BACKEND_PLUGIN,
                                               "zoo_test_backends/model.py": BACKEND_MODELS},
                       {"backends": "zoo_test_backends.plugin"})
    return Registry(path=[*toy_registry.path, str(site)])


@pytest.mark.parametrize("name", ["toygan", "toylik"])
def test_the_backend_check_passes_models_that_infer_alike_on_jax(backend_registry, name):
    from genzoo_core.testing import check_backend_inference

    check_backend_inference(name, KitOptions(registry=backend_registry))


def test_the_backend_check_names_the_capability_that_fails_on_jax(backend_registry):
    from genzoo_core.testing import check_backend_inference

    with pytest.raises(AssertionError) as info:
        check_backend_inference("tfgan", KitOptions(registry=backend_registry))
    message = str(info.value)
    assert message.startswith("under KERAS_BACKEND=jax, sample raised ")
    assert "inference_function" in message and "\n" not in message


def test_the_backend_check_compares_images_unless_the_model_says_they_differ(backend_registry):
    from genzoo_core.testing import check_backend_inference

    with pytest.raises(AssertionError, match=r"sample: differs from TensorFlow by up to 0\.1"):
        check_backend_inference("driftgan", KitOptions(registry=backend_registry))
    check_backend_inference("driftgan", KitOptions(registry=backend_registry,
                                                   backend_inexact=("sample",)))
    with pytest.raises(AssertionError, match="not capabilities"):
        check_backend_inference("driftgan", KitOptions(registry=backend_registry,
                                                       backend_inexact=("sampling",)))


def test_the_backend_check_is_skipped_with_its_reason(toy_registry, monkeypatch):
    from genzoo_core.testing import CheckSkipped, backends, check_backend_inference

    with pytest.raises(CheckSkipped, match="KitOptions.backends is empty"):
        check_backend_inference("toygan", KitOptions(backends=()))
    real = backends.importlib.util.find_spec
    monkeypatch.setattr(backends.importlib.util, "find_spec",
                        lambda name, *a: None if name == "jax" else real(name, *a))
    with pytest.raises(CheckSkipped, match=r"jax is not installed \(pip install 'jax\[cpu\]'"):
        check_backend_inference("toygan", KitOptions())
