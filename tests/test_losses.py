"""Each loss against a value computed by hand (math module, float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from genzoo_core import ConfigError, losses

REAL = [2.0, -1.0]  # discriminator logits on real images
FAKE = [0.5, -3.0]  # ... on generated images


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def mean(values):
    return sum(values) / len(values)


def value(tensor):
    return float(tensor.numpy())


def test_minimax_discriminator_is_binary_cross_entropy():
    expected = mean([-math.log(sigmoid(r)) for r in REAL]) + mean(
        [-math.log(1 - sigmoid(f)) for f in FAKE]
    )
    assert value(losses.minimax_discriminator_loss(tf.constant(REAL), tf.constant(FAKE))) == (
        pytest.approx(expected, rel=1e-6)
    )


def test_minimax_generator_is_log_one_minus_d():
    expected = mean([math.log(1 - sigmoid(f)) for f in FAKE])
    assert value(losses.minimax_generator_loss(tf.constant(FAKE))) == pytest.approx(expected, 1e-6)


def test_non_saturating_generator_is_minus_log_d():
    expected = mean([-math.log(sigmoid(f)) for f in FAKE])
    got = value(losses.non_saturating_generator_loss(tf.constant(FAKE)))
    assert got == pytest.approx(expected, rel=1e-6)
    # and it differs from minimax (the point of the heuristic)
    assert got != pytest.approx(value(losses.minimax_generator_loss(tf.constant(FAKE))))


def test_least_squares():
    d = 0.5 * mean([(r - 1) ** 2 for r in REAL]) + 0.5 * mean([f**2 for f in FAKE])
    g = 0.5 * mean([(f - 1) ** 2 for f in FAKE])
    assert value(losses.least_squares_discriminator_loss(tf.constant(REAL), tf.constant(FAKE))) == (
        pytest.approx(d)
    )
    assert value(losses.least_squares_generator_loss(tf.constant(FAKE))) == pytest.approx(g)


def test_wasserstein():
    assert value(losses.wasserstein_critic_loss(tf.constant(REAL), tf.constant(FAKE))) == (
        pytest.approx(mean(FAKE) - mean(REAL))
    )
    assert value(losses.wasserstein_generator_loss(tf.constant(FAKE))) == pytest.approx(-mean(FAKE))


def test_hinge():
    d = mean([max(0, 1 - r) for r in REAL]) + mean([max(0, 1 + f) for f in FAKE])
    assert d == pytest.approx(1.0 + 0.75)  # 0.5*(0 + 2) + 0.5*(1.5 + 0)
    assert value(losses.hinge_discriminator_loss(tf.constant(REAL), tf.constant(FAKE))) == (
        pytest.approx(d)
    )


def test_gradient_penalty_of_a_linear_critic():
    # C(x) = <w, x>: the gradient is w everywhere, so the penalty is (|w| - 1)^2.
    w = tf.constant([[3.0], [4.0]])  # |w| = 5

    def critic(x):
        return tf.matmul(x, w)

    real = tf.constant([[1.0, 2.0], [0.0, 1.0]])
    fake = tf.constant([[-1.0, 0.5], [2.0, 2.0]])
    got = value(losses.gradient_penalty(critic, real, fake))
    assert got == pytest.approx((5.0 - 1.0) ** 2, rel=1e-5)
    unit = tf.constant([[0.6], [0.8]])  # a 1-Lipschitz critic: no penalty
    assert value(losses.gradient_penalty(lambda x: tf.matmul(x, unit), real, fake)) == (
        pytest.approx(0.0, abs=1e-6)
    )


def test_gradient_penalty_interpolates_with_epsilon():
    # C(x) = sum(x^2)/2 has gradient x, so the norm is |x_hat| at the interpolate.
    real = tf.constant([[3.0, 0.0]])
    fake = tf.constant([[0.0, 0.0]])
    got = value(losses.gradient_penalty(
        lambda x: 0.5 * tf.reduce_sum(x * x, axis=1), real, fake, epsilon=tf.constant([0.5])
    ))
    assert got == pytest.approx((1.5 - 1.0) ** 2, rel=1e-5)


def test_reconstruction_losses():
    a = tf.constant([[0.0, 1.0], [2.0, 3.0]])
    b = tf.constant([[1.0, 1.0], [0.0, 3.5]])
    l1 = mean([1.0, 0.0, 2.0, 0.5])
    assert value(losses.l1_loss(a, b)) == pytest.approx(l1)
    assert value(losses.cycle_consistency_loss(a, b)) == pytest.approx(10 * l1)
    assert value(losses.identity_loss(a, b, weight=5.0)) == pytest.approx(5 * l1)


def test_kl_divergence_standard_normal_matches_closed_form():
    mu = np.array([[0.5, -1.0], [0.0, 0.0]])
    log_var = np.array([[0.2, -0.3], [0.0, 0.0]])
    per_example = [
        sum(0.5 * (math.exp(lv) + m * m - 1 - lv) for m, lv in zip(mrow, lrow))
        for mrow, lrow in zip(mu, log_var)
    ]
    got = value(losses.kl_divergence_standard_normal(tf.constant(mu), tf.constant(log_var)))
    assert got == pytest.approx(mean(per_example))
    assert per_example[1] == 0.0  # N(0, 1) against itself


def test_gan_loss_registry():
    assert set(losses.GAN_LOSSES) == {
        "minimax", "non-saturating", "least-squares", "wasserstein", "wasserstein-gp", "hinge"
    }
    assert losses.get_gan_loss("wasserstein-gp").gradient_penalty_weight == 10.0
    assert losses.get_gan_loss("hinge").gradient_penalty_weight == 0.0
    with pytest.raises(ConfigError, match="Did you mean least-squares"):
        losses.get_gan_loss("least-square")


def test_discriminator_objective_adds_the_penalty_only_when_the_loss_has_one():
    w = tf.constant([[3.0], [4.0]])  # |w| = 5: the penalty is (5 - 1)^2 = 16 everywhere

    def critic(x):
        return tf.matmul(x, w)

    real = tf.constant([[1.0, 2.0], [0.0, 1.0]])
    fake = tf.constant([[-1.0, 0.5], [2.0, 2.0]])
    real_scores, fake_scores = [11.0, 4.0], [-1.0, 14.0]
    wasserstein = mean(fake_scores) - mean(real_scores)
    got = value(losses.get_gan_loss("wasserstein-gp").discriminator_objective(critic, real, fake))
    assert got == pytest.approx(wasserstein + 10.0 * 16.0, rel=1e-5)
    got = value(losses.get_gan_loss("wasserstein").discriminator_objective(critic, real, fake))
    assert got == pytest.approx(wasserstein, rel=1e-6)
