"""pix2pix (Isola, Zhu, Zhou & Efros 2017): paired image-to-image translation.

A generator G learns to map an input image x (an aerial photo) to its target y
(the map of the same place) from aligned pairs, judged by a discriminator D that
sees the pair (x, image) and says, patch by patch, whether the image is the real
target of x or G's output.

Generator: a U-Net. An encoder of 4x4 stride-2 convolutions halves the image
down to 1x1 (8 blocks at 256x256, log2(size) in general) with
LeakyReLU(0.2); a decoder of 4x4 stride-2 transposed convolutions with ReLU
doubles it back, and every decoder block is concatenated with the encoder
block of the same size (the skip connections carry the fine detail the
bottleneck cannot). Widths follow the paper's C64-C128-C256-C512-...: base,
2x, 4x, then 8x base. The first three decoder blocks use dropout 0.5, the
paper's only source of noise (it replaces the GAN's z). The last layer is a
tanh to the output channels.

Normalization: the paper trains maps with batch size 1 and uses batch norm with
the statistics of the test batch at test time, which for one image is instance
normalization. The generator uses instance normalization explicitly, so a
translation never depends on what else is in the batch. As in the paper, the
first encoder block has none; neither has the 1x1 bottleneck, whose one value
per channel would normalize to zero.

Discriminator: the 70x70 PatchGAN C64-C128-C256-C512 (4x4 convolutions,
strides 2, 2, 2, 1, LeakyReLU(0.2), batch norm except on the first) followed
by a 4x4 stride-1 convolution to one logit per patch. Each logit sees a 70x70
window of the input and the image, concatenated along the channels; the
network is fully convolutional, so it takes pairs of any size.

Loss: G minimizes the non-saturating GAN loss -log D(x, G(x)) plus
lambda * |y - G(x)|_1 with lambda = 100 (on images scaled to [-1, 1], as in the
paper's code); D minimizes the binary cross-entropy of real pairs against
generated ones, halved as in the paper to slow D relative to G. Both are
trained with Adam(2e-4, beta_1 0.5) from one forward pass per step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError, DataError
from genzoo_core.plugin import (
    GenerativeModel,
    PairedDataSource,
    inference_function,
    losses,
    resized_images,
)
from genzoo_pix2pix.plugin import SPEC

PREVIEW_PAIRS = 3
"""Pairs shown in each epoch's preview grid, one (input, output, target) row each."""

# -- architecture -------------------------------------------------------------------


def _initializer() -> keras.initializers.Initializer:
    # The paper initializes every weight from N(0, 0.02).
    return keras.initializers.RandomNormal(0.0, 0.02)


def instance_norm(name: str) -> keras.layers.Layer:
    """Normalization per image and channel (one group per channel), with scale and offset."""
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def unet_widths(size: int, filters: int) -> list[int]:
    """Channels of each encoder block for a ``size`` x ``size`` image: base, 2x, 4x, then 8x."""
    depth = int(math.log2(size))
    return [filters * min(2**i, 8) for i in range(depth)]


