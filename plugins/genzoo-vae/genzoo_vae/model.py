"""Variational autoencoder (Kingma & Welling 2014) with convolutional networks.

Encoder q(z | x): strided convolutions -> Dense -> the mean and log-variance of
a diagonal Gaussian. Decoder p(x | z): Dense -> transposed convolutions -> per
pixel either Bernoulli logits (binary images) or Gaussian means with a learned
scale per channel (grey or colour images). Prior p(z) = N(0, I).

Training maximises the evidence lower bound, E_q[log p(x | z)] - β·KL(q ‖ p),
with the reparameterization z = μ + σ·ε. ``log_prob`` reports the
importance-weighted bound of Burda et al. (2016),
log (1/k) Σᵢ p(x, zᵢ) / q(zᵢ | x) with zᵢ ~ q(z | x), which tightens towards
log p(x) as k grows; k = 1 is the ELBO.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError, GenzooError
from genzoo_core.plugin import GenerativeModel, inference_function, losses, to_numpy
from genzoo_vae.plugin import SPEC

KERNEL = 4
LIKELIHOODS = ("bernoulli", "gaussian")
LOG_2PI = math.log(2.0 * math.pi)


# -- architecture -------------------------------------------------------------------------


def build_encoder(image_shape: list[int], filters: list[int], hidden_units: int,
                  latent_dim: int) -> keras.Model:
    """Images in [0, 1] -> concatenated (mean, log-variance) of q(z | x)."""
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    for i, width in enumerate(filters):
        x = keras.layers.Conv2D(width, KERNEL, strides=2, padding="same", activation="relu",
                                name=f"down_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(x)
    posterior = keras.layers.Dense(2 * latent_dim, name="posterior")(x)
    return keras.Model(images, posterior, name="encoder")


class PixelScale(keras.layers.Layer):
    """A learned log standard deviation per channel, appended to the decoder's means."""

    def build(self, input_shape: Any) -> None:
        """One log-scale per channel, starting at log 0.1."""
        self.log_scale = self.add_weight(
            shape=(input_shape[-1],), name="log_scale",
            initializer=keras.initializers.Constant(math.log(0.1)),
        )

    def call(self, means: Any) -> Any:
        """Concatenate the broadcast log-scales to the means along the channels."""
        return keras.ops.concatenate([means, keras.ops.zeros_like(means) + self.log_scale],
                                     axis=-1)


def build_decoder(image_shape: list[int], filters: list[int], hidden_units: int,
                  latent_dim: int, likelihood: str) -> keras.Model:
    """Z -> per-pixel distribution parameters.

    Bernoulli: logits (H, W, C). Gaussian: means in [0, 1] and log-scales (H, W, 2C).
    """
    height, width, channels = image_shape
    steps = len(filters)
    start_h, start_w = height // 2**steps, width // 2**steps
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(z)
    x = keras.layers.Dense(start_h * start_w * filters[0], activation="relu", name="project")(x)
    x = keras.layers.Reshape((start_h, start_w, filters[0]), name="to_map")(x)
    for i, width_ in enumerate(filters[1:]):
        x = keras.layers.Conv2DTranspose(width_, KERNEL, strides=2, padding="same",
                                         activation="relu", name=f"up_{i}")(x)
    if likelihood == "bernoulli":
        out = keras.layers.Conv2DTranspose(channels, KERNEL, strides=2, padding="same",
                                           name="logits")(x)
    else:
        means = keras.layers.Conv2DTranspose(channels, KERNEL, strides=2, padding="same",
                                             activation="sigmoid", name="means")(x)
        out = PixelScale(name="pixel_scale")(means)
    return keras.Model(z, out, name="decoder")


# -- the model ----------------------------------------------------------------------------


