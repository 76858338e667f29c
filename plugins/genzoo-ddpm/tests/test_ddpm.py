"""genzoo-ddpm: the schedule, the forward process, the loss, the samplers, guidance, the bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

import genzoo_core
from genzoo_core import ConfigError

SMALL = {"channels": [8, 16], "groups": 4, "attention_levels": [1], "timesteps": 50,
         "sampling_steps": 10, "preview_steps": 4, "likelihood_timesteps": 49}


@pytest.fixture(scope="module")
def model():
    return genzoo_core.create("ddpm", **SMALL)


@pytest.fixture(scope="module")
def guided():
    m = genzoo_core.create("ddpm-guided", **SMALL, label_dropout=0.25)
    # Non-zero output weights, so the label changes the noise estimate.
    rng = np.random.default_rng(1)
    m.ema_denoiser.set_weights([rng.normal(0, 0.05, w.shape).astype("float32")
                                for w in m.ema_denoiser.get_weights()])
    return m


def _model_module():
    from genzoo_ddpm import model as ddpm_model

    return ddpm_model


# -- the schedule and the forward process --------------------------------------------------


def test_linear_schedule_is_ho_et_al_for_1000_steps():
    m = _model_module()
    betas = m.beta_schedule("linear", 1000)
    assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02)
    # Scaled for other lengths: the same endpoints times 1000 / T, and never past 0.999.
    assert m.beta_schedule("linear", 100)[-1] == pytest.approx(0.2)
    short = m.beta_schedule("linear", 10)
    assert short.max() == pytest.approx(0.999) and np.all(np.cumprod(1 - short) > 0)


def test_cosine_schedule_follows_its_abar():
    m = _model_module()
    betas = m.beta_schedule("cosine", 200)
    abar = np.cumprod(1 - betas)
    t = np.arange(1, 201) / 200
    f = np.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2 / np.cos(0.008 / 1.008 * math.pi / 2) ** 2
    np.testing.assert_allclose(abar[:-5], f[:-5], rtol=1e-6)  # the last betas are capped
    assert np.all(betas <= 0.999) and np.all(np.diff(abar) < 0)


def test_forward_noising_in_one_jump_matches_the_markov_chain():
    """x_t from x_0 in one jump has the law of t steps x_s = sqrt(1-b) x_{s-1} + sqrt(b) e."""
    m = _model_module()
    schedule = m.Schedule(m.beta_schedule("linear", 50))
    rng = np.random.default_rng(0)
    x0 = np.full((200_000,), 0.7)
    t = 30
    chain = x0.copy()
    for beta in schedule.betas[: t + 1]:
        chain = math.sqrt(1 - beta) * chain + math.sqrt(beta) * rng.standard_normal(chain.shape)
    jump = m.noised(x0, rng.standard_normal(x0.shape), schedule.alphas_cumprod[t])
    abar = schedule.alphas_cumprod[t]
    for x in (chain, jump):
        assert x.mean() == pytest.approx(math.sqrt(abar) * 0.7, abs=0.01)
        assert x.var() == pytest.approx(1 - abar, abs=0.01)


def test_posterior_coefficients_invert_the_forward_step():
    """The posterior mean at x_t = noised(x_0, eps) uses Ho et al.'s eq. 7 coefficients."""
    m = _model_module()
    s = m.Schedule(m.beta_schedule("linear", 50))
    t = 20
    beta, abar, abar_prev = s.betas[t], s.alphas_cumprod[t], s.alphas_cumprod_prev[t]
    assert s.coef_x0[t] == pytest.approx(math.sqrt(abar_prev) * beta / (1 - abar))
    assert s.coef_xt[t] == pytest.approx(math.sqrt(1 - beta) * (1 - abar_prev) / (1 - abar))
    assert s.posterior_variance[t] == pytest.approx((1 - abar_prev) / (1 - abar) * beta)


# -- the loss and the train step -------------------------------------------------------------