def build_generator(
    image_shape: list[int],
    filters: int,
    dropout: float,
    dropout_blocks: int,
    slope: float,
    masked_from: keras.Model | None = None,
) -> keras.Model:
    """The U-Net: input image in [-1, 1] -> translated image in [-1, 1] (tanh).

    The encoder halves the image down to 1x1; the decoder doubles it back, each
    block concatenated with the encoder block of the same size. The first
    ``dropout_blocks`` decoder blocks apply dropout at rate ``dropout``.

    ``masked_from`` (a generator built here) gives the same U-Net made of that
    generator's layers, so its weights, with each dropout replaced by a mask
    input: (image, mask per dropout block) -> image, each mask 0 or
    1 / (1 - rate) per unit (shapes: :func:`dropout_mask_shapes`). ``sample``
    with ``inference_dropout`` draws the masks with numpy from its seed, so
    the same seed drops the same units on every Keras backend.
    """

    def layer(make: Callable[..., keras.layers.Layer], *args: Any, name: str,
              **kwargs: Any) -> keras.layers.Layer:
        if masked_from is not None:
            return masked_from.get_layer(name)
        return make(*args, name=name, **kwargs)

    height, width, channels = image_shape
    widths = unet_widths(height, filters)
    depth = len(widths)
    inputs = keras.Input((height, width, channels), name="inputs")
    masks = [] if masked_from is None else [
        keras.Input(shape, name=f"mask_{j}")
        for j, shape in enumerate(dropout_mask_shapes(image_shape, filters, dropout_blocks))
    ]
    x = inputs
    skips = []
    for i, width_i in enumerate(widths):
        normalized = 0 < i < depth - 1
        x = layer(
            keras.layers.Conv2D, width_i, 4, strides=2, padding="same",
            use_bias=not normalized, kernel_initializer=_initializer(), name=f"down_{i}",
        )(x)
        if normalized:
            x = layer(instance_norm, name=f"down_{i}_norm")(x)
        x = layer(keras.layers.LeakyReLU, slope, name=f"down_{i}_leaky_relu")(x)
        skips.append(x)
    # Decoder block j upsamples to the size of encoder block i = depth - 2 - j.
    for j, i in enumerate(range(depth - 2, -1, -1)):
        x = layer(
            keras.layers.Conv2DTranspose, widths[i], 4, strides=2, padding="same",
            use_bias=False, kernel_initializer=_initializer(), name=f"up_{i}",
        )(x)
        x = layer(instance_norm, name=f"up_{i}_norm")(x)
        if j < dropout_blocks and masks:
            x = keras.layers.Multiply(name=f"up_{i}_mask")([x, masks[j]])
        elif j < dropout_blocks:
            x = keras.layers.Dropout(dropout, name=f"up_{i}_dropout")(x)
        x = layer(keras.layers.ReLU, name=f"up_{i}_relu")(x)
        x = layer(keras.layers.Concatenate, name=f"skip_{i}")([x, skips[i]])
    outputs = layer(
        keras.layers.Conv2DTranspose, channels, 4, strides=2, padding="same",
        activation="tanh", kernel_initializer=_initializer(), name="to_image",
    )(x)
    if masked_from is None:
        return keras.Model(inputs, outputs, name="generator")
    return keras.Model([inputs, *masks], outputs, name="generator_with_masks")


def dropout_mask_shapes(
    image_shape: list[int], filters: int, dropout_blocks: int
) -> list[tuple[int, int, int]]:
    """(height, width, channels) of the output of each dropout block, in decoder order."""
    widths = unet_widths(image_shape[0], filters)
    blocks = list(range(len(widths) - 2, -1, -1))[:dropout_blocks]
    return [(image_shape[0] >> (i + 1), image_shape[1] >> (i + 1), widths[i]) for i in blocks]


def build_discriminator(
    input_channels: int, output_channels: int, filters: int, slope: float
) -> keras.Model:
    """The 70x70 PatchGAN: (input, image) pair in [-1, 1] -> a map of real/fake logits.

    Fully convolutional (any height and width); a 256x256 pair gives 30x30 logits.
    Each convolution pads by 1 pixel, as in the paper's code.
    """
    inputs = keras.Input((None, None, input_channels), name="inputs")
    images = keras.Input((None, None, output_channels), name="images")
    x = keras.layers.Concatenate(name="pair")([inputs, images])
    # C64-C128-C256-C512, strides 2, 2, 2, 1: with the final 4x4 stride-1
    # convolution, the receptive field is 1 + 3 * (1 + 2 + 4 + 8 + 8) = 70.
    for i, (multiple, stride) in enumerate(((1, 2), (2, 2), (4, 2), (8, 1))):
        x = keras.layers.ZeroPadding2D(1, name=f"conv_{i}_pad")(x)
        x = keras.layers.Conv2D(
            filters * multiple, 4, strides=stride, use_bias=i == 0,
            kernel_initializer=_initializer(), name=f"conv_{i}",
        )(x)
        if i > 0:
            x = keras.layers.BatchNormalization(name=f"conv_{i}_norm")(x)
        x = keras.layers.LeakyReLU(slope, name=f"conv_{i}_leaky_relu")(x)
    x = keras.layers.ZeroPadding2D(1, name="logits_pad")(x)
    logits = keras.layers.Conv2D(
        1, 4, strides=1, kernel_initializer=_initializer(), name="patch_logits"
    )(x)
    return keras.Model([inputs, images], logits, name="discriminator")


