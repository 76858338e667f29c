"""genzoo-vae: the ELBO's terms, the importance-weighted bound, the latent space, weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

import genzoo_core
from genzoo_core import ConfigError, GenzooError, Trainer
from genzoo_core.plugin import losses
from genzoo_core.testing import require_data

SMALL = {"latent_dim": 8, "encoder_filters": [8, 16], "decoder_filters": [16, 8],
         "hidden_units": 64, "batch_size": 50, "learning_rate": 3e-3}


def binarized_mnist(split: str, n: int):
    require_data("mnist.npz")
    return genzoo_core.load_data("binarized-mnist", split).take(n)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small VAE trained for three epochs on 6,000 dynamically binarized digits."""
    model = genzoo_core.create("vae", **SMALL)
    out = tmp_path_factory.mktemp("vae")
    history = Trainer(model, out, verbose=0, preview_count=0).fit(
        binarized_mnist("train", 6000), epochs=3
    )
    return model, history


def test_kl_term_matches_the_closed_form():
    # one dimension: KL(N(mu, s^2) || N(0, 1)) = -log s + (s^2 + mu^2) / 2 - 1/2
    mu, s = 0.7, 0.4
    expected = -math.log(s) + (s * s + mu * mu) / 2 - 0.5
    value = losses.kl_divergence_standard_normal(tf.constant([[mu]]),
                                                 tf.constant([[2 * math.log(s)]]))
    assert float(value) == pytest.approx(expected, rel=1e-6)
    # the model's logged KL is that formula on its encoder's outputs, summed over z
    model = genzoo_core.create("vae", **SMALL)
    model.compile()
    model.build_optimizers()
    images = np.random.default_rng(0).integers(0, 2, (10, 28, 28, 1)).astype(np.float32)
    posterior = model.encoder(images).numpy().astype(np.float64)
    mean, log_var = posterior[:, :8], posterior[:, 8:]
    closed = np.mean(np.sum(0.5 * (np.exp(log_var) + mean**2 - 1 - log_var), axis=1))
    logs = model.train_step({"images": tf.constant(images)})
    assert float(logs["kl"]) == pytest.approx(closed, rel=1e-4)


def test_training_lowers_the_negative_elbo_below_independent_pixels(trained):
    _, history = trained
    loss = history.history["loss"]  # -ELBO, nats per image
    assert loss[0] > loss[1] > loss[2]
    # the baseline: every pixel an independent Bernoulli at its mean intensity
    grey = binarized_mnist("train", 6000).images.reshape(6000, -1) / 255.0
    p = np.clip(grey.mean(axis=0), 1e-4, 1 - 1e-4)
    independent = -np.sum(grey * np.log(p) + (1 - grey) * np.log(1 - p), axis=1).mean()
    assert loss[2] < independent - 10, (loss, independent)


def test_the_importance_weighted_bound_rises_with_k(trained):
    model, _ = trained
    images = genzoo_core.load_data("binarized-mnist", "test").images[:200] / 255.0
    bounds = [model.log_prob(images, k=k).mean() for k in (1, 10, 100)]
    assert bounds[0] < bounds[1] < bounds[2], bounds
    # the same seed gives the same estimate; another seed a slightly different one
    np.testing.assert_array_equal(model.log_prob(images[:20], k=10),
                                  model.log_prob(images[:20], k=10))
    assert not np.array_equal(model.log_prob(images[:20], k=10),
                              model.log_prob(images[:20], k=10, seed=1))
    # chunking the k samples takes the same draws in the same order: the same bound
    np.testing.assert_allclose(model.log_prob(images[:20], k=64),
                               model.log_prob(images[:20], k=64, max_batch=16), atol=1e-3)


