"""StackGAN (Zhang et al. 2017): text to image in two stages.

A caption becomes a text embedding (the built-in contrastive encoder of
:mod:`genzoo_stackgan.text`, frozen, or embeddings supplied with the data).

- **Conditioning augmentation.** Each generator maps the embedding to a
  Gaussian N(mu, sigma^2) through a dense layer and samples its condition
  c = mu + sigma * eps. Many conditions per caption smooth the conditioning
  manifold; KL(N(mu, sigma^2) || N(0, I)), averaged over the condition's
  dimensions and weighted by ``kl_weight`` (2.0, as in the authors' code),
  keeps it from collapsing to a point.
- **Stage-I** draws a 32x32 image from c and noise z: dense to 4x4, three
  nearest-neighbour upsamplings with 3x3 convolutions, tanh.
- **Stage-II** refines it to 64x64: a downsampling encoder over the Stage-I image
  to 16x16, joined with its own condition (a second CA), residual blocks, and
  two upsamplings.
- **Matching-aware discriminators** (one per stage) judge (image, text) pairs:
  real image with its own text is real; real image with another image's text
  (the batch's embeddings rolled by one) and generated image with its text are
  fake. D loss = real term + (wrong term + fake term) / 2.
- **Contrast captions** (an addition to the paper). A rolled caption almost
  always states another layout, so the discriminator can reject it without
  looking at colour or shape, and then never asks the generator for them. So a
  ``contrast_fraction`` of the mismatched texts are instead the image's own
  caption with one word swapped within a group of ``contrast_words`` (``red``
  -> ``blue``, ``box`` -> ``disc``): same layout, one attribute wrong. For a
  ``contrast_exchange`` share of two-object captions, the two objects'
  colours (or shapes) change places instead, so that only a discriminator that
  checks which object has which colour can reject it.
- **Image-text matching loss** (optional, ``matching_weight``; the sentence
  part of AttnGAN's DAMSM loss, Xu et al. 2018). A frozen image encoder,
  pretrained contrastively against the frozen text encoder, scores each
  generated image against the batch's captions and its contrast caption; the
  generator also minimises that InfoNCE loss, a direct gradient towards the
  stated attributes that does not wait for the discriminator to learn them.
  The image encoder is a training aid, like a perceptual-loss network: it is
  not a component and not saved. A recipe's ``init`` copies it in from the
  ``image_encoder`` of a ``stackgan-text-encoder`` stage (as
  ``matching_encoder``, see :meth:`StackGAN.initialize_from`);
  :meth:`StackGAN.set_matching_encoder` attaches one in code.
- **Reconstruction loss** (optional, ``reconstruction_weight``; pix2pix's L1
  term). Where a caption fixes its picture, as in the captioned shapes, the
  generator also minimises the L1 distance between its image and the
  caption's own image at the stage's resolution: a per-pixel signal for which
  object has which colour. On data where one caption fits many pictures
  (birds, flowers) it would pull samples towards their blurred mean, so it is
  off by default.

Training is in stages, each a ``genzoo train`` run (the recipe
``recipes/shapes.toml``): the text encoder (model ``stackgan-text-encoder``,
:mod:`genzoo_stackgan.encoders`); ``stage=1``, which trains Stage-I; then
``stage=2``, which trains Stage-II with Stage-I frozen, starting from the
stage-1 weights (every stage's networks are always present, so they fit).
``sample`` returns Stage-II images, ``sample(stage="I")`` the Stage-I images
they were refined from.

The config's rules across keys live in :mod:`genzoo_stackgan.config`, the
captioned training data (padding, contrast captions, embeddings) in
:mod:`genzoo_stackgan.data`; this module is the networks, the losses, the
train step and sampling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError
from genzoo_core.plugin import (
    CaptionedDataSource,
    GenerativeModel,
    inference_function,
    losses,
    to_numpy,
)
from genzoo_stackgan import data as captioned_data
from genzoo_stackgan import shapes
from genzoo_stackgan.config import (
    check_contrast_words,
    check_geometry,
    check_grid,
    check_image_shape,
)
from genzoo_stackgan.plugin import SPEC
from genzoo_stackgan.text import (
    build_image_encoder,
    build_text_encoder,
    check_captions,
    info_nce,
    make_vectorizer,
)

STAGES = ("I", "II")  # sample(stage=...): Stage-I or Stage-II images


# -- architecture -------------------------------------------------------------------


def conditioning_augmentation(
    embedding: keras.KerasTensor, epsilon: keras.KerasTensor, condition_dim: int, prefix: str
) -> tuple[keras.KerasTensor, keras.KerasTensor, keras.KerasTensor]:
    """Text embedding -> (c, mu, log sigma^2), with c = mu + sigma * epsilon.

    The noise ``epsilon`` is an input, not drawn inside, so that sampling is
    deterministic for a seed.
    """
    stats = keras.layers.Dense(2 * condition_dim, name=f"{prefix}_ca_dense")(embedding)
    stats = keras.layers.LeakyReLU(0.2, name=f"{prefix}_ca_act")(stats)
    mean = keras.layers.Lambda(lambda s: s[:, :condition_dim], name=f"{prefix}_ca_mean")(stats)
    log_variance = keras.layers.Lambda(
        lambda s: s[:, condition_dim:], name=f"{prefix}_ca_log_variance"
    )(stats)
    condition = keras.layers.Lambda(
        lambda t: t[0] + keras.ops.exp(0.5 * t[1]) * t[2], name=f"{prefix}_ca_sample"
    )([mean, log_variance, epsilon])
    return condition, mean, log_variance


def upsample_block(x: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    """Nearest-neighbour x2, 3x3 convolution, batch norm, ReLU (no checkerboard artefacts)."""
    x = keras.layers.UpSampling2D(2, name=f"{name}_up")(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def residual_block(x: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    """Two 3x3 convolutions with batch norm, added to the input."""
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv_0")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn_0")(y)
    y = keras.layers.ReLU(name=f"{name}_relu_0")(y)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv_1")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn_1")(y)
    x = keras.layers.Add(name=f"{name}_add")([x, y])
    return keras.layers.ReLU(name=f"{name}_relu_1")(x)


def tile(vector: keras.KerasTensor, size: int, name: str) -> keras.KerasTensor:
    """(n, d) -> (n, size, size, d): a vector copied to every spatial position."""
    x = keras.layers.Reshape((1, 1, vector.shape[-1]), name=f"{name}_reshape")(vector)
    return keras.layers.UpSampling2D(size, name=f"{name}_tile")(x)


def text_cells(embedding: keras.KerasTensor, side: int, filters: int) -> keras.KerasTensor:
    """The embedding read as a ``side`` x ``side`` grid, through a zero-initialised 1x1 conv.

    The built-in text encoder learns the layout of the grid image encoder it
    is trained against, so its embedding, reshaped, says what belongs in each
    cell; starting at zero, the path changes nothing until it is trained.
    """
    dim = embedding.shape[-1]
    check_grid(dim, side)
    cells = keras.layers.Reshape((side, side, dim // (side * side)), name="text_cells")(embedding)
    conv = keras.layers.Conv2D(filters, 1, kernel_initializer="zeros", name="text_cells_conv")
    return conv(cells)


def text_map(
    embedding: keras.KerasTensor, side: int, filters: int, units: int
) -> keras.KerasTensor:
    """The whole embedding decoded by a hidden ReLU layer into a ``side`` x ``side`` map.

    The built-in encoder binds each colour to its object non-linearly: a
    linear read-out of its embedding (the cell path, or conditioning
    augmentation's dense layer) gets fewer than 80 % of the colours of
    two-object captions right, a hidden layer nearly all. The embedding is
    layer-normalised first: a unit-length embedding's entries are about
    1/sqrt(dim), too small for the hidden layer to learn from quickly. The
    output layer starts at zero, so the path changes nothing until it is
    trained.
    """
    normalised = keras.layers.LayerNormalization(name="text_map_norm")(embedding)
    hidden = keras.layers.Dense(units, activation="relu", name="text_map_hidden")(normalised)
    flat = keras.layers.Dense(
        side * side * filters, kernel_initializer="zeros", name="text_map_dense"
    )(hidden)
    return keras.layers.Reshape((side, side, filters), name="text_map")(flat)


def build_stage1_generator(
    embedding_dim: int, condition_dim: int, latent_dim: int, filters: list[int], size: int,
    grid_condition: bool = False, text_map_units: int = 0,
) -> keras.Model:
    """(embedding, eps, z) -> (32x32 image in [-1, 1], mu, log sigma^2).

    With ``grid_condition`` the embedding is also read cell by cell: the
    built-in text encoder is trained against an image encoder whose embedding
    is 16 cells of a 4x4 grid side by side, so its embedding, reshaped to
    4x4, says what belongs in each part of the picture. A 1x1 convolution of
    it is added to the 4x4 map (zero-initialised, so that a generator trained
    without it starts out unchanged). With ``text_map_units`` > 0 the
    embedding is also decoded through a hidden layer of that many units into
    the 4x4 map (:func:`text_map`), likewise added and zero-initialised.
    """
    embedding = keras.Input((embedding_dim,), name="embedding")
    epsilon = keras.Input((condition_dim,), name="epsilon")
    z = keras.Input((latent_dim,), name="z")
    condition, mean, log_variance = conditioning_augmentation(
        embedding, epsilon, condition_dim, "stage1"
    )
    base = size // 2 ** (len(filters) - 1)
    x = keras.layers.Concatenate(name="condition_and_z")([condition, z])
    x = keras.layers.Dense(base * base * filters[0], use_bias=False, name="project")(x)
    x = keras.layers.BatchNormalization(name="project_bn")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    x = keras.layers.Reshape((base, base, filters[0]), name="to_feature_map")(x)
    if grid_condition:
        x = keras.layers.Add(name="feature_map_and_text_cells")(
            [x, text_cells(embedding, base, filters[0])])
    if text_map_units:
        x = keras.layers.Add(name="feature_map_and_text_map")(
            [x, text_map(embedding, base, filters[0], text_map_units)])
    for i, width in enumerate(filters[1:]):
        x = upsample_block(x, width, f"upsample_{i}")
    images = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", name="to_image")(x)
    return keras.Model(
        [embedding, epsilon, z], [images, mean, log_variance], name="stage1_generator"
    )


def build_stage2_generator(
    embedding_dim: int,
    condition_dim: int,
    filters: list[int],
    residual_blocks: int,
    low_size: int,
    size: int,
    text_map_units: int = 0,
) -> keras.Model:
    """(Stage-I image, embedding, eps) -> (64x64 image in [-1, 1], mu, log sigma^2).

    With ``text_map_units`` > 0 the embedding is also decoded into a 4x4 map
    (:func:`text_map`), enlarged to the 16x16 joint map and added to it, so
    that Stage-II can redraw each part of the picture as the text says.
    """
    low = keras.Input((low_size, low_size, 3), name="stage1_images")
    embedding = keras.Input((embedding_dim,), name="embedding")
    epsilon = keras.Input((condition_dim,), name="epsilon")
    condition, mean, log_variance = conditioning_augmentation(
        embedding, epsilon, condition_dim, "stage2"
    )
    width, *decoder = filters
    # Encoder: Stage-I image down to a 16x16 feature map.
    x = keras.layers.Conv2D(width // 2, 3, padding="same", name="encode_conv_0")(low)
    x = keras.layers.ReLU(name="encode_relu_0")(x)
    x = keras.layers.Conv2D(
        width, 4, strides=2, padding="same", use_bias=False, name="encode_conv_1"
    )(x)
    x = keras.layers.BatchNormalization(name="encode_bn_1")(x)
    x = keras.layers.ReLU(name="encode_relu_1")(x)
    # Join with the text: the condition at every position, then mix.
    x = keras.layers.Concatenate(name="image_and_condition")(
        [x, tile(condition, x.shape[1], "condition")]
    )
    x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name="joint_conv")(x)
    x = keras.layers.BatchNormalization(name="joint_bn")(x)
    x = keras.layers.ReLU(name="joint_relu")(x)
    if text_map_units:
        cells = text_map(embedding, 4, width, text_map_units)
        cells = keras.layers.UpSampling2D(x.shape[1] // 4, name="text_map_enlarged")(cells)
        x = keras.layers.Add(name="joint_and_text_map")([x, cells])
    for i in range(residual_blocks):
        x = residual_block(x, width, f"residual_{i}")
    for i, filters_i in enumerate(decoder):
        x = upsample_block(x, filters_i, f"upsample_{i}")
    if x.shape[1] != size:
        raise ConfigError(
            f"stage2_generator_filters {filters} upsample to {x.shape[1]}x{x.shape[1]}, not "
            f"{size}x{size}: list one decoder width per doubling from {low_size // 2}"
        )
    images = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", name="to_image")(x)
    return keras.Model(
        [low, embedding, epsilon], [images, mean, log_variance], name="stage2_generator"
    )


def build_discriminator(
    size: int, embedding_dim: int, condition_dim: int, filters: list[int], slope: float,
    name: str, projection: bool = False, grid_condition: bool = False,
) -> keras.Model:
    """(image in [-1, 1], embedding) -> one logit, high for a real image of this text.

    Strided 4x4 convolutions to a 4x4 map; the text, compressed to
    ``condition_dim``, is copied to each of those positions and joined by a 1x1
    convolution, so the decision looks at image and text together. With
    ``projection``, the logit also gets <image features averaged over the map,
    a projection of the text> (Miyato & Koyama 2018): a direct path for global
    attributes such as colour. With ``grid_condition`` the embedding, read as
    a 4x4 grid (see :func:`build_stage1_generator`), also joins each position
    of the map through a zero-initialised 1x1 convolution, so that the
    decision can check each part of the image against what the text says
    belongs there.
    """
    images = keras.Input((size, size, 3), name="images")
    embedding = keras.Input((embedding_dim,), name="embedding")
    x = images
    for i, width in enumerate(filters):
        x = keras.layers.Conv2D(width, 4, strides=2, padding="same", name=f"conv_{i}")(x)
        x = keras.layers.LeakyReLU(slope, name=f"leaky_relu_{i}")(x)
    features = x
    text = keras.layers.Dense(condition_dim, name="compress_text")(embedding)
    text = keras.layers.LeakyReLU(slope, name="compress_text_act")(text)
    x = keras.layers.Concatenate(name="image_and_text")([x, tile(text, x.shape[1], "text")])
    x = keras.layers.Conv2D(filters[-1], 1, name="joint_conv")(x)
    if grid_condition:
        x = keras.layers.Add(name="joint_and_text_cells")(
            [x, text_cells(embedding, x.shape[1], filters[-1])])
    x = keras.layers.LeakyReLU(slope, name="joint_act")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logits = keras.layers.Dense(1, name="logit")(x)
    if projection:
        pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
        text_vector = keras.layers.Dense(filters[-1], name="text_projection")(embedding)
        match = keras.layers.Dot(axes=1, name="projection")([pooled, text_vector])
        logits = keras.layers.Add(name="projected_logit")([logits, match])
    return keras.Model([images, embedding], logits, name=name)


def build_identity_encoder(embedding_dim: int) -> keras.Model:
    """The text encoder of ``text_encoder="embeddings"``: the data's embeddings pass through."""
    embeddings = keras.Input((embedding_dim,), name="embeddings")
    return keras.Model(embeddings, keras.layers.Identity(name="identity")(embeddings),
                       name="text_encoder")


# -- losses ---------------------------------------------------------------------------


def matching_aware_discriminator_loss(
    real_logits: tf.Tensor, wrong_logits: tf.Tensor, fake_logits: tf.Tensor
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """StackGAN's discriminator loss and its three terms.

    ``real``: real image, right text, target 1. ``wrong``: real image,
    mismatched text, target 0. ``fake``: generated image, right text, target 0.
    Total = real + (wrong + fake) / 2, all binary cross-entropies on logits
    (in float32, whatever dtype the discriminator computes in).
    """
    real_logits, wrong_logits, fake_logits = (
        losses.as_float32(x) for x in (real_logits, wrong_logits, fake_logits))
    real = tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(real_logits), real_logits)
    )
    wrong = tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(wrong_logits), wrong_logits)
    )
    fake = tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(fake_logits), fake_logits)
    )
    return real + 0.5 * (wrong + fake), {"real": real, "wrong": wrong, "fake": fake}


