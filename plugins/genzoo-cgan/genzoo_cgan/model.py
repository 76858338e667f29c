"""The conditional GAN of Mirza & Osindero (2014), with DCGAN-style convolutions.

The class label goes into both networks; every convolution is 3x3. Generator: a
label embedding (50) is concatenated to z (100) -> Dense 7*7*128 -> batch norm ->
ReLU -> reshape -> Conv2DTranspose 64, stride 2 -> batch norm -> ReLU ->
Conv2DTranspose C, stride 2, tanh -> 28x28xC. Discriminator: a label embedding
projected to a 28x28x1 map is concatenated to the image as an extra channel ->
Conv2D 64, stride 2 -> LeakyReLU(0.2) -> Conv2D 128, stride 2 -> LeakyReLU ->
flatten -> dropout 0.3 -> features h; logit = Dense 1 (h) + <e(y), h>, with a
per-class vector e(y) (the projection discriminator). Both trained with Adam(2e-4, beta_1=0.5),
one discriminator step then one generator step per batch, the fakes drawn for the
batch's own labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_cgan.plugin import SPEC
from genzoo_core import ConfigError
from genzoo_core.plugin import GenerativeModel, inference_function, losses

# -- architecture -------------------------------------------------------------------


def build_generator(
    latent_dim: int,
    num_classes: int,
    embedding_dim: int,
    filters: Sequence[int],
    image_shape: Sequence[int],
    kernel_size: int,
) -> keras.Model:
    """(z, label) -> image in [-1, 1] (tanh); the label embedding is concatenated to z."""
    height, width, channels = image_shape
    base_height, base_width = height // 4, width // 4  # two stride-2 upsamplings
    dense_filters, upsample_filters = filters
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    embedded = keras.layers.Embedding(num_classes, embedding_dim, name="label_embedding")(label)
    x = keras.layers.Concatenate(name="z_and_label")([z, embedded])
    x = keras.layers.Dense(
        base_height * base_width * dense_filters, use_bias=False, name="project"
    )(x)
    x = keras.layers.BatchNormalization(name="project_bn")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    x = keras.layers.Reshape((base_height, base_width, dense_filters), name="to_feature_map")(x)
    x = keras.layers.Conv2DTranspose(
        upsample_filters, kernel_size, strides=2, padding="same", use_bias=False, name="upsample"
    )(x)
    x = keras.layers.BatchNormalization(name="upsample_bn")(x)
    x = keras.layers.ReLU(name="upsample_relu")(x)
    images = keras.layers.Conv2DTranspose(
        channels, kernel_size, strides=2, padding="same", activation="tanh", name="to_image"
    )(x)
    return keras.Model([z, label], images, name="generator")


def build_discriminator(
    image_shape: Sequence[int],
    num_classes: int,
    embedding_dim: int,
    filters: Sequence[int],
    kernel_size: int,
    slope: float,
    dropout: float,
) -> keras.Model:
    """(image in [-1, 1], label) -> one real/fake logit.

    The label enters twice: as an extra input channel, and as a projection of the
    final features onto a per-class vector added to the logit.
    """
    height, width, _ = image_shape
    images = keras.Input(tuple(image_shape), name="images")
    label = keras.Input((), dtype="int32", name="label")
    embedded = keras.layers.Embedding(num_classes, embedding_dim, name="label_embedding")(label)
    label_map = keras.layers.Dense(height * width, name="label_projection")(embedded)
    label_map = keras.layers.Reshape((height, width, 1), name="label_map")(label_map)
    x = keras.layers.Concatenate(name="image_and_label")([images, label_map])
    for i, width_i in enumerate(filters):
        x = keras.layers.Conv2D(
            width_i, kernel_size, strides=2, padding="same", name=f"conv_{i}"
        )(x)
        x = keras.layers.LeakyReLU(slope, name=f"leaky_relu_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    features = keras.layers.Dropout(dropout, name="dropout")(x)
    # Projection (Miyato & Koyama 2018): the label also meets the features at the
    # output, logit = w.h + e(y).h, which makes the critic judge "is this a real y".
    unconditional = keras.layers.Dense(1, name="logit")(features)
    class_vector = keras.layers.Embedding(
        num_classes, features.shape[-1], name="class_projection_embedding"
    )(label)
    projection = keras.layers.Dot(axes=1, name="class_projection")([features, class_vector])
    logits = keras.layers.Add(name="conditional_logit")([unconditional, projection])
    return keras.Model([images, label], logits, name="discriminator")


class ConditionalGAN(GenerativeModel):
    """Class-conditional convolutional GAN; ``sample(n, condition=labels)`` draws those classes.

    Config keys (defaults in :data:`genzoo_cgan.plugin.SPEC`): ``image_shape``
    (height and width divisible by 4), ``num_classes``, ``latent_dim``,
    ``embedding_dim``, ``generator_filters`` (channels of the projected 7x7 map
    and of the first upsampling), ``discriminator_filters``, ``kernel_size``,
    ``dropout``, ``leaky_relu_slope``, ``loss`` (any name in
    ``genzoo_core.losses.GAN_LOSSES``), ``learning_rate``, ``beta_1``, ``batch_size``.
    """

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        height, width, _ = c["image_shape"]
        if height % 4 or width % 4:
            raise ConfigError(
                f"cgan upsamples twice by 2: image_shape height and width must be divisible "
                f"by 4, got {list(c['image_shape'])}"
            )
        self.latent_dim = int(c["latent_dim"])
        self.num_classes = int(c["num_classes"])
        self.adversarial_loss = losses.get_gan_loss(c["loss"])
        self.generator = build_generator(
            self.latent_dim, self.num_classes, c["embedding_dim"], c["generator_filters"],
            c["image_shape"], c["kernel_size"],
        )
        self.discriminator = build_discriminator(
            c["image_shape"], self.num_classes, c["embedding_dim"], c["discriminator_filters"],
            c["kernel_size"], c["leaky_relu_slope"], c["dropout"],
        )
        self._generate_images = inference_function(
            lambda z, labels: (self.generator([z, labels], training=False) + 1.0) / 2.0,
            networks=[self.generator],
        )

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Generator output in [-1, 1] for ``inputs = (z, labels)``."""
        z, labels = inputs
        return self.generator([z, labels], training=training)

    # -- loss and train step ----------------------------------------------------------
    # The optimizers are the core's default: one Adam per network from learning_rate and
    # beta_1 (2e-4, beta_1 0.5), as in DCGAN.

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """One discriminator update, then one generator update, for the batch's labels."""
        real = batch["images"] * 2.0 - 1.0  # data in [0, 1] -> tanh range
        labels = tf.cast(batch["labels"], tf.int32)
        n = tf.shape(real)[0]

        z = tf.random.normal((n, self.latent_dim))
        fake = self.generator([z, labels], training=True)
        with tf.GradientTape() as tape:
            # The critic sees every image (interpolated ones too) with the batch's labels.
            d_loss = self.adversarial_loss.discriminator_objective(
                lambda x: self.discriminator([x, labels], training=True), real, fake
            )
        self.minimize(tape, d_loss, "discriminator")

        z = tf.random.normal((n, self.latent_dim))
        with tf.GradientTape() as tape:
            fake = self.generator([z, labels], training=True)
            fake_logits = self.discriminator([fake, labels], training=True)
            g_loss = self.adversarial_loss.generator(fake_logits)
        self.minimize(tape, g_loss, "generator")
        return {"d_loss": d_loss, "g_loss": g_loss}

    # -- sampling ------------------------------------------------------------------------

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Draw z ~ N(0, I) from ``rng`` and map it, with the labels, through the generator."""
        labels = self.class_labels(n, condition)
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.predict_in_batches(self._generate_images, z, labels)

    def preview(self, n: int, *, seed: int) -> np.ndarray:
        """A class grid: ``num_classes**2`` images, class ``i % num_classes`` at index ``i``.

        The Trainer lays ``count`` images out in ``ceil(sqrt(count))`` columns, so
        each column of the grid shows one class (``n`` is ignored).
        """
        return self.sample(self.num_classes**2, seed=seed)