class Pix2Pix(GenerativeModel):
    """pix2pix: a U-Net generator and a PatchGAN discriminator for aligned image pairs.

    ``translate(x)`` maps input images to outputs; ``sample(n, condition=x)``
    translates the first ``n`` images of ``x``.

    Config keys (defaults in :data:`genzoo_pix2pix.plugin.SPEC`): ``image_shape``
    (square, a power of two of at least 8: the U-Net goes down to 1x1),
    ``generator_filters`` and ``discriminator_filters`` (base widths; the paper
    uses 64), ``dropout`` and ``dropout_blocks`` (rate, and how many decoder
    blocks use it), ``leaky_relu_slope``, ``loss`` (a name in
    ``genzoo_core.losses.GAN_LOSSES`` without gradient penalty),
    ``adversarial_weight`` (0 trains the generator on L1 alone and leaves the
    discriminator untouched), ``l1_weight`` (the paper's lambda),
    ``learning_rate``, ``beta_1``, ``batch_size``, ``inference_dropout``
    (``sample`` keeps dropout on, seeded from its ``seed``, as the paper's test-time noise).
    """

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        shape = [int(d) for d in c["image_shape"]]
        if len(shape) != 3 or shape[0] != shape[1] or shape[0] < 8 or shape[0] & (shape[0] - 1):
            raise ConfigError(
                f"pix2pix's U-Net halves the image down to 1x1: image_shape must be square "
                f"with a power-of-two side of at least 8, e.g. [256, 256, 3]; got "
                f"{list(c['image_shape'])}"
            )
        self.image_shape = tuple(shape)
        self.adversarial_loss = losses.get_gan_loss(c["loss"])
        if self.adversarial_loss.gradient_penalty_weight:
            raise ConfigError(
                f"pix2pix does not support the gradient-penalty loss {c['loss']!r}; "
                f"use non-saturating (the paper's) or another loss without a penalty"
            )
        self.adversarial_weight = float(c["adversarial_weight"])
        self.l1_weight = float(c["l1_weight"])
        if self.adversarial_weight < 0 or self.l1_weight < 0:
            raise ConfigError("adversarial_weight and l1_weight must not be negative")
        self.generator = build_generator(
            shape, int(c["generator_filters"]), float(c["dropout"]),
            int(c["dropout_blocks"]), float(c["leaky_relu_slope"]),
        )
        self.discriminator = build_discriminator(
            shape[2], shape[2], int(c["discriminator_filters"]), float(c["leaky_relu_slope"])
        )
        # A tf.function on TensorFlow, eager on JAX and PyTorch: translation runs on every backend.
        self._translate_images = inference_function(
            lambda x: (self.generator(x * 2.0 - 1.0, training=False) + 1.0) / 2.0,
            networks=[self.generator],
        )
        self.inference_dropout = bool(c["inference_dropout"])
        self._translate_with_masks: Any = None  # built on the first sample with dropout
        self._preview_pairs: tuple[np.ndarray, np.ndarray] | None = None

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Generator output in [-1, 1] for input images in [-1, 1]."""
        return self.generator(inputs, training=training)

    # -- data ---------------------------------------------------------------------------

    def prepare_data(self, data: Any) -> Any:
        """Check that ``data`` holds image pairs and resize them to ``image_shape``.

        Also keeps the first pairs for the per-epoch preview grids.
        """
        if not isinstance(data, PairedDataSource):
            raise DataError(
                f"pix2pix trains on aligned image pairs, but {getattr(data, 'name', data)!r} "
                f"is a {type(data).__name__}: pass a paired dataset such as 'maps', or a "
                f"folder of side-by-side pairs (genzoo_core.load_paired_folder)"
            )
        size, _, channels = self.image_shape
        if data.image_shape[2] != channels:
            raise DataError(
                f"{data.name} has {data.image_shape[2]}-channel images, but this pix2pix "
                f"model is configured for {channels}: pass --config image_shape=..."
            )
        data = data.resized(size)
        self._preview_pairs = (data.inputs[:PREVIEW_PAIRS], data.targets[:PREVIEW_PAIRS])
        return data

    # -- loss and train step ------------------------------------------------------------

    def compute_losses(self, batch: dict[str, Any], training: bool = True) -> dict[str, Any]:
        """Every loss of one batch ``{"inputs", "images"}`` (values in [0, 1]).

        Returns ``g_loss = adversarial_weight * g_adversarial + l1_weight * g_l1``
        (what G minimizes), its two terms, and ``d_loss`` (what D minimizes, the
        halved cross-entropy). With ``adversarial_weight`` 0 the discriminator is
        not run and its terms are 0.
        """
        inputs = tf.convert_to_tensor(batch["inputs"], tf.float32) * 2.0 - 1.0
        targets = tf.convert_to_tensor(batch["images"], tf.float32) * 2.0 - 1.0
        fake = self.generator(inputs, training=training)
        l1 = losses.l1_loss(targets, fake)
        if self.adversarial_weight:
            real_logits = self.discriminator([inputs, targets], training=training)
            fake_logits = self.discriminator([inputs, fake], training=training)
            adversarial = self.adversarial_loss.generator(fake_logits)
            # Halved, as in the paper: D learns more slowly relative to G.
            d_loss = 0.5 * self.adversarial_loss.discriminator(real_logits, fake_logits)
        else:
            adversarial = d_loss = tf.constant(0.0)
        g_loss = self.adversarial_weight * adversarial + self.l1_weight * l1
        return {"d_loss": d_loss, "g_loss": g_loss, "g_adversarial": adversarial, "g_l1": l1}

    # The optimizers are the core's default: one Adam per network from learning_rate and
    # beta_1 (2e-4, beta_1 0.5), as in the paper.

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Update G and D from one forward pass over the batch.

        Both gradients come from the same G(x) and D outputs, which saves a second
        discriminator pass per step on a CPU; D's gradient does not flow into G.
        """
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            logs = self.compute_losses(batch, training=True)
        self.minimize(g_tape, logs["g_loss"], "generator")
        if self.adversarial_weight:
            self.minimize(d_tape, logs["d_loss"], "discriminator")
        return logs

    # -- translation and sampling -------------------------------------------------------

    def check_inputs(self, x: Any) -> np.ndarray:
        """``x`` as float32 NHWC in [0, 1] with the model's channels, or a DataError."""
        channels = self.image_shape[2]
        images = np.asarray(x)
        if images.ndim != 4:
            hint = " (one image: pass x[None])" if images.ndim == 3 else ""
            raise DataError(
                f"pix2pix translates a batch of images, NHWC with {channels} channels; got "
                f"an array of shape {images.shape}{hint}"
            )
        if images.dtype.kind != "f":
            raise DataError(
                f"pix2pix expects float images in [0, 1], got dtype {images.dtype}: "
                f"convert with x.astype('float32') / 255"
            )
        if images.shape[-1] != channels:
            raise DataError(
                f"this pix2pix model translates {channels}-channel images, got "
                f"{images.shape[-1]} channel(s) (shape {images.shape})"
            )
        if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
            raise DataError(f"got an empty batch of images, shape {images.shape}")
        images = images.astype(np.float32)
        if not np.all(np.isfinite(images)):
            raise DataError("the input images hold NaN or infinite values")
        if images.min() < 0.0 or images.max() > 1.0:
            raise DataError(
                f"pix2pix expects values in [0, 1], got [{images.min():.3g}, "
                f"{images.max():.3g}]: divide 8-bit images by 255"
            )
        return images

    def translate(
        self, x: Any, *, direction: str | None = None, batch_size: int = 16
    ) -> np.ndarray:
        """Translate images: float32 NHWC in [0, 1] of the model's shape -> the model's size.

        Inputs of another size but the same aspect ratio are resized
        (antialiased bilinear) to ``image_shape`` first; another aspect ratio is
        refused rather than squashed (crop first). Dropout is off, so the result is deterministic.
        ``direction`` exists for two-way translators; pix2pix goes one way only.
        """
        if direction is not None:
            raise ConfigError(
                f"pix2pix translates one way only, from the kind of image it was trained on "
                f"to its targets, so direction={direction!r} does not apply: for the reverse, "
                f"train a model on reversed pairs (load_paired_folder(..., direction='BtoA'))"
            )
        images = self._at_model_size(self.check_inputs(x))
        output = self.predict_in_batches(self._translate_images, images, batch_size=batch_size)
        return np.clip(output, 0.0, 1.0).astype(np.float32)

    def _at_model_size(self, images: np.ndarray) -> np.ndarray:
        height, width, _ = self.image_shape
        return resized_images(images, height, width, "pix2pix")

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Translate the first ``n`` images of ``condition``.

        By default this is ``translate``, and ``rng`` is unused: the paper keeps
        dropout on at test time as noise, yet reports that it barely changes the
        output. With ``inference_dropout`` the dropout masks are drawn from
        ``rng`` (numpy, image by image), so the same seed gives the same images
        on every Keras backend.
        """
        if condition is None:
            raise ConfigError(
                "pix2pix translates input images: pass them as condition=images (float32 "
                "NHWC in [0, 1]), e.g. model.sample(4, condition=photos), or call "
                "model.translate(photos)"
            )
        images = self.check_inputs(condition)
        if len(images) < n:
            raise ConfigError(f"asked for {n} images but condition holds only {len(images)}")
        if not self.inference_dropout:
            return self.translate(images[:n])
        c = self.settings
        rate = float(c["dropout"])
        shapes = dropout_mask_shapes(list(self.image_shape), int(c["generator_filters"]),
                                     int(c["dropout_blocks"]))
        # Each unit is kept with probability 1 - rate and scaled by 1 / (1 - rate), as
        # keras.layers.Dropout does, with draws taken image by image from rng.
        scale = np.float32(1.0 / (1.0 - rate))  # the schema keeps rate <= 0.9
        draws = [[(rng.random(shape, dtype=np.float32) >= rate) * scale
                  for shape in shapes] for _ in range(n)]
        masks = [np.stack([d[j] for d in draws]).astype(np.float32) for j in range(len(shapes))]
        images = self._at_model_size(images[:n])
        output = self.predict_in_batches(self._dropout_translator(), images, *masks,
                                         batch_size=16)
        return np.clip(output, 0.0, 1.0).astype(np.float32)

    def _dropout_translator(self) -> Any:
        """(images in [0, 1], *masks) -> translations in [0, 1], with given dropout masks."""
        if self._translate_with_masks is None:
            c = self.settings
            masked = build_generator(
                list(self.image_shape), int(c["generator_filters"]), float(c["dropout"]),
                int(c["dropout_blocks"]), float(c["leaky_relu_slope"]),
                masked_from=self.generator,
            )
            self._translate_with_masks = inference_function(
                lambda x, *masks: (masked([x * 2.0 - 1.0, *masks], training=False) + 1.0) / 2.0,
                networks=[masked],
            )
        return self._translate_with_masks

    def preview(self, n: int, *, seed: int) -> np.ndarray:
        """Rows of (input, output, target) for the first training pairs (``n`` is ignored).

        The Trainer lays ``count`` images out in ``ceil(sqrt(count))`` columns, so
        ``PREVIEW_PAIRS`` = 3 pairs give one triplet per row. Before any data is
        seen, uniform noise from ``seed`` stands in for the inputs and targets.
        """
        if self._preview_pairs is None:
            noise = np.random.default_rng(seed).random((PREVIEW_PAIRS, *self.image_shape))
            inputs = targets = noise.astype(np.float32)
        else:
            inputs, targets = (p.astype(np.float32) / 255.0 for p in self._preview_pairs)
        outputs = self.translate(inputs)
        return np.stack([inputs, outputs, targets], axis=1).reshape(-1, *self.image_shape)
