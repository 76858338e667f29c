"""The names and enumerations every spec uses.

The name pattern, data conditions, capabilities and component roles.
"""

from __future__ import annotations

import re
from enum import Enum

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
"""What model, weights, dataset and extractor names look like."""


class Condition(str, Enum):
    """What a model is conditioned on, and so which data it trains on."""

    UNCONDITIONAL = "unconditional"
    """Images alone (GAN, DCGAN, VAE, PixelCNN, RBM)."""
    CLASS_LABEL = "class_label"
    """Images with integer class labels (cGAN, class-conditional PixelCNN)."""
    PAIRED_IMAGE = "paired_image"
    """Aligned image pairs A -> B (pix2pix)."""
    UNPAIRED_DOMAINS = "unpaired_domains"
    """Two unaligned image sets A <-> B (CycleGAN)."""
    TEXT = "text"
    """Images with captions or text embeddings (StackGAN)."""


class Role(str, Enum):
    """The part a component plays in its model (the values of :attr:`ModelSpec.roles`).

    Each has a protocol of :mod:`genzoo_core.protocols` and a shape rule that
    :func:`genzoo_core.protocols.role_problem` (and the conformance kit) checks.
    """

    GENERATOR = "generator"
    """Latent and condition to images (:class:`~genzoo_core.protocols.Generator`)."""
    DISCRIMINATOR = "discriminator"
    """Images and condition to scores (:class:`~genzoo_core.protocols.Discriminator`)."""
    ENCODER = "encoder"
    """Images to latent distribution parameters (:class:`~genzoo_core.protocols.Encoder`)."""
    DECODER = "decoder"
    """Latents to image distribution parameters (:class:`~genzoo_core.protocols.Decoder`)."""


class Capability(str, Enum):
    """Methods a model offers beyond the contract every model satisfies."""

    SAMPLE = "sample"
    """``sample(n, *, condition=None, seed=None)``: new images (every generative model)."""
    TRANSLATE = "translate"
    """``translate(x, **kwargs)``: image-to-image (pix2pix, CycleGAN)."""
    LOG_PROB = "log_prob"
    """``log_prob(x)`` in nats per image, exact or a bound (PixelCNN, VAE, RBM)."""
    ENCODE = "encode"
    """``encode(x)``: images to latent codes or hidden units (VAE, RBM)."""
    DECODE = "decode"
    """``decode(z)``: latent codes to images (VAE, RBM)."""
    RECONSTRUCT = "reconstruct"
    """``reconstruct(x)``: encode then decode (VAE, RBM)."""