class VAE(GenerativeModel):
    """Convolutional VAE; ``log_prob`` is the importance-weighted bound in nats.

    Config keys (defaults in :data:`genzoo_vae.plugin.SPEC`): ``image_shape``
    (height and width divisible by 2 ** len(encoder_filters)), ``latent_dim``,
    ``encoder_filters``, ``decoder_filters``, ``hidden_units``, ``likelihood``
    (``bernoulli`` for binary images, ``gaussian`` for grey or colour ones),
    ``beta`` (the KL weight; 1 is the VAE, others the β-VAE), ``learning_rate``,
    ``batch_size``, ``importance_samples`` (the default k of ``log_prob``).
    """

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        if c["likelihood"] not in LIKELIHOODS:
            raise ConfigError(f"likelihood must be one of {LIKELIHOODS}, got {c['likelihood']!r}")
        steps = len(c["decoder_filters"])
        if len(c["encoder_filters"]) != steps:
            raise ConfigError(
                f"encoder_filters and decoder_filters need the same length, got "
                f"{list(c['encoder_filters'])} and {list(c['decoder_filters'])}"
            )
        height, width, _ = c["image_shape"]
        if height % 2**steps or width % 2**steps:
            raise ConfigError(
                f"image_shape height and width must be divisible by {2**steps} (one halving "
                f"per encoder_filters entry), got {list(c['image_shape'])}"
            )
        self.latent_dim = int(c["latent_dim"])
        self.image_shape = tuple(c["image_shape"])
        self.likelihood = c["likelihood"]
        self.encoder = build_encoder(c["image_shape"], c["encoder_filters"],
                                     c["hidden_units"], self.latent_dim)
        self.decoder = build_decoder(c["image_shape"], c["decoder_filters"],
                                     c["hidden_units"], self.latent_dim, self.likelihood)
        # Compiled on TensorFlow and JAX, eager on PyTorch (keras.ops only inside).
        networks = [self.encoder, self.decoder]
        self._decode_mean = inference_function(self._mean_image, networks)
        self._posterior = inference_function(self._posterior_parameters, networks)
        self._log_weights = inference_function(self._importance_log_weights, networks)

    def call(self, images: Any, training: bool = False) -> Any:
        """Reconstruction means for ``images`` through the posterior means."""
        mean, _ = self._posterior_parameters(images, training=training)
        return self._mean_image(mean)

    # -- the distributions ------------------------------------------------------------

    def _posterior_parameters(self, images: Any, training: bool = False) -> tuple[Any, Any]:
        # float32 whatever the layers compute in: the sampled z, the KL and log q(z | x) need it
        stats = keras.ops.cast(self.encoder(images, training=training), "float32")
        mean, log_variance = keras.ops.split(stats, 2, axis=-1)
        return mean, log_variance

    def _mean_image(self, z: Any) -> Any:
        """E[x | z] in [0, 1]."""
        out = keras.ops.cast(self.decoder(z, training=False), "float32")
        if self.likelihood == "bernoulli":
            return keras.ops.sigmoid(out)
        return out[..., : self.image_shape[-1]]

    def _log_likelihood(self, images: Any, out: Any) -> Any:
        """Log p(x | z) summed over pixels, one value per image (float32)."""
        ops = keras.ops
        out = ops.cast(out, "float32")
        if self.likelihood == "bernoulli":
            # x log σ(l) + (1 - x) log(1 - σ(l)), in the stable form of TensorFlow's
            # sigmoid_cross_entropy_with_logits: -(max(l, 0) - l x + log(1 + exp(-|l|)))
            per_pixel = -(ops.relu(out) - out * images + ops.log1p(ops.exp(-ops.abs(out))))
        else:
            channels = self.image_shape[-1]
            mean, log_scale = out[..., :channels], out[..., channels:]
            per_pixel = (-0.5 * LOG_2PI - log_scale
                         - 0.5 * ops.square((images - mean) * ops.exp(-log_scale)))
        return ops.sum(per_pixel, axis=[1, 2, 3])

    # -- training ------------------------------------------------------------------------

    def make_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """One Adam over the encoder and decoder."""
        return {"vae": keras.optimizers.Adam(self.settings["learning_rate"], name="vae")}

    def optimizer_variables(self, name: str) -> list[keras.Variable]:
        """The one optimizer updates both networks."""
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Minimise -ELBO = -E_q[log p(x | z)] + β·KL(q(z | x) ‖ N(0, I))."""
        images = batch["images"]
        with tf.GradientTape() as tape:
            mean, log_variance = self._posterior_parameters(images, training=True)
            noise = tf.random.normal(tf.shape(mean))
            z = mean + tf.exp(0.5 * log_variance) * noise  # the reparameterization
            reconstruction = -tf.reduce_mean(
                self._log_likelihood(images, self.decoder(z, training=True))
            )
            kl = losses.kl_divergence_standard_normal(mean, log_variance)
            loss = reconstruction + float(self.settings["beta"]) * kl
        self.minimize(tape, loss, "vae")
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl}

    # -- likelihood ----------------------------------------------------------------------

    def _importance_log_weights(self, images: Any, noise: Any) -> Any:
        """Log p(x, zᵢ) - log q(zᵢ | x) for zᵢ = μ + σ·εᵢ, ``noise`` ε of shape (n, k, latent).

        Returns (n, k). The noise comes in from numpy, so that every backend
        scores the same draws.
        """
        ops = keras.ops
        noise = ops.convert_to_tensor(noise)  # a backend tensor: numpy would take the product
        mean, log_variance = self._posterior_parameters(images)
        samples = ops.shape(noise)[1]
        z = mean[:, None] + ops.exp(0.5 * log_variance)[:, None] * noise
        repeated = ops.repeat(images, samples, axis=0)
        out = self.decoder(ops.reshape(z, (-1, self.latent_dim)), training=False)
        log_likelihood = ops.reshape(self._log_likelihood(repeated, out), (-1, samples))
        log_prior = -0.5 * ops.sum(ops.square(z) + LOG_2PI, axis=-1)
        log_posterior = -0.5 * ops.sum(
            ops.square(noise) + LOG_2PI + log_variance[:, None], axis=-1
        )
        return log_likelihood + log_prior - log_posterior

    def log_prob(self, images: Any, k: int | None = None, *, seed: int = 0,
                 max_batch: int = 4096) -> np.ndarray:
        """The importance-weighted bound on log p(x) in nats, one value per image.

        ``k`` importance samples (default: the config's ``importance_samples``);
        k = 1 gives the ELBO. It is a lower bound that rises towards log p(x)
        with k. The same seed gives the same estimate. ``max_batch`` caps the
        decoder batch (images × samples) to bound memory.
        """
        x = self._check_images(images)
        k = int(k or self.settings["importance_samples"])
        if k < 1:
            raise GenzooError(f"k must be at least 1, got {k}")
        per_chunk = max(1, min(k, max_batch))
        images_per_batch = max(1, max_batch // per_chunk)
        # One stream of ε from numpy, drawn image by image and sample by sample in the
        # order the chunks below take it: every backend, and every max_batch, sees the
        # same draws for the same seed.
        rng = np.random.default_rng(seed)
        results = []
        for start in range(0, len(x), images_per_batch):
            chunk = x[start : start + images_per_batch]
            parts = []
            for offset in range(0, k, per_chunk):
                samples = min(per_chunk, k - offset)
                noise = rng.standard_normal((len(chunk), samples, self.latent_dim),
                                            dtype=np.float32)
                parts.append(to_numpy(self._log_weights(chunk, noise)).astype(np.float64))
            log_weights = np.concatenate(parts, axis=1)
            peak = log_weights.max(axis=1, keepdims=True)  # log-sum-exp, stably
            log_mean = np.log(np.exp(log_weights - peak).sum(axis=1)) + peak[:, 0] - math.log(k)
            results.append(log_mean)
        return np.concatenate(results).astype(np.float64)

    # -- sampling and the latent space ---------------------------------------------------

    def _check_images(self, images: Any) -> np.ndarray:
        x = np.asarray(images, dtype=np.float32)
        if x.ndim != 4 or x.shape[1:] != self.image_shape:
            shape = ", ".join(map(str, self.image_shape))
            raise GenzooError(f"expected images of shape (n, {shape}), got {x.shape}")
        if x.min() < 0.0 or x.max() > 1.0:
            raise GenzooError("pixel values must lie in [0, 1]")
        return x

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Draw z ~ N(0, I) from ``rng`` and decode it to E[x | z]."""
        if condition is not None:
            raise GenzooError("the VAE is unconditional: it takes no condition")
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.predict_in_batches(self._decode_mean, z)

    def encode(self, images: Any) -> np.ndarray:
        """The posterior means E[z | x], shape (n, latent_dim)."""
        x = self._check_images(images)
        return self.predict_in_batches(lambda b: self._posterior(b)[0], x)

    def decode(self, z: Any) -> np.ndarray:
        """E[x | z] as images in [0, 1]."""
        codes = np.asarray(z, dtype=np.float32)
        if codes.ndim != 2 or codes.shape[1] != self.latent_dim:
            raise GenzooError(f"expected codes of shape (n, {self.latent_dim}), got {codes.shape}")
        return self.predict_in_batches(self._decode_mean, codes)

    def reconstruct(self, images: Any) -> np.ndarray:
        """decode(encode(x)): through the posterior means."""
        return self.decode(self.encode(images))