def generator_loss(
    fake_logits: tf.Tensor, mean: tf.Tensor, log_variance: tf.Tensor, kl_weight: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """Non-saturating adversarial loss plus the weighted CA regulariser; returns (total, KL).

    The KL in nats is summed over the condition's dimensions (and returned
    that way), but enters the loss averaged over them, as in the authors' code:
    ``kl_weight`` x KL / condition_dim, so their weight 2.0 costs 2/64 per nat
    of a 64-d condition. Weighting the summed KL by 2.0 instead is 64 times
    stronger and pins the condition to the prior, leaving no room for the text.
    """
    kl = losses.kl_divergence_standard_normal(mean, log_variance)
    per_dimension = kl / tf.cast(tf.shape(mean)[-1], kl.dtype)
    return losses.non_saturating_generator_loss(fake_logits) + kl_weight * per_dimension, kl


def matching_loss(
    image_embeddings: tf.Tensor,
    text_embeddings: tf.Tensor,
    contrast: tf.Tensor | None,
    scale: float,
) -> tf.Tensor:
    """InfoNCE of generated images against their captions (AttnGAN's sentence DAMSM loss).

    Each image must pick its caption out of the batch's captions and out-rank
    its contrast caption (where it has one: a non-zero row), and each caption
    its image; cosine similarities are multiplied by ``scale``.
    """
    has_hard = None
    if contrast is not None:
        has_hard = tf.reduce_any(tf.not_equal(contrast, 0.0), axis=-1)
    return info_nce(text_embeddings, image_embeddings,
                    tf.math.log(tf.constant(scale, text_embeddings.dtype)),
                    hard_texts=contrast, has_hard=has_hard)


def mismatched(
    embeddings: tf.Tensor, contrast: tf.Tensor | None = None, contrast_fraction: float = 0.0
) -> tf.Tensor:
    """Texts that do not describe the batch's images, one per image.

    Each image gets the next image's text (the batch's embeddings rolled by
    one), or, with probability ``contrast_fraction``, its contrast caption's
    embedding (its own caption with one attribute swapped); images without a
    contrast caption (an all-zero row) keep the rolled one.
    """
    wrong = tf.roll(embeddings, shift=1, axis=0)
    if contrast is None or contrast_fraction <= 0.0:
        return wrong
    has_contrast = tf.reduce_any(tf.not_equal(contrast, 0.0), axis=-1, keepdims=True)
    chosen = tf.random.uniform((tf.shape(embeddings)[0], 1)) < contrast_fraction
    return tf.where(tf.logical_and(chosen, has_contrast), contrast, wrong)


# -- inference ------------------------------------------------------------------------


# -- the model ----------------------------------------------------------------------


class StackGAN(GenerativeModel):
    """Two-stage text-to-image GAN; ``sample(n, condition=captions)`` draws 64x64 images.

    Config keys (defaults in :data:`genzoo_stackgan.plugin.SPEC`):

    - ``image_shape``: the Stage-II (output) size, [64, 64, 3]; Stage-I draws
      half that size.
    - ``stage``: 1 trains Stage-I, 2 trains Stage-II with Stage-I frozen.
    - ``text_encoder``: ``"builtin"`` (captions through the built-in encoder,
      ``vocabulary`` and ``max_caption_words``, ``word_dim``, ``text_units``)
      or ``"embeddings"`` (the data's own embeddings, e.g. CUB's char-CNN-RNN
      vectors; ``sample`` then takes an (n, embedding_dim) array).
    - ``embedding_dim``, ``condition_dim`` (CA output), ``latent_dim`` (z),
      ``kl_weight`` (on the KL averaged over the condition's dimensions).
    - ``contrast_words`` (groups of classes of synonyms; the grammar's colours
      and shapes by default) and ``contrast_fraction`` (the share of mismatched
      texts that are contrast captions; 0 is the paper's rolled mismatches),
      ``contrast_exchange`` (the chance that a caption with two objects of
      different colours or shapes has those exchanged rather than one swapped;
      0 by default).
    - ``matching_weight`` (0: off) and ``matching_scale``: the image-text
      matching loss added to the generator's, and its inverse temperature;
      training with it needs :meth:`set_matching_encoder`.
    - ``reconstruction_weight`` (0: off): the weight of the L1 distance between
      a generated image and the real image of its caption, in the tanh range.
    - ``stage1_generator_filters`` (the 4x4 map's channels, then one per
      doubling), ``stage1_discriminator_filters``, ``stage2_generator_filters``
      (encoder width, then one per doubling from 16x16), ``stage2_residual_blocks``,
      ``stage2_discriminator_filters``, ``leaky_relu_slope``,
      ``discriminator_projection`` (add a projection term to both discriminators),
      ``grid_condition`` (Stage-I's generator and both discriminators also read
      the embedding cell by cell on their 4x4 maps; for a text encoder trained
      against the grid image encoder).
    - ``text_map_units`` (0: off): both generators also decode the embedding
      through a hidden layer of this many ReLU units into a 4x4 map
      (:func:`text_map`), added to Stage-I's 4x4 map and, enlarged, to
      Stage-II's 16x16 joint map.
    - ``learning_rate``, ``beta_1`` (Adam), ``batch_size``.
    """

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)  # the schema has checked each key alone
        c = self.settings
        # The rules across keys, before any layer is built (genzoo_stackgan.config).
        self.size = check_image_shape(c["image_shape"])
        self.low_size = self.size // 2
        check_geometry(c, self.low_size, self.size)
        self.contrast_words = check_contrast_words(c["contrast_words"])
        self.stage = int(c["stage"])
        self.builtin_text = c["text_encoder"] == "builtin"
        self.embedding_dim = int(c["embedding_dim"])
        self.condition_dim = int(c["condition_dim"])
        self.latent_dim = int(c["latent_dim"])
        self.kl_weight = float(c["kl_weight"])
        self.contrast_fraction = float(c["contrast_fraction"])
        self.contrast_exchange = float(c["contrast_exchange"])
        self.matching_weight = float(c["matching_weight"])
        self.matching_scale = float(c["matching_scale"])
        self.reconstruction_weight = float(c["reconstruction_weight"])
        self.text_map_units = int(c["text_map_units"])
        self.matching_encoder: keras.Model | None = None
        slope = float(c["leaky_relu_slope"])
        if self.builtin_text:
            self.vocabulary = list(c["vocabulary"])
            self.vectorizer = make_vectorizer(self.vocabulary, int(c["max_caption_words"]))
            self.text_encoder = build_text_encoder(
                len(self.vocabulary), int(c["max_caption_words"]), int(c["word_dim"]),
                int(c["text_units"]), self.embedding_dim,
            )
        else:
            self.text_encoder = build_identity_encoder(self.embedding_dim)
        # The text encoder is pretrained apart and never trained here.
        self.text_encoder.trainable = False
        self.stage1_generator = build_stage1_generator(
            self.embedding_dim, self.condition_dim, self.latent_dim,
            c["stage1_generator_filters"], self.low_size, bool(c["grid_condition"]),
            self.text_map_units,
        )
        self.stage1_discriminator = build_discriminator(
            self.low_size, self.embedding_dim, self.condition_dim,
            c["stage1_discriminator_filters"], slope, "stage1_discriminator",
            bool(c["discriminator_projection"]), bool(c["grid_condition"]),
        )
        self.stage2_generator = build_stage2_generator(
            self.embedding_dim, self.condition_dim, c["stage2_generator_filters"],
            int(c["stage2_residual_blocks"]), self.low_size, self.size, self.text_map_units,
        )
        self.stage2_discriminator = build_discriminator(
            self.size, self.embedding_dim, self.condition_dim,
            c["stage2_discriminator_filters"], slope, "stage2_discriminator",
            bool(c["discriminator_projection"]), bool(c["grid_condition"]),
        )
        self._draw = inference_function(
            self._both_stages, networks=[self.stage1_generator, self.stage2_generator])
        self._encode = inference_function(
            lambda ids: self.text_encoder(ids, training=False), networks=[self.text_encoder])

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Stage-II images in [-1, 1] for ``inputs = (embeddings, eps1, z, eps2)``."""
        embeddings, eps1, z, eps2 = inputs
        low, _, _ = self.stage1_generator([embeddings, eps1, z], training=training)
        high, _, _ = self.stage2_generator([low, embeddings, eps2], training=training)
        return high

    def set_matching_encoder(self, weights: str | keras.Model, layout: str = "grid") -> None:
        """Attach the frozen image encoder that the matching loss scores images with.

        ``weights`` is a Keras weights file of such an image encoder (trained
        with or against this model's text encoder; ``layout`` as it was
        trained, see :func:`~genzoo_stackgan.text.build_image_encoder`), or
        such a Keras model, e.g. the ``image_encoder`` of a trained
        ``stackgan-text-encoder``. It is used only in training and is not part
        of the saved weights. A recipe attaches it through ``init`` instead
        (:meth:`initialize_from`).
        """
        if isinstance(weights, keras.Model):
            encoder = weights
        else:
            encoder = build_image_encoder((self.size, self.size, 3), self.embedding_dim, layout)
            encoder.load_weights(str(weights))
        if tuple(encoder.input_shape[1:]) != (self.size, self.size, 3) or \
                encoder.output_shape[-1] != self.embedding_dim:
            raise ConfigError(
                f"the matching encoder maps {encoder.input_shape[1:]} images to "
                f"{encoder.output_shape[-1]}-d embeddings; this stackgan needs "
                f"({self.size}, {self.size}, 3) -> {self.embedding_dim}"
            )
        encoder.trainable = False
        self.matching_encoder = encoder

    def initialize_from(
        self, source: GenerativeModel, components: Mapping[str, str] | None = None
    ) -> list[str]:
        """Start from another model's weights (a recipe stage's ``init``), layer by layer.

        As :meth:`GenerativeModel.initialize_from`, and one more target:
        ``matching_encoder``, the matching loss's frozen image encoder, which is
        not a component. ``components = { matching_encoder = "image_encoder" }``
        copies a ``stackgan-text-encoder``'s image encoder (its architecture and
        weights) and attaches it with :meth:`set_matching_encoder`. It is not
        saved: a recipe run applies ``init`` again when a stage resumes, before
        the checkpoint restores the components. Training with
        ``matching_weight`` > 0 and none attached is a ``ConfigError``, never
        images scored by an untrained encoder.
        """
        wanted = dict(components) if components is not None else None
        name = wanted.pop("matching_encoder", None) if wanted is not None else None
        if name is not None:
            encoder = getattr(source, name, None)
            if not isinstance(encoder, keras.Model):
                raise ConfigError(f"cannot start the matching encoder of '{self.spec.name}' "
                                  f"from '{source.spec.name}': it has no component '{name}'")
            copy = keras.models.clone_model(encoder)
            copy.set_weights(encoder.get_weights())
            self.set_matching_encoder(copy)
            if not wanted:
                return []
        return super().initialize_from(source, wanted)

    # -- data: captions, their embeddings and contrast captions (genzoo_stackgan.data) ------

    def encode_text(self, captions: Any, n: int | None = None) -> np.ndarray:
        """Text embeddings (n, embedding_dim) of captions (builtin encoder only)."""
        if not self.builtin_text:
            raise ConfigError(
                "this stackgan conditions on supplied embeddings (text_encoder='embeddings'): "
                "pass an (n, embedding_dim) float array, not captions"
            )
        count = n if n is not None else (1 if isinstance(captions, str) else len(captions))
        captions = check_captions(captions, count, self.vocabulary)
        ids = to_numpy(self.vectorizer(np.array(captions, dtype=object).astype(str)))
        # Compiled, and in batches of 1024: prepare_data encodes every caption of the
        # data and its contrast caption (100,000 for the shapes train split), which
        # eagerly, 256 at a time, took about four times as long.
        return self.predict_in_batches(
            self._encode, ids.astype(np.int32), batch_size=1024
        ).astype(np.float32)

    def prepare_data(self, data: Any) -> CaptionedDataSource:
        """Check captioned data and attach the embeddings every train step reads.

        With the built-in encoder (frozen), every caption is encoded once here,
        rather than in every step, and so is its contrast caption (one word
        swapped within ``contrast_words``, or two exchanged, seeded), giving a
        :class:`~genzoo_stackgan.data.ContrastCaptionedData`. Images with fewer
        captions than the most any image has are padded by repeating their
        captions in turn (the data's embeddings must then have one row per
        caption). Supplied embeddings (``text_encoder="embeddings"``) have no
        contrast captions: their mismatched texts are all rolled.
        """
        data = captioned_data.captioned(data, self.size)
        if not self.builtin_text:
            return captioned_data.with_supplied_embeddings(data, self.embedding_dim)
        return captioned_data.with_contrast_captions(
            data, self.encode_text, self.contrast_words, self.contrast_fraction,
            self.contrast_exchange,
        )

    def example_data(self, n: int = 16, seed: int = 0) -> CaptionedDataSource:
        """``n`` captioned-shapes examples this model can train on (tests, quick checks)."""
        return captioned_data.example_data(
            n, seed, None if self.builtin_text else self.embedding_dim)

    # -- loss and train step -------------------------------------------------------

    def make_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """Adam(2e-4, beta_1 0.5) for the generator and discriminator of the stage in training."""
        c = self.settings
        return {
            f"stage{self.stage}_{part}": keras.optimizers.Adam(
                c["learning_rate"], beta_1=c["beta_1"], name=f"stage{self.stage}_{part}"
            )
            for part in ("generator", "discriminator")
        }

    def _fake(
        self, embeddings: tf.Tensor, n: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Images of the stage in training for ``embeddings``, with its CA's mean, log variance."""
        eps = tf.random.normal((n, self.condition_dim))
        z = tf.random.normal((n, self.latent_dim))
        if self.stage == 1:
            return self.stage1_generator([embeddings, eps, z], training=True)
        # Stage-I is frozen: inference mode, and no gradient flows into it.
        low, _, _ = self.stage1_generator([embeddings, eps, z], training=False)
        eps2 = tf.random.normal((n, self.condition_dim))
        return self.stage2_generator([tf.stop_gradient(low), embeddings, eps2], training=True)

    def _check_matching_encoder(self) -> None:
        if self.matching_weight > 0.0 and self.matching_encoder is None:
            raise ConfigError(
                f"matching_weight is {self.matching_weight}, but no image encoder is attached "
                "to score images with: in a recipe, init the stage with components = "
                "{ matching_encoder = \"image_encoder\" } from a stackgan-text-encoder stage; "
                "in code, call set_matching_encoder(...) before training; or set "
                "matching_weight to 0"
            )

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """One matching-aware discriminator update, then one generator update."""
        self._check_matching_encoder()
        real = batch["images"] * 2.0 - 1.0  # [0, 1] -> the tanh range
        if self.stage == 1:
            real = tf.nn.avg_pool2d(real, 2, 2, "VALID")  # 2x2 means: the Stage-I size
            generator, discriminator = self.stage1_generator, self.stage1_discriminator
        else:
            generator, discriminator = self.stage2_generator, self.stage2_discriminator
        embeddings = batch["embeddings"]
        n = tf.shape(real)[0]

        # Discriminator: real image and its text; real image and a mismatched text
        # (rolled, or its contrast caption); generated image and its text.
        contrast = batch.get("contrast_embeddings")
        wrong = mismatched(embeddings, contrast, self.contrast_fraction)
        fake, _, _ = self._fake(embeddings, n)
        with tf.GradientTape() as tape:
            d_loss, terms = matching_aware_discriminator_loss(
                discriminator([real, embeddings], training=True),
                discriminator([real, wrong], training=True),
                discriminator([fake, embeddings], training=True),
            )
        self.minimize(tape, d_loss, discriminator.name)

        # Generator: fool the discriminator, keep CA near the prior, and optionally
        # match the captions (frozen image encoder) and their real images (L1).
        with tf.GradientTape() as tape:
            fake, mean, log_variance = self._fake(embeddings, n)
            g_loss, kl = generator_loss(
                discriminator([fake, embeddings], training=True), mean, log_variance,
                self.kl_weight,
            )
            match = None
            if self.matching_weight > 0.0:
                pictures = (fake + 1.0) / 2.0  # the image encoder reads [0, 1]
                if self.stage == 1:
                    pictures = tf.image.resize(pictures, (self.size, self.size), "nearest")
                match = matching_loss(self.matching_encoder(pictures, training=False),
                                      embeddings, contrast, self.matching_scale)
                g_loss = g_loss + self.matching_weight * match
            reconstruction = None
            if self.reconstruction_weight > 0.0:
                reconstruction = losses.l1_loss(real, fake)
                g_loss = g_loss + self.reconstruction_weight * reconstruction
        self.minimize(tape, g_loss, generator.name)
        logs = {"d_loss": d_loss, "d_real": terms["real"], "d_wrong": terms["wrong"],
                "d_fake": terms["fake"], "g_loss": g_loss, "kl": kl}
        if self.matching_weight > 0.0:
            logs["match"] = match
        if self.reconstruction_weight > 0.0:
            logs["l1"] = reconstruction
        return logs

    # -- sampling ------------------------------------------------------------------
    # sample() is the core's (its checks of n and seed, then generate(), then its
    # checks of the images); sample(stage="I") and sample_both() draw the same way.

    def _both_stages(self, embeddings: Any, eps1: Any, z: Any, eps2: Any) -> tuple[Any, Any]:
        """Stage-I and Stage-II images in [0, 1]; any backend (inputs as backend tensors)."""
        # Eager backends (JAX, PyTorch) refuse a network input list that mixes numpy
        # arrays with the backend's tensors (Stage-I's output); under tf.function
        # these are tensors already.
        embeddings, eps1, z, eps2 = (keras.ops.convert_to_tensor(x)
                                     for x in (embeddings, eps1, z, eps2))
        low, _, _ = self.stage1_generator([embeddings, eps1, z], training=False)
        high, _, _ = self.stage2_generator([low, embeddings, eps2], training=False)
        return (low + 1.0) / 2.0, (high + 1.0) / 2.0

    def embeddings_for(self, n: int, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """The (n, embedding_dim) text embeddings ``sample`` conditions on.

        Built-in encoder: ``condition`` is one caption (repeated n times) or n
        captions; ``None`` draws n captions from the captioned-shapes grammar
        with ``rng``. Embeddings mode: an (n, embedding_dim) float array.
        """
        if not self.builtin_text:
            return captioned_data.supplied_embeddings(condition, n, self.embedding_dim)
        if condition is None:
            condition = shapes.sample_captions(n, seed=int(rng.integers(2**31)))
        return self.encode_text(condition, n)

    def _draw_both(
        self, n: int, condition: Any, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage-I and Stage-II images of one draw, all randomness from ``rng``."""
        embeddings = self.embeddings_for(n, condition, rng)
        eps1 = rng.standard_normal((n, self.condition_dim)).astype(np.float32)
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        eps2 = rng.standard_normal((n, self.condition_dim)).astype(np.float32)
        lows, highs = [], []
        for start in range(0, n, 256):
            part = slice(start, start + 256)
            low, high = self._draw(embeddings[part], eps1[part], z[part], eps2[part])
            lows.append(to_numpy(low))
            highs.append(to_numpy(high))
        return (np.clip(np.concatenate(lows), 0.0, 1.0),
                np.clip(np.concatenate(highs), 0.0, 1.0))

    @staticmethod
    def _check_draw(n: Any, seed: Any) -> None:
        """The core's rules for ``sample``'s ``n`` and ``seed``, broken: a ConfigError."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n must be a positive integer, got {n!r}")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
        ):
            raise ConfigError(f"seed must be a non-negative integer or None, got {seed!r}")

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Stage-II images (n, 64, 64, 3) in [0, 1] for the captions (or embeddings)."""
        return self._draw_both(n, condition, rng)[1]

    def sample_both(
        self, n: int, *, condition: Any = None, seed: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage-I (32x32) and Stage-II (64x64) images of one draw, float32 in [0, 1].

        The Stage-II images equal ``sample(n, condition=condition, seed=seed)``;
        the Stage-I images are the ones they were refined from.
        """
        self._check_draw(n, seed)
        return self._draw_both(int(n), condition, np.random.default_rng(seed))

    def sample(
        self, n: int, *, condition: Any = None, seed: int | None = None, stage: str = "II"
    ) -> np.ndarray:
        """Draw ``n`` images for the captions: float32 NHWC in [0, 1].

        Args:
            n: number of images.
            condition: one caption for all ``n`` images, ``n`` captions, ``None``
                (captions drawn from the captioned-shapes grammar with ``seed``),
                or with ``text_encoder="embeddings"`` an (n, embedding_dim) array.
            seed: the same seed gives the same images.
            stage: ``"II"`` (default) for the 64x64 Stage-II images, ``"I"`` for
                the 32x32 Stage-I images that, for the same arguments, Stage-II
                refined.

        Raises:
            ConfigError: a bad ``stage``, ``n``, ``seed`` or ``condition``.
            GenzooError: the networks drew images that are not in [0, 1] (damaged weights).
        """
        if stage not in STAGES:
            raise ConfigError(f"stage must be 'I' (32x32) or 'II' (64x64), got {stage!r}")
        if stage == "I":
            return self.sample_both(n, condition=condition, seed=seed)[0]
        self._check_draw(n, seed)
        return super().sample(n, condition=condition, seed=seed)

    def preview(self, n: int, *, seed: int) -> np.ndarray:
        """The stage in training: Stage-I images (enlarged to 64x64) in stage 1, else Stage-II."""
        low, high = self.sample_both(n, seed=seed)
        if self.stage == 2:
            return high
        return np.repeat(np.repeat(low, 2, axis=1), 2, axis=2)
