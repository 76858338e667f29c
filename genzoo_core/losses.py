"""Losses shared by the models: adversarial, reconstruction and KL.

Adversarial losses take discriminator *logits* (or critic scores) and return the
mean over the local batch (and over patches, for PatchGAN outputs). Under a
``tf.distribute`` strategy, divide by the replica count before taking gradients
(:func:`genzoo_core.replica_scale`).

With D(x) = sigmoid(logit):

=================  ==========================================  ==============================
name               discriminator loss                          generator loss
=================  ==========================================  ==============================
minimax            -log D(x) - log(1 - D(G(z)))                 log(1 - D(G(z)))
non-saturating     -log D(x) - log(1 - D(G(z)))                 -log D(G(z))
least-squares      ½(D(x) - 1)² + ½ D(G(z))²  (on raw scores)   ½(D(G(z)) - 1)²
wasserstein        C(G(z)) - C(x)                               -C(G(z))
wasserstein-gp     as wasserstein, + λ·(‖∇C(x̂)‖ - 1)²            -C(G(z))
hinge              max(0, 1 - C(x)) + max(0, 1 + C(G(z)))       -C(G(z))
=================  ==========================================  ==============================

Every loss is computed in float32, whatever the dtype of its inputs: under a
mixed-precision policy (see :mod:`genzoo_core.precision`) layers return
bfloat16 or float16 tensors, and :func:`as_float32` casts them first. A
plugin's own losses do the same.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from genzoo_core.errors import ConfigError

Tensor = Any


def as_float32(x: Tensor) -> Tensor:
    """``x`` as a float32 tensor: what a loss is computed in under mixed precision.

    Layer outputs come in the layer's compute dtype (bfloat16 or float16 under
    a mixed policy); cast logits, scores and reconstructions with this before
    taking a loss or a metric of them. Float32 and non-float tensors (integer
    labels) pass unchanged.
    """
    x = tf.convert_to_tensor(x)
    if x.dtype.is_floating and x.dtype != tf.float32:
        return tf.cast(x, tf.float32)
    return x


def minimax_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """-log D(x) - log(1 - D(G(z))), from logits (binary cross-entropy)."""
    real_logits, fake_logits = as_float32(real_logits), as_float32(fake_logits)
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(
        tf.nn.softplus(fake_logits)
    )


def minimax_generator_loss(fake_logits: Tensor) -> Tensor:
    """log(1 - D(G(z))): the original minimax objective, which saturates early on."""
    fake_logits = as_float32(fake_logits)
    return -tf.reduce_mean(tf.nn.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits: Tensor) -> Tensor:
    """-log D(G(z)): the heuristic of Goodfellow et al. 2014 with strong early gradients."""
    fake_logits = as_float32(fake_logits)
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def least_squares_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """LSGAN (Mao et al. 2017): ½(D(x) - 1)² + ½ D(G(z))²."""
    real_scores, fake_scores = as_float32(real_scores), as_float32(fake_scores)
    return 0.5 * tf.reduce_mean(tf.square(real_scores - 1.0)) + 0.5 * tf.reduce_mean(
        tf.square(fake_scores)
    )


def least_squares_generator_loss(fake_scores: Tensor) -> Tensor:
    """LSGAN generator: ½(D(G(z)) - 1)²."""
    fake_scores = as_float32(fake_scores)
    return 0.5 * tf.reduce_mean(tf.square(fake_scores - 1.0))


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """WGAN critic (Arjovsky et al. 2017): C(G(z)) - C(x)."""
    real_scores, fake_scores = as_float32(real_scores), as_float32(fake_scores)
    return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """WGAN generator: -C(G(z)). Also the hinge generator loss."""
    fake_scores = as_float32(fake_scores)
    return -tf.reduce_mean(fake_scores)


def hinge_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): relu(1 - C(x)) + relu(1 + C(G(z)))."""
    real_scores, fake_scores = as_float32(real_scores), as_float32(fake_scores)
    return tf.reduce_mean(tf.nn.relu(1.0 - real_scores)) + tf.reduce_mean(
        tf.nn.relu(1.0 + fake_scores)
    )


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    epsilon: Tensor | None = None,
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): E[(‖∇C(x̂)‖₂ - 1)²].

    x̂ = ε·real + (1 - ε)·fake with ε ~ U[0, 1] per example (or the given
    ``epsilon``, shape [batch]). Multiply by the penalty weight (λ = 10 in the
    paper) yourself, or use the ``wasserstein-gp`` entry of :func:`get_gan_loss`.

    The images are interpolated in float32 (real data is float32, generated
    images may be bfloat16 or float16 under a mixed policy); the critic casts
    x̂ to its compute dtype, and the gradient and penalty are float32.
    """
    real = as_float32(real)
    fake = as_float32(fake)
    batch = tf.shape(real)[0]
    if epsilon is None:
        epsilon = tf.random.uniform([batch], 0.0, 1.0, dtype=real.dtype)
    shape = tf.concat([[batch], tf.ones([tf.rank(real) - 1], tf.int32)], axis=0)
    epsilon = tf.reshape(tf.cast(epsilon, real.dtype), shape)
    interpolated = epsilon * real + (1.0 - epsilon) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        scores = as_float32(critic(interpolated))
    grads = as_float32(tape.gradient(scores, interpolated))
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads))) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def l1_loss(target: Tensor, prediction: Tensor) -> Tensor:
    """Mean absolute error (pix2pix's L1 term)."""
    return tf.reduce_mean(tf.abs(as_float32(target) - as_float32(prediction)))


def cycle_consistency_loss(
    real: Tensor, reconstructed: Tensor, weight: float = 10.0
) -> Tensor:
    """CycleGAN's λ·‖F(G(x)) - x‖₁ (mean over pixels), λ = 10 by default."""
    return weight * l1_loss(real, reconstructed)


def identity_loss(real: Tensor, same: Tensor, weight: float = 5.0) -> Tensor:
    """CycleGAN's identity term λ_id·‖G(y) - y‖₁, λ_id = 0.5·λ = 5 by default."""
    return weight * l1_loss(real, same)


def kl_divergence_standard_normal(mean: Tensor, log_variance: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) summed over the last axis, averaged over the batch.

    = ½ Σ (σ² + μ² - 1 - log σ²): the VAE's regulariser and StackGAN's
    conditioning-augmentation term.
    """
    mean, log_variance = as_float32(mean), as_float32(log_variance)
    kl = 0.5 * tf.reduce_sum(
        tf.exp(log_variance) + tf.square(mean) - 1.0 - log_variance, axis=-1
    )
    return tf.reduce_mean(kl)


@dataclass(frozen=True)
class GANLoss:
    """A pair of adversarial losses, selectable by name.

    Attributes:
        name: the registry name.
        discriminator: ``(real_logits, fake_logits) -> loss``.
        generator: ``(fake_logits) -> loss``.
        gradient_penalty_weight: λ for :func:`gradient_penalty`; 0 means none.
    """

    name: str
    discriminator: Callable[[Tensor, Tensor], Tensor]
    generator: Callable[[Tensor], Tensor]
    gradient_penalty_weight: float = 0.0

    def discriminator_objective(
        self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor
    ) -> Tensor:
        """The discriminator's loss on ``critic(real)`` and ``critic(fake)``, penalty included.

        ``critic`` maps images to logits (close over any condition, such as class
        labels); the gradient penalty is added when this loss has a weight for it.
        """
        loss = self.discriminator(critic(real), critic(fake))
        if self.gradient_penalty_weight:
            loss += self.gradient_penalty_weight * gradient_penalty(critic, real, fake)
        return loss


GAN_LOSSES: dict[str, GANLoss] = {
    loss.name: loss
    for loss in (
        GANLoss("minimax", minimax_discriminator_loss, minimax_generator_loss),
        GANLoss("non-saturating", minimax_discriminator_loss, non_saturating_generator_loss),
        GANLoss(
            "least-squares", least_squares_discriminator_loss, least_squares_generator_loss
        ),
        GANLoss("wasserstein", wasserstein_critic_loss, wasserstein_generator_loss),
        GANLoss("wasserstein-gp", wasserstein_critic_loss, wasserstein_generator_loss, 10.0),
        GANLoss("hinge", hinge_discriminator_loss, wasserstein_generator_loss),
    )
}


def get_gan_loss(name: str) -> GANLoss:
    """Return the adversarial loss called ``name`` (see :data:`GAN_LOSSES`)."""
    try:
        return GAN_LOSSES[name]
    except KeyError:
        close = difflib.get_close_matches(name, GAN_LOSSES, n=2, cutoff=0.4)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise ConfigError(
            f"unknown adversarial loss {name!r}; choose one of {', '.join(GAN_LOSSES)}.{hint}"
        ) from None