def test_the_untrained_network_predicts_no_noise_so_the_loss_is_the_noise_power():
    """The last convolution starts at zero, so the first loss is E[eps^2] = 1."""
    fresh = genzoo_core.create("ddpm", **SMALL)
    fresh.compile()
    assert list(fresh.optimizers) == ["denoiser"]  # the average is not optimized
    assert not fresh.ema_denoiser.trainable_variables
    images = tf.random.uniform((64, 28, 28, 1), seed=0)
    loss = float(fresh.train_step({"images": images})["loss"])
    assert loss == pytest.approx(1.0, abs=0.02)


def test_training_lowers_the_loss_and_moves_the_average():
    tf.random.set_seed(0)
    m = genzoo_core.create("ddpm", **SMALL, learning_rate=3e-3, ema_decay=0.9)
    m.compile()
    images = tf.cast(tf.random.uniform((16, 28, 28, 1), seed=1) > 0.8, tf.float32)
    step = tf.function(m.train_step)
    average_before = [w.copy() for w in m.ema_denoiser.get_weights()]
    first = np.mean([float(step({"images": images})["loss"]) for _ in range(5)])
    for _ in range(20):
        step({"images": images})
    last = np.mean([float(step({"images": images})["loss"]) for _ in range(5)])
    assert last < 0.8 * first
    moved = [not np.allclose(a, b) for a, b in
             zip(average_before, m.ema_denoiser.get_weights(), strict=True)]
    assert any(moved)
    # The average lags the trained weights: it is not a copy of them.
    assert not all(np.allclose(a, b) for a, b in
                   zip(m.ema_denoiser.get_weights(), m.denoiser.get_weights(), strict=True))


# -- the samplers ------------------------------------------------------------------------------


def test_ddim_step_matches_a_hand_computation():
    m = _model_module()
    x_t, eps = np.array([0.3], np.float32), np.array([-0.5], np.float32)
    abar, abar_prev, eta, noise = 0.5, 0.8, 0.6, np.array([1.5], np.float32)
    x0 = (0.3 - math.sqrt(0.5) * -0.5) / math.sqrt(0.5)  # 0.924..., inside [-1, 1]
    sigma = 0.6 * math.sqrt((1 - 0.8) / (1 - 0.5) * (1 - 0.5 / 0.8))
    expected = math.sqrt(0.8) * x0 + math.sqrt(1 - 0.8 - sigma**2) * -0.5 + sigma * 1.5
    got = m.ddim_step(x_t, eps, abar, abar_prev, eta, noise)
    assert got[0] == pytest.approx(expected, rel=1e-6)
    # eta 0 is deterministic: the noise is not used.
    a = m.ddim_step(x_t, eps, abar, abar_prev, 0.0, noise)
    b = m.ddim_step(x_t, eps, abar, abar_prev, 0.0, -noise)
    assert a[0] == b[0] == pytest.approx(math.sqrt(0.8) * x0 + math.sqrt(0.2) * -0.5, rel=1e-6)


def test_ddim_at_eta_1_has_the_ancestral_variance():
    """Song et al.: eta = 1 gives the DDPM posterior's variance at every step."""
    m = _model_module()
    x_t, eps = np.zeros(1, np.float32), np.zeros(1, np.float32)
    abar, abar_prev = 0.4, 0.45
    up, down = np.ones(1, np.float32), -np.ones(1, np.float32)
    ddim_sigma = (m.ddim_step(x_t, eps, abar, abar_prev, 1.0, up)
                  - m.ddim_step(x_t, eps, abar, abar_prev, 1.0, down))[0] / 2
    ancestral_sigma = (m.ancestral_step(x_t, eps, abar, abar_prev, up)
                       - m.ancestral_step(x_t, eps, abar, abar_prev, down))[0] / 2
    assert ddim_sigma == pytest.approx(ancestral_sigma, rel=1e-5)


