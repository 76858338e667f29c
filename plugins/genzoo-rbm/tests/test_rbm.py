"""genzoo-rbm: energy, partition function, training updates, sampling, pretrained weights."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from genzoo_rbm.model import ais_log_partition, exact_log_partition

import genzoo_core
from genzoo_core import GenzooError, Trainer
from genzoo_core.testing import require_data


def binarized_mnist(split: str, n: int):
    require_data("mnist.npz")
    return genzoo_core.load_data("binarized-mnist", split).take(n)


def tiny_rbm(visible=4, hidden=3, seed=0, scale=1.0):
    """An RBM with random parameters and image_shape [visible, 1, 1]."""
    model = genzoo_core.create("rbm", image_shape=[visible, 1, 1], hidden_units=hidden,
                               batch_size=8, sample_burn_in=50)
    rng = np.random.default_rng(seed)
    model.rbm.kernel.assign(rng.normal(0, scale, (visible, hidden)))
    model.rbm.visible_bias.assign(rng.normal(0, scale, visible))
    model.rbm.hidden_bias.assign(rng.normal(0, scale, hidden))
    return model


def all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def test_free_energy_matches_a_hand_computation():
    model = tiny_rbm()
    W, b, c = (x.numpy().astype(np.float64) for x in
               (model.rbm.kernel, model.rbm.visible_bias, model.rbm.hidden_bias))
    v = np.array([1.0, 0.0, 1.0, 1.0])
    by_hand = -(b[0] + b[2] + b[3]) - sum(
        math.log(1 + math.exp(c[j] + W[0, j] + W[2, j] + W[3, j])) for j in range(3)
    )
    # and the free energy is -log of the sum of exp(-E(v, h)) over every h
    summed = -math.log(sum(math.exp(b @ v + c @ h + v @ W @ h) for h in all_states(3)))
    free = model.free_energy(v.reshape(1, 4, 1, 1))[0]
    assert free == pytest.approx(by_hand, abs=1e-5) and free == pytest.approx(summed, abs=1e-5)


def test_exact_log_partition_sums_every_joint_state():
    model = tiny_rbm(visible=5, hidden=3)
    W, b, c = (x.numpy().astype(np.float64) for x in
               (model.rbm.kernel, model.rbm.visible_bias, model.rbm.hidden_bias))
    brute = math.log(sum(math.exp(b @ v + c @ h + v @ W @ h)
                         for v in all_states(5) for h in all_states(3)))
    assert exact_log_partition(W, b, c) == pytest.approx(brute, abs=1e-9)
    # with log Z known, p(v) sums to one over all 32 images
    model.rbm.log_partition.assign([brute, 0.0])
    assert np.exp(model.log_prob(all_states(5).reshape(32, 5, 1, 1))).sum() == pytest.approx(1.0)


def test_pseudo_likelihood_is_the_product_of_exact_conditionals():
    model = tiny_rbm(visible=5, hidden=3, seed=1)
    v = np.array([[1.0, 0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0, 0.0]])
    log_p = -model.free_energy(all_states(5).reshape(32, 5, 1, 1))  # unnormalised
    index = {tuple(s): i for i, s in enumerate(all_states(5))}
    expected = []
    for row in v:
        total = 0.0
        for i in range(5):
            other = row.copy()
            other[i] = 1 - other[i]
            mine, theirs = log_p[index[tuple(row)]], log_p[index[tuple(other)]]
            total += mine - np.logaddexp(mine, theirs)
        expected.append(total)
    np.testing.assert_allclose(model.pseudo_log_likelihood(v.reshape(2, 5, 1, 1)), expected,
                               atol=1e-9)


def test_ais_agrees_with_the_exact_log_partition_of_a_12_unit_rbm():
    rng = np.random.default_rng(0)
    W = rng.normal(0, 0.2, (784, 12))
    b = rng.normal(-1.0, 1.0, 784)
    c = rng.normal(0, 1.0, 12)
    exact = exact_log_partition(W, b, c)
    rates = 1 / (1 + np.exp(-b))
    estimate = ais_log_partition(W.astype(np.float32), b.astype(np.float32),
                                 c.astype(np.float32), rates, temperatures=3000, runs=100)
    assert abs(estimate["log_partition"] - exact) < 0.1, (estimate, exact)
    assert estimate["lower"] <= exact + 0.1 and exact - 0.1 <= estimate["upper"]
    # reproducible from its seed
    again = ais_log_partition(W.astype(np.float32), b.astype(np.float32),
                              c.astype(np.float32), rates, temperatures=3000, runs=100)
    assert again["log_partition"] == estimate["log_partition"]


def test_the_model_stores_its_ais_estimate_with_the_weights(tmp_path):
    model = tiny_rbm(visible=6, hidden=4, scale=0.5)
    estimate = model.estimate_log_partition(temperatures=500, runs=50)
    exact = exact_log_partition(*(x.numpy().astype(np.float64) for x in (
        model.rbm.kernel, model.rbm.visible_bias, model.rbm.hidden_bias)))
    assert abs(estimate["log_partition"] - exact) < 0.05
    path = tmp_path / "rbm.h5"
    model.save_weights(str(path))
    loaded = genzoo_core.load(str(path))
    x = all_states(6)[:5].reshape(5, 6, 1, 1)
    np.testing.assert_allclose(loaded.log_prob(x), model.log_prob(x))


@pytest.mark.parametrize("persistent", [False, True])
def test_cd_and_pcd_updates_improve_the_fit_to_real_digits(persistent, tmp_path):
    data = binarized_mnist("train", 2000)
    model = genzoo_core.create("rbm", hidden_units=64, persistent=persistent,
                               learning_rate=0.05, batch_size=50)
    probe = genzoo_core.load_data("binarized-mnist", "test").take(200).images / 255.0
    before = model.pseudo_log_likelihood(probe).mean()
    history = Trainer(model, tmp_path, verbose=0, preview_count=0).fit(data, epochs=2)
    errors = history.history["reconstruction_error"]
    assert errors[1] < errors[0]
    assert model.pseudo_log_likelihood(probe).mean() > before + 50  # nats per image


def test_sampling_contract_and_latent_round_trip():
    model = genzoo_core.create("rbm", hidden_units=16, sample_burn_in=20)
    images = model.sample(5, seed=0)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(images, model.sample(5, seed=0))
    hidden = model.encode(images)
    assert hidden.shape == (5, 16) and 0 <= hidden.min() and hidden.max() <= 1
    assert model.decode(hidden).shape == (5, 28, 28, 1)
    assert model.reconstruct(images).shape == (5, 28, 28, 1)
    with pytest.raises(GenzooError, match=r"hidden states of shape \(n, 16\)"):
        model.decode(np.zeros((5, 3)))
    with pytest.raises(GenzooError, match="images of shape"):
        model.free_energy(np.zeros((2, 10)))
    with pytest.raises(GenzooError, match=r"in \[0, 1\]"):
        model.log_prob(np.full((1, 28, 28, 1), 2.0))


def test_config_schema_refuses_bad_values_before_building(monkeypatch):
    """Huge widths and wrong types are ConfigErrors naming the key; no variable is made."""
    import genzoo_rbm.model

    def refuse(*args, **kwargs):
        raise AssertionError("variables were made from a bad config")

    monkeypatch.setattr(genzoo_rbm.model, "BoltzmannMachine", refuse)
    for key, value in (("hidden_units", 4_000_000), ("batch_size", 10**9),
                       ("image_shape", [28, 28, 10**9]), ("image_shape", [28, 28, 5]),
                       ("gibbs_steps", "1"), ("persistent", 1), ("momentum", 2.0),
                       ("ais_temperatures", 5)):
        with pytest.raises(genzoo_core.ConfigError, match=key):
            genzoo_core.create("rbm", **{key: value})
    spec = genzoo_core.get_spec("rbm")
    assert spec.training_keys == {"persistent", "gibbs_steps", "learning_rate",
                                  "learning_rate_decay_steps", "momentum", "weight_decay"}
    spec.check_config(spec.default_config)
    for entry in spec.weights:
        path = genzoo_core.resolve_weights(f"rbm/{entry.name}")[1]
        spec.check_config(genzoo_core.read_header(path).config)


def test_pretrained_weights_reproduce_their_recorded_nll():
    _, path = genzoo_core.resolve_weights("rbm/mnist")  # verifies the sha256
    header = genzoo_core.read_header(path)
    metrics = header.metadata["metrics"]
    assert header.metadata["dataset"] == "binarized-mnist:train"
    assert metrics["test_nll"]["nll_nats"] <= 95  # the target: log-likelihood >= -95 nats
    model = genzoo_core.load("rbm/mnist")
    log_z, std_error = model.rbm.log_partition.numpy()
    assert std_error >= 0 and log_z == pytest.approx(metrics["log_partition"], abs=1e-3)
    test = binarized_mnist("test", 500).images / 255.0
    # the stored log Z makes this deterministic: only float32 rounding separates the runs
    assert -model.log_prob(test).mean() == pytest.approx(metrics["test_nll_first_500"], abs=0.01)
    # the model prefers real digits to noise of the same density
    noise = (np.random.default_rng(0).random(test.shape) < test.mean()).astype(np.float64)
    assert model.log_prob(test).mean() > model.log_prob(noise).mean() + 50


def test_log_prob_estimates_log_z_from_the_pixel_means_of_ais_base_rates():
    """Without a stored estimate, log_prob runs AIS from the named data's pixel means."""
    require_data("mnist.npz")
    model = genzoo_core.create("rbm", hidden_units=6, ais_temperatures=40, ais_runs=4,
                               ais_base_rates="mnist")
    rng = np.random.default_rng(3)
    model.rbm.kernel.assign(rng.normal(0, 0.3, (784, 6)))
    model.rbm.visible_bias.assign(rng.normal(0, 1.0, 784))
    parameters = [p.numpy().astype(np.float64) for p in (
        model.rbm.kernel, model.rbm.visible_bias, model.rbm.hidden_bias)]
    means = (genzoo_core.load_data("mnist", "train").images.astype(np.float32) / 255.0
             ).reshape(60000, -1).mean(axis=0, dtype=np.float64)
    expected = ais_log_partition(*parameters, means, temperatures=40, runs=4, seed=0)
    from_biases = ais_log_partition(*parameters, 1 / (1 + np.exp(-parameters[1])),
                                    temperatures=40, runs=4, seed=0)
    assert abs(expected["log_partition"] - from_biases["log_partition"]) > 1e-3
    images = binarized_mnist("test", 3).images / 255.0
    log_p = model.log_prob(images)
    log_z, std_error = model.rbm.log_partition.numpy()
    assert std_error >= 0  # estimated, and stored for the next call
    assert log_z == pytest.approx(expected["log_partition"], abs=1e-3)
    np.testing.assert_allclose(log_p, -model.free_energy(images) - log_z, rtol=1e-6)



