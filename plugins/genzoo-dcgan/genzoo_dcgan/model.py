"""DCGAN (Radford, Metz & Chintala 2016), for 28x28 greyscale or 32x32 / 64x64 images.

Generator: z -> Dense to a 7x7 (28x28 output) or 4x4 (32, 64) map -> a stack of
strided transposed convolutions that double the size, each followed by batch
norm and ReLU, and a final one to the image channels with tanh. Discriminator:
strided convolutions that halve the size, LeakyReLU(0.2), batch norm after all
but the first, and one logit. Under a gradient-penalty loss the critic has no
batch norm (the penalty is per example, which batch statistics would couple).

The adversarial loss is any entry of ``genzoo_core.losses.GAN_LOSSES``; with
``wasserstein-gp`` use ``critic_steps=5``: each train step then updates the
critic five times (each on fresh z and a fresh interpolation weight ε ~ U[0, 1]
for the penalty) before one generator update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError, GenzooError
from genzoo_core.plugin import GenerativeModel, inference_function, losses
from genzoo_dcgan.plugin import SPEC

KERNEL = 5  # the 5x5 kernels of the DCGAN paper and the TensorFlow DCGAN tutorial


# -- architecture -------------------------------------------------------------------


def upsampling_plan(image_shape: Sequence[int]) -> tuple[int, int]:
    """(start size, number of 2x resamplings) between a small map and the image size."""
    size = image_shape[0]
    if image_shape[0] != image_shape[1] or size not in (28, 32, 64):
        raise ConfigError(
            f"dcgan supports square 28, 32 or 64 pixel images, got image_shape={list(image_shape)}"
        )
    return (7, 2) if size == 28 else (4, int(np.log2(size // 4)))


def build_generator(latent_dim: int, image_shape: Sequence[int], filters: int) -> keras.Model:
    """Map z to an image in [-1, 1] through transposed convolutions.

    28x28: the TensorFlow DCGAN tutorial's layout, 7x7x(4f) -> 7x7x(2f) -> 14x14xf
    -> 28x28xC. 32 and 64: the paper's, 4x4x(2^k f) halving the channels while
    doubling the size, e.g. 4x4x1024 -> 8x8x512 -> ... -> 64x64x3 for f = 64.
    """
    start, steps = upsampling_plan(image_shape)
    if image_shape[0] == 28:
        projected, plan = filters * 4, [(filters * 2, 1), (filters, 2)]
    else:
        projected = filters * 2**steps
        plan = [(filters * 2 ** (steps - 1 - i), 2) for i in range(steps - 1)]
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(start * start * projected, use_bias=False, name="project")(z)
    x = keras.layers.BatchNormalization(name="project_bn")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    x = keras.layers.Reshape((start, start, projected), name="to_map")(x)
    for i, (width, stride) in enumerate(plan):
        x = keras.layers.Conv2DTranspose(width, KERNEL, strides=stride, padding="same",
                                         use_bias=False, name=f"up_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"up_{i}_bn")(x)
        x = keras.layers.ReLU(name=f"up_{i}_relu")(x)
    images = keras.layers.Conv2DTranspose(image_shape[2], KERNEL, strides=2, padding="same",
                                          activation="tanh", name="to_image")(x)
    return keras.Model(z, images, name="generator")


def build_discriminator(
    image_shape: Sequence[int], filters: int, batch_norm: bool, dropout: float = 0.0
) -> keras.Model:
    """Map an image in [-1, 1] to one real/fake logit (or critic score).

    ``dropout`` > 0 follows each LeakyReLU with dropout, as the TensorFlow DCGAN
    tutorial's discriminator does: on MNIST it keeps the discriminator from
    memorising the training digits early, which the generator's quality follows.
    """
    _, steps = upsampling_plan(image_shape)
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    for i in range(steps):
        x = keras.layers.Conv2D(filters * 2**i, KERNEL, strides=2, padding="same",
                                name=f"down_{i}")(x)
        if batch_norm and i > 0:  # not on the input layer, as in the paper
            x = keras.layers.BatchNormalization(name=f"down_{i}_bn")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down_{i}_leaky_relu")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"down_{i}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logits = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(images, logits, name="discriminator")


class DCGAN(GenerativeModel):
    """Unconditional DCGAN; ``sample(n, seed=...)`` draws images.

    Config keys (defaults in :data:`genzoo_dcgan.plugin.SPEC`): ``image_shape``
    ([28, 28, C], [32, 32, C] or [64, 64, C]), ``latent_dim``,
    ``generator_filters``, ``discriminator_filters``, ``loss`` (any name in
    ``genzoo_core.losses.GAN_LOSSES``), ``critic_steps``, ``learning_rate``,
    ``discriminator_batch_norm``, ``discriminator_dropout``, ``generator_ema``,
    ``beta_1``, ``beta_2``,
    ``batch_size``.
    """

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        upsampling_plan(c["image_shape"])  # a ConfigError for unsupported sizes, before any layer
        if int(c["critic_steps"]) < 1:
            raise ConfigError(f"critic_steps must be at least 1, got {c['critic_steps']}")
        self.latent_dim = int(c["latent_dim"])
        self.adversarial_loss = losses.get_gan_loss(c["loss"])
        self.generator = build_generator(self.latent_dim, c["image_shape"],
                                         c["generator_filters"])
        self.discriminator = build_discriminator(
            c["image_shape"], c["discriminator_filters"],
            batch_norm=bool(c["discriminator_batch_norm"])
            and not self.adversarial_loss.gradient_penalty_weight,
            dropout=float(c["discriminator_dropout"]),
        )
        self._generate_images = inference_function(
            lambda z: (self.generator(z, training=False) + 1.0) / 2.0, networks=[self.generator]
        )

    def call(self, z: Any, training: bool = False) -> Any:
        """Generator output in [-1, 1] for latent vectors ``z``."""
        return self.generator(z, training=training)

    # -- loss and train step ----------------------------------------------------------

    def make_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """One Adam per network from learning_rate, beta_1 and beta_2 (2e-4, 0.5, 0.999).

        With ``generator_ema`` > 0 the generator's Adam also keeps an exponential
        moving average of the generator's weights (Keras' ``use_ema``), and the
        finished run's weights are that average (see
        :meth:`~genzoo_core.GenerativeModel.finalize_weights`): averaging over the
        last few thousand updates smooths out the GAN's oscillation, the usual way
        to a lower FID at no cost per step.
        """
        optimizers = super().make_optimizers()
        momentum = float(self.settings["generator_ema"])
        if momentum:
            c = self.settings
            optimizers["generator"] = keras.optimizers.Adam(
                c["learning_rate"], beta_1=c["beta_1"], beta_2=c["beta_2"], use_ema=True,
                ema_momentum=momentum, name="generator",
            )
        return optimizers

    def _discriminator_step(self, real: tf.Tensor) -> tf.Tensor:
        z = tf.random.normal((tf.shape(real)[0], self.latent_dim))
        fake = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            loss = self.adversarial_loss.discriminator_objective(
                lambda x: self.discriminator(x, training=True), real, fake
            )
        self.minimize(tape, loss, "discriminator")
        return loss

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """``critic_steps`` discriminator updates, then one generator update."""
        real = batch["images"] * 2.0 - 1.0  # data in [0, 1] -> tanh range
        for _ in range(int(self.settings["critic_steps"])):
            d_loss = self._discriminator_step(real)

        z = tf.random.normal((tf.shape(real)[0], self.latent_dim))
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.adversarial_loss.generator(fake_logits)
        self.minimize(tape, g_loss, "generator")
        return {"d_loss": d_loss, "g_loss": g_loss}

    # -- sampling ------------------------------------------------------------------------

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Draw z ~ N(0, I) from ``rng`` and map it through the generator."""
        if condition is not None:
            raise GenzooError("the DCGAN is unconditional: it takes no condition or --label")
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.predict_in_batches(self._generate_images, z)