def test_sampling_timesteps_run_from_t_minus_1_to_0():
    m = _model_module()
    path = m.sampling_timesteps(1000, 50)
    assert len(path) == 50 and path[0] == 999 and path[-1] == 0 and np.all(np.diff(path) < 0)
    assert list(m.sampling_timesteps(5, 5)) == [4, 3, 2, 1, 0]
    with pytest.raises(ConfigError, match="steps must be in 1..1000"):
        m.sampling_timesteps(1000, 1001)


def test_the_same_seed_gives_the_same_images(model):
    for sampler in ("ddim", "ddpm"):
        a = model.sample(3, seed=7, sampler=sampler, steps=5)
        b = model.sample(3, seed=7, sampler=sampler, steps=5)
        np.testing.assert_array_equal(a, b)
        assert a.shape == (3, 28, 28, 1) and a.min() >= 0 and a.max() <= 1
    c = model.sample(3, seed=8, steps=5)
    assert not np.array_equal(model.sample(3, seed=7, steps=5), c)


def test_steps_count_network_evaluations(model, monkeypatch):
    calls = []
    original = type(model).noise_estimate
    monkeypatch.setattr(type(model), "noise_estimate",
                        lambda self, *a, **k: calls.append(a[1]) or original(self, *a, **k))
    model.sample(2, seed=0, steps=7)
    assert len(calls) == 7
    calls.clear()
    model.sample(2, seed=0, sampler="ddpm")  # ancestral, asked for: every one of T steps
    assert len(calls) == model.timesteps
    calls.clear()
    model.preview(4, seed=0)
    assert len(calls) == SMALL["preview_steps"]


def test_sample_options_are_checked(model):
    with pytest.raises(ConfigError, match="steps"):
        model.sample(2, steps=0)
    with pytest.raises(ConfigError, match="guidance"):
        model.sample(2, guidance=2.0)  # the unconditional model takes no guidance
    with pytest.raises(ConfigError, match="steps must be in 1..50"):
        model.sample(2, steps=51)


def test_denoising_trajectory_has_the_asked_snapshots(model):
    x = np.random.default_rng(0).standard_normal((2, 28, 28, 1)).astype(np.float32)
    images, trajectory = model.denoise(x, None, sampler="ddim", steps=10, keep=5)
    assert trajectory.shape == (2, 5, 28, 28, 1)
    np.testing.assert_array_equal(trajectory[:, 0], np.clip((x + 1) / 2, 0, 1))  # the noise
    np.testing.assert_array_equal(trajectory[:, -1], images)  # the finished image
    np.testing.assert_array_equal(images, model.denoise(x, None, sampler="ddim", steps=10))


# -- guidance ------------------------------------------------------------------------------------


def test_guidance_0_is_the_unconditional_model(guided):
    """At w = 0 the label is ignored: any labels give the images of the "no label" token."""
    zeros = guided.sample(4, seed=3, steps=5, condition=np.zeros(4, np.int64), guidance=0.0)
    sevens = guided.sample(4, seed=3, steps=5, condition=np.full(4, 7), guidance=0.0)
    np.testing.assert_array_equal(zeros, sevens)
    conditional = guided.sample(4, seed=3, steps=5, condition=np.full(4, 7), guidance=1.0)
    assert not np.allclose(conditional, sevens)


def test_guidance_mixes_the_two_estimates(guided):
    x = np.random.default_rng(0).standard_normal((2, 28, 28, 1)).astype(np.float32)
    labels = np.array([1, 2], np.int32)
    free = guided.noise_estimate(x, 10, labels, 0.0)
    cond = guided.noise_estimate(x, 10, labels, 1.0)
    mixed = guided.noise_estimate(x, 10, labels, 3.0)
    np.testing.assert_allclose(mixed, free + 3.0 * (cond - free), rtol=1e-4, atol=1e-5)