def test_latent_space_and_sampling(trained):
    model, _ = trained
    images = model.sample(6, seed=0)
    assert images.shape == (6, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(images, model.sample(6, seed=0))
    codes = model.encode(images)
    assert codes.shape == (6, 8)
    np.testing.assert_allclose(model.decode(codes), model.reconstruct(images), atol=1e-6)
    real = genzoo_core.load_data("binarized-mnist", "test").images[:50] / 255.0
    error = np.abs(model.reconstruct(real) - real).mean()
    assert error < np.abs(real.mean() - real).mean()  # better than the mean image


def test_bad_inputs_are_clear_errors():
    model = genzoo_core.create("vae", **SMALL)
    with pytest.raises(GenzooError, match=r"shape \(n, 28, 28, 1\)"):
        model.log_prob(np.zeros((2, 28, 28)))
    with pytest.raises(GenzooError, match=r"in \[0, 1\]"):
        model.encode(np.full((1, 28, 28, 1), 255.0))
    with pytest.raises(GenzooError, match=r"codes of shape \(n, 8\)"):
        model.decode(np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="likelihood"):
        genzoo_core.create("vae", likelihood="poisson")
    with pytest.raises(ConfigError, match="divisible by 4"):
        genzoo_core.create("vae", image_shape=[30, 30, 1])


def test_config_schema_refuses_bad_values_before_building(monkeypatch):
    """Huge widths and wrong types are ConfigErrors naming the key; no layer is built."""
    import genzoo_vae.model

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from a bad config")

    monkeypatch.setattr(genzoo_vae.model, "build_encoder", refuse)
    monkeypatch.setattr(genzoo_vae.model, "build_decoder", refuse)
    for key, value in (("hidden_units", 4_000_000), ("latent_dim", 10**9),
                       ("encoder_filters", [32, 10**9]), ("beta", "1"),
                       ("decoder_filters", [64]), ("image_shape", [30, 30, 1]),
                       ("importance_samples", 5000.0)):
        with pytest.raises(ConfigError, match=key):
            genzoo_core.create("vae", **{key: value})
    spec = genzoo_core.get_spec("vae")
    assert spec.training_keys == {"beta", "learning_rate", "batch_size"}
    spec.check_config(spec.default_config)
    for entry in spec.weights:
        path = genzoo_core.resolve_weights(f"vae/{entry.name}")[1]
        spec.check_config(genzoo_core.read_header(path).config)


def test_gaussian_likelihood_trains_on_grey_images(tmp_path):
    require_data("fashion-mnist")
    data = genzoo_core.load_data("fashion-mnist", "train").take(200)
    model = genzoo_core.create("vae", likelihood="gaussian", **SMALL)
    history = Trainer(model, tmp_path, verbose=0, preview_count=0).fit(data, epochs=2)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][1] < history.history["loss"][0]
    images = data.images[:4] / 255.0
    assert np.isfinite(model.log_prob(images, k=5)).all()


def test_pretrained_weights_reproduce_their_recorded_bound():
    spec = genzoo_core.get_spec("vae")
    if not spec.weights:
        pytest.skip("no pretrained weights in this version")
    _, path = genzoo_core.resolve_weights("vae/mnist")  # verifies the sha256
    header = genzoo_core.read_header(path)
    metrics = header.metadata["metrics"]
    assert header.metadata["dataset"] == "binarized-mnist:train"
    recorded = metrics["test_k100_first_500_seed_0"]
    model = genzoo_core.load("vae/mnist")
    test = binarized_mnist("test", 500).images / 255.0
    # The recorded value was drawn with TensorFlow's stateless normals; log_prob now draws
    # from numpy (the same on every Keras backend), so this is another Monte Carlo estimate
    # of the same bound: over seeds its mean has a standard deviation of 0.05 nats, and
    # 0.3 is about four standard deviations of the difference of two such estimates.
    assert -model.log_prob(test, k=100).mean() == pytest.approx(recorded["nll_nats"], abs=0.3)
    # and the reported k = 5000 bound is tighter than the k = 100 one on those images
    assert metrics["test_nll"]["k"] == 5000
    assert metrics["test_nll"]["nll_nats"] < recorded["nll_nats"]



# -- the recipe of the shipped weights ----------------------------------------------------


def test_the_recipe_names_the_shipped_weights_and_their_stored_config():
    recipe = genzoo_core.get_recipe("vae/mnist")  # parsed and checked by the core
    assert recipe.name == "vae/mnist" and len(recipe.stages) == 1
    assert "mnist" in [w.name for w in genzoo_core.get_spec("vae").weights]
    header = genzoo_core.read_header(genzoo_core.resolve_weights("vae/mnist")[1])
    stage = recipe.final_stage
    assert stage.dataset == header.metadata["dataset"].partition(":")[0]
    assert dict(stage.config) == header.config  # spelled out: it cannot drift from the file
    metrics = header.metadata["metrics"]
    assert stage.epochs == metrics["epochs"]
    assert stage.batch_size == header.config["batch_size"]
    # the evaluation's NLL is the recorded one's protocol: k = importance_samples on the
    # first 500 test images (evaluate's default count when n is left out), seed 0
    assert "nll" in recipe.evaluate["metrics"] and "n" not in recipe.evaluate
    assert recipe.evaluate["split"] == "test" and recipe.evaluate["seed"] == 0
    assert metrics["test_nll"]["k"] == stage.config["importance_samples"]
    assert metrics["test_nll"]["images"] == 500
