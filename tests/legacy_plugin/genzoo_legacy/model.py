"""'legacy': a small MLP GAN, the starting point of your model.

Generator: z -> Dense(units, ReLU) -> Dense(pixels, tanh) -> image. Discriminator:
image -> Dense(units, LeakyReLU) -> one logit. Non-saturating GAN loss; one
discriminator step, then one generator step, per batch.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from genzoo_core import GenerativeModel, GenzooError, losses, replica_scale

from genzoo_legacy.plugin import SPEC


def build_generator(latent_dim: int, units: int, image_shape: list[int]) -> keras.Model:
    """Map z to an image in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(units, activation="relu", name="hidden")(z)
    x = keras.layers.Dense(math.prod(image_shape), activation="tanh", name="pixels")(x)
    return keras.Model(z, keras.layers.Reshape(tuple(image_shape))(x), name="generator")


def build_discriminator(image_shape: list[int], units: int) -> keras.Model:
    """Map an image in [-1, 1] to one real/fake logit."""
    images = keras.Input(tuple(image_shape), name="images")
    x = keras.layers.Flatten()(images)
    x = keras.layers.Dense(units, name="hidden")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    return keras.Model(images, keras.layers.Dense(1, name="logit")(x), name="discriminator")


class Legacy(GenerativeModel):
    """'legacy': ``sample(n, seed=...)`` draws images in [0, 1]."""

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.config
        self.latent_dim = int(c["latent_dim"])
        self.generator = build_generator(self.latent_dim, c["units"], c["image_shape"])
        self.discriminator = build_discriminator(c["image_shape"], c["units"])
        self.adversarial_loss = losses.get_gan_loss("non-saturating")

    def make_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """One Adam per network."""
        rate = self.config["learning_rate"]
        return {name: keras.optimizers.Adam(rate, beta_1=0.5, name=name)
                for name in ("generator", "discriminator")}

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Update the discriminator, then the generator on fresh noise."""
        real = batch["images"] * 2.0 - 1.0  # the core's data is in [0, 1]
        z = tf.random.normal((tf.shape(real)[0], self.latent_dim))
        with tf.GradientTape() as tape:
            d_loss = self.adversarial_loss.discriminator(
                self.discriminator(real, training=True),
                self.discriminator(self.generator(z, training=True), training=True),
            )
            scaled = replica_scale(d_loss)  # correct gradients under tf.distribute
        variables = self.discriminator.trainable_variables
        self.optimizers["discriminator"].apply_gradients(
            zip(tape.gradient(scaled, variables), variables, strict=True)
        )
        z = tf.random.normal((tf.shape(real)[0], self.latent_dim))
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.adversarial_loss.generator(fake_logits)
            scaled = replica_scale(g_loss)
        variables = self.generator.trainable_variables
        self.optimizers["generator"].apply_gradients(
            zip(tape.gradient(scaled, variables), variables, strict=True)
        )
        return {"d_loss": d_loss, "g_loss": g_loss}

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Draw z from ``rng`` (so a seed fixes the images) and map it to [0, 1]."""
        if condition is not None:
            raise GenzooError("'legacy' is unconditional: it takes no condition")
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        images = self.predict_in_batches(lambda b: self.generator(b, training=False), z)
        return (images + 1.0) / 2.0