def test_guided_labels_are_checked(guided):
    with pytest.raises(ConfigError, match=r"lie in \[0, 10\)"):
        guided.sample(2, steps=2, condition=np.array([0, 10]))
    with pytest.raises(ConfigError, match="one label per image"):
        guided.sample(2, steps=2, condition=np.array([1]))


def test_training_drops_the_label_for_the_asked_share(guided):
    labels = guided.training_labels({"labels": tf.zeros((20_000,), tf.int32)}, 20_000).numpy()
    assert set(np.unique(labels)) == {0, 10}
    assert (labels == 10).mean() == pytest.approx(0.25, abs=0.015)


# -- the bound ------------------------------------------------------------------------------------


def test_the_discretized_decoder_sums_to_one_over_the_256_levels():
    m = _model_module()
    levels = np.arange(256) / 127.5 - 1.0
    for mean in (-1.2, -0.3, 0.0, 0.77):
        p = np.exp(m.discretized_gaussian_log_likelihood(levels, np.full(256, mean), -4.0))
        assert p.sum() == pytest.approx(1.0, abs=1e-6)


def test_log_prob_is_a_bound_in_nats(model):
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1)) / 255.0
    exact = model.log_prob(x, timesteps=model.timesteps)
    assert exact.shape == (3,) and np.all(np.isfinite(exact))
    assert np.all(exact < 0)  # a log-probability of 784 discrete values
    np.testing.assert_array_equal(model.log_prob(x, seed=1), model.log_prob(x, seed=1))
    # Every middle term once (T - 1 of them): the same sum up to the x_t draws.
    np.testing.assert_allclose(model.log_prob(x, seed=3, timesteps=model.timesteps - 1), exact,
                               rtol=0.03)


@pytest.mark.parametrize("count", [1, 7, 10, 48])
def test_the_bound_estimate_covers_every_term_once_in_expectation(count):
    m = _model_module()
    rng = np.random.default_rng(0)
    picks, weights = m.bound_timesteps(50, count, rng)
    assert len(picks) == count and weights.sum() == 49  # the terms t = 1..49
    assert picks.min() >= 1 and picks.max() <= 49 and np.all(np.diff(picks) > 0)
    # Unbiased: averaged over draws, sum(weight * f(t)) is the sum of f over 1..49.
    f = np.sqrt(np.arange(50.0))
    estimates = [np.sum(w * f[p]) for p, w in (m.bound_timesteps(50, count, rng)
                                               for _ in range(4000))]
    assert np.mean(estimates) == pytest.approx(f[1:].sum(), rel=0.005)
    full, ones = m.bound_timesteps(50, 49, rng)
    assert list(full) == list(range(1, 50)) and np.all(ones == 1)


def test_log_prob_refuses_other_shapes(model):
    with pytest.raises(ConfigError, match="log_prob takes images"):
        model.log_prob(np.zeros((2, 14, 14, 1)))


# -- configs and files ---------------------------------------------------------------------------


@pytest.mark.parametrize(("override", "message"), [
    ({"image_shape": [30, 30, 1], "channels": [8, 16, 16]}, "divisible by 4"),
    ({"channels": [8, 10]}, "divisible by groups"),
    ({"attention_levels": [2]}, "attention_levels name levels 0..1"),
])
def test_bad_configs_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        genzoo_core.create("ddpm", **{**SMALL, **override})


def test_a_published_file_holds_the_average_and_restores_the_trained_network(model, tmp_path):
    path = tmp_path / "published.h5"
    model.save_weights(str(path), leave_out_training=True)
    import h5py

    with h5py.File(path) as f:
        assert list(f["components"]) == ["ema_denoiser"]
    loaded = genzoo_core.load(str(path))
    for a, b in zip(loaded.ema_denoiser.get_weights(), model.ema_denoiser.get_weights(),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    # Fine-tuning starts from the average.
    for a, b in zip(loaded.denoiser.get_weights(), model.ema_denoiser.get_weights(),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.sample(2, seed=0, steps=3),
                                  model.sample(2, seed=0, steps=3))
