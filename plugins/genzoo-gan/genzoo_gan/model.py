"""The vanilla GAN of Goodfellow et al. (2014), with the MLPs of the seed chapter.

Generator: z (100) -> Dense 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2) between,
tanh output reshaped to 28x28x1. Discriminator: 784 -> Dense 1024 -> 512 -> 256
-> 1 logit, LeakyReLU(0.2) and dropout between. Both trained with Adam(2e-4,
beta_1=0.5), one discriminator step then one generator step per batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError, GenzooError
from genzoo_core.plugin import GenerativeModel, inference_function, losses
from genzoo_gan.plugin import SPEC

# -- architecture -------------------------------------------------------------------


def build_generator(
    latent_dim: int, units: Sequence[int], image_shape: Sequence[int], slope: float
) -> keras.Model:
    """MLP from a latent vector to an image in [-1, 1] (tanh)."""
    z = keras.Input((latent_dim,), name="z")
    x = z
    for i, width in enumerate(units):
        x = keras.layers.Dense(width, name=f"dense_{i}")(x)
        x = keras.layers.LeakyReLU(slope, name=f"leaky_relu_{i}")(x)
    x = keras.layers.Dense(math.prod(image_shape), activation="tanh", name="to_pixels")(x)
    images = keras.layers.Reshape(tuple(image_shape), name="to_image")(x)
    return keras.Model(z, images, name="generator")


def build_discriminator(
    image_shape: Sequence[int], units: Sequence[int], slope: float, dropout: float
) -> keras.Model:
    """MLP from an image in [-1, 1] to one real/fake logit."""
    images = keras.Input(tuple(image_shape), name="images")
    x = keras.layers.Flatten(name="flatten")(images)
    for i, width in enumerate(units):
        x = keras.layers.Dense(width, name=f"dense_{i}")(x)
        x = keras.layers.LeakyReLU(slope, name=f"leaky_relu_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(images, logits, name="discriminator")


class VanillaGAN(GenerativeModel):
    """Unconditional MLP GAN; ``sample(n, seed=...)`` draws digits.

    Config keys (defaults in :data:`genzoo_gan.plugin.SPEC`): ``image_shape``,
    ``latent_dim``, ``generator_units``, ``discriminator_units``, ``dropout``,
    ``leaky_relu_slope``, ``loss`` (any name in ``genzoo_core.losses.GAN_LOSSES``),
    ``learning_rate``, ``beta_1``, ``batch_size``.
    """

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        if not 1 <= c["image_shape"][2] <= 4:
            raise ConfigError(
                f"config key 'image_shape': the channels (its last item) must be 1 to 4, "
                f"got {list(c['image_shape'])}"
            )
        self.latent_dim = int(c["latent_dim"])
        self.adversarial_loss = losses.get_gan_loss(c["loss"])
        self.generator = build_generator(
            self.latent_dim, c["generator_units"], c["image_shape"], c["leaky_relu_slope"]
        )
        self.discriminator = build_discriminator(
            c["image_shape"], c["discriminator_units"], c["leaky_relu_slope"], c["dropout"]
        )
        self._generate_images = inference_function(
            lambda z: (self.generator(z, training=False) + 1.0) / 2.0, networks=[self.generator]
        )

    def call(self, z: Any, training: bool = False) -> Any:
        """Generator output in [-1, 1] for latent vectors ``z``."""
        return self.generator(z, training=training)

    # -- loss and train step ----------------------------------------------------------
    # The optimizers are the core's default: one Adam per network from learning_rate and
    # beta_1, as in the seed chapter (2e-4, beta_1 0.5).

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """One discriminator update, then one generator update, on a fresh z each."""
        real = batch["images"] * 2.0 - 1.0  # data in [0, 1] -> tanh range
        n = tf.shape(real)[0]

        z = tf.random.normal((n, self.latent_dim))
        fake = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            d_loss = self.adversarial_loss.discriminator_objective(
                lambda x: self.discriminator(x, training=True), real, fake
            )
        self.minimize(tape, d_loss, "discriminator")

        z = tf.random.normal((n, self.latent_dim))
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.adversarial_loss.generator(fake_logits)
        self.minimize(tape, g_loss, "generator")
        return {"d_loss": d_loss, "g_loss": g_loss}

    # -- sampling ------------------------------------------------------------------------

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Draw z ~ N(0, I) from ``rng`` and map it through the generator."""
        if condition is not None:
            raise GenzooError("the vanilla GAN is unconditional: it takes no condition or --label")
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.predict_in_batches(self._generate_images, z)