# -- the recipe of the shipped weights ----------------------------------------------------


def test_the_recipe_names_the_shipped_weights_and_their_stored_config():
    recipe = genzoo_core.get_recipe("rbm/mnist")  # parsed and checked by the core
    assert recipe.name == "rbm/mnist" and len(recipe.stages) == 1
    assert "mnist" in [w.name for w in genzoo_core.get_spec("rbm").weights]
    header = genzoo_core.read_header(genzoo_core.resolve_weights("rbm/mnist")[1])
    stage = recipe.final_stage
    assert stage.dataset == header.metadata["dataset"].partition(":")[0]
    config = dict(stage.config)
    # ais_base_rates came after the file: its metadata names the base rates in words
    assert config.pop("ais_base_rates") == "mnist"
    metrics = header.metadata["metrics"]
    assert metrics["ais_base_rates"].startswith("mnist train pixel means")
    assert config == header.config  # spelled out: it cannot drift from the file
    assert (metrics["ais_temperatures"], metrics["ais_runs"], metrics["ais_seed"]) == (
        config["ais_temperatures"], config["ais_runs"], 0)
    assert stage.epochs == metrics["epochs"]
    assert stage.batch_size == config["batch_size"]
    # the learning rate reaches 0 after the last of the epochs' 600 updates
    assert config["learning_rate_decay_steps"] == stage.epochs * 60000 // stage.batch_size
    # every recorded test image is scored: evaluate's n sets how many
    assert metrics["test_nll"]["images"] == recipe.evaluate["n"] == 10000
    assert recipe.storage_precision == "float32"
