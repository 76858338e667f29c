"""Denoising diffusion probabilistic models (Ho, Jain & Abbeel 2020), with DDIM sampling.

Training adds Gaussian noise to an image in one closed-form jump and teaches a
U-Net to tell which noise was added:

    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,   loss = |eps - eps_theta(x_t, t)|^2

for a timestep t drawn uniformly from 0..T-1, where abar_t is the product of
(1 - beta_s) over the schedule up to t (linear, Ho et al., or cosine, Nichol &
Dhariwal 2021). Sampling runs the network backwards from pure noise:

- ``ddpm``: ancestral sampling, x_{t-1} ~ q(x_{t-1} | x_t, x0_hat), over every
  step (or a strided subset of them);
- ``ddim`` (Song, Meng & Ermon 2021): the same trained network over a chosen
  number of steps; deterministic at eta 0, ancestral-like at eta 1.

- Network: a U-Net. Per resolution level, ``blocks_per_level`` residual blocks
  (group norm, swish, 3x3 convolution, the timestep embedding added, group
  norm, swish, dropout, 3x3 convolution) and self-attention at the levels
  ``attention_levels`` names; stride-2 convolutions down, nearest-neighbour
  upsampling and a convolution up, skip connections across. The timestep
  enters as a sinusoidal embedding through a two-layer MLP.
- The weights sampling uses are an exponential moving average of the trained
  ones, kept as a second component (``ema_denoiser``, inference only:
  published files hold it alone).
- ``GuidedDDPM`` adds a class label, embedded and added to the timestep
  embedding; ``label_dropout`` of the steps train with a "no label" token
  instead, so one network is both conditional and unconditional, and sampling
  mixes the two: eps = eps_uncond + w (eps_cond - eps_uncond) (classifier-free
  guidance, Ho & Salimans 2022; w = 0 is unconditional, w = 1 conditional).
- ``log_prob`` is the variational bound of Ho et al. (their eq. 5) on 8-bit
  images, with the discretized Gaussian decoder of their section 3.3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError
from genzoo_core.plugin import (
    GenerativeModel,
    average_decay,
    inference_function,
    update_average,
)
from genzoo_ddpm.plugin import GUIDED_SPEC, SPEC

# -- the noise schedule ------------------------------------------------------------------


def beta_schedule(name: str, timesteps: int) -> np.ndarray:
    """The variances beta_1..beta_T of the forward process, float64.

    ``linear``: Ho et al.'s 1e-4 to 0.02 for T = 1000, scaled by 1000 / T so
    other lengths add the same total noise (capped at 0.999, which only short
    schedules reach). ``cosine``: Nichol & Dhariwal's
    abar(t) = cos^2(((t / T + s) / (1 + s)) pi / 2), s = 0.008, betas capped at 0.999.
    """
    if name == "linear":
        scale = 1000.0 / timesteps
        # Below T = 50 the scaled betas pass 1, which no variance can be: cap them as cosine's.
        return np.minimum(np.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=np.float64),
                          0.999)
    if name == "cosine":
        s = 0.008
        t = np.arange(timesteps + 1, dtype=np.float64) / timesteps
        abar = np.cos((t + s) / (1 + s) * math.pi / 2) ** 2
        return np.minimum(1.0 - abar[1:] / abar[:-1], 0.999)
    raise ConfigError(f"unknown noise schedule {name!r}: use 'linear' or 'cosine'")


class Schedule:
    """Every per-timestep constant of the forward process and its posterior, float64.

    Index t = 0..T-1 stands for the paper's step t + 1.
    """

    def __init__(self, betas: np.ndarray) -> None:
        self.betas = np.asarray(betas, np.float64)
        self.timesteps = len(self.betas)
        self.alphas_cumprod = np.cumprod(1.0 - self.betas)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        # q(x_{t-1} | x_t, x_0) = N(coef_x0 x_0 + coef_xt x_t, posterior_variance)
        self.posterior_variance = (
            self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod))
        # The first posterior variance is 0; its log uses the second (as Ho et al.'s code).
        self.posterior_log_variance = np.log(
            np.append(self.posterior_variance[1], self.posterior_variance[1:]))
        self.coef_x0 = self.betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.coef_xt = ((1.0 - self.alphas_cumprod_prev) * np.sqrt(1.0 - self.betas)
                        / (1.0 - self.alphas_cumprod))


def noised(x0: Any, eps: Any, abar: Any) -> Any:
    """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, the forward process in one jump.

    Works on numpy arrays and tensors alike; ``abar`` broadcasts against ``x0``.
    """
    return abar**0.5 * x0 + (1.0 - abar) ** 0.5 * eps


def predicted_x0(x_t: np.ndarray, eps: np.ndarray, abar: float) -> np.ndarray:
    """x_0 as the network's noise estimate implies it, clipped to the data range [-1, 1]."""
    return np.clip((x_t - np.sqrt(1.0 - abar) * eps) / np.sqrt(abar), -1.0, 1.0)


def ddim_step(x_t: np.ndarray, eps: np.ndarray, abar: float, abar_prev: float, eta: float,
              noise: np.ndarray | None) -> np.ndarray:
    """One DDIM update (Song et al. 2021, eq. 12) from abar_t to abar_prev.

    sigma = eta sqrt((1 - abar_prev) / (1 - abar) (1 - abar / abar_prev));
    x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps + sigma noise,
    with the noise estimate recomputed from the clipped x0_hat.
    """
    x0 = predicted_x0(x_t, eps, abar)
    eps = (x_t - np.sqrt(abar) * x0) / np.sqrt(1.0 - abar)
    sigma = eta * math.sqrt((1.0 - abar_prev) / (1.0 - abar) * (1.0 - abar / abar_prev))
    x_prev = np.sqrt(abar_prev) * x0 + math.sqrt(max(1.0 - abar_prev - sigma**2, 0.0)) * eps
    if sigma > 0 and noise is not None:
        x_prev = x_prev + sigma * noise
    return x_prev.astype(np.float32)


def ancestral_step(x_t: np.ndarray, eps: np.ndarray, abar: float, abar_prev: float,
                   noise: np.ndarray | None) -> np.ndarray:
    """One ancestral update: x_prev ~ q(x_prev | x_t, x0_hat) (Ho et al., Algorithm 2).

    Between abar_t and abar_prev (consecutive steps, or a stride of them), the
    step's beta is 1 - abar / abar_prev; the variance is the posterior's.
    """
    beta = 1.0 - abar / abar_prev
    x0 = predicted_x0(x_t, eps, abar)
    mean = (beta * math.sqrt(abar_prev) / (1.0 - abar)) * x0 + (
        (1.0 - abar_prev) * math.sqrt(1.0 - beta) / (1.0 - abar)) * x_t
    variance = beta * (1.0 - abar_prev) / (1.0 - abar)
    if noise is not None and variance > 0:
        mean = mean + math.sqrt(variance) * noise
    return mean.astype(np.float32)


def sampling_timesteps(timesteps: int, steps: int) -> np.ndarray:
    """``steps`` timesteps from T-1 down to 0, evenly spaced (DDIM's uniform skip)."""
    if not 1 <= steps <= timesteps:
        raise ConfigError(f"steps must be in 1..{timesteps} (the model's timesteps), got {steps}")
    return np.unique(np.round(np.linspace(0, timesteps - 1, steps)).astype(np.int64))[::-1]


# -- architecture ------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="genzoo_ddpm")
class TimestepEmbedding(keras.layers.Layer):
    """Integer timesteps -> sinusoidal features of size ``dim`` (Vaswani et al. 2017)."""

    def __init__(self, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dim = dim

    def call(self, t: Any) -> Any:
        """Sines and cosines of ``t`` at ``dim / 2`` geometric frequencies."""
        half = self.dim // 2
        frequencies = keras.ops.exp(
            -math.log(10000.0) * keras.ops.arange(half, dtype="float32") / max(half - 1, 1))
        angles = keras.ops.cast(t, "float32")[:, None] * frequencies[None, :]
        embedding = keras.ops.concatenate([keras.ops.sin(angles), keras.ops.cos(angles)], -1)
        return keras.ops.cast(embedding, self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        """The layer's config, with ``dim``."""
        return {**super().get_config(), "dim": self.dim}


def residual_block(x: Any, embedding: Any, channels: int, groups: int, dropout: float,
                   name: str) -> Any:
    """Two normalised 3x3 convolutions with the step embedding added between them."""
    h = keras.layers.GroupNormalization(groups, name=f"{name}_norm1")(x)
    h = keras.layers.Activation("swish", name=f"{name}_swish1")(h)
    h = keras.layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv1")(h)
    step = keras.layers.Dense(channels, name=f"{name}_step")(embedding)
    h = keras.layers.Add(name=f"{name}_add_step")([h, keras.layers.Reshape(
        (1, 1, channels), name=f"{name}_step_map")(step)])
    h = keras.layers.GroupNormalization(groups, name=f"{name}_norm2")(h)
    h = keras.layers.Activation("swish", name=f"{name}_swish2")(h)
    h = keras.layers.Dropout(dropout, name=f"{name}_dropout")(h)
    h = keras.layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv2")(h)
    if x.shape[-1] != channels:
        x = keras.layers.Conv2D(channels, 1, name=f"{name}_skip")(x)
    return keras.layers.Add(name=f"{name}_out")([x, h])


def attention_block(x: Any, groups: int, name: str) -> Any:
    """Single-head self-attention over every position of the feature map, residual."""
    height, width, channels = x.shape[1:]
    h = keras.layers.GroupNormalization(groups, name=f"{name}_norm")(x)
    h = keras.layers.Reshape((height * width, channels), name=f"{name}_tokens")(h)
    h = keras.layers.MultiHeadAttention(1, channels, name=f"{name}_attention")(h, h)
    h = keras.layers.Reshape((height, width, channels), name=f"{name}_map")(h)
    return keras.layers.Add(name=f"{name}_out")([x, h])


def build_unet(
    image_shape: Sequence[int],
    channels: Sequence[int],
    blocks_per_level: int,
    attention_levels: Sequence[int],
    groups: int,
    dropout: float,
    num_classes: int = 0,
    name: str = "denoiser",
) -> keras.Model:
    """(x_t, t[, label]) -> the predicted noise, same shape as x_t.

    ``num_classes`` > 0 adds a label input; label ``num_classes`` is "no label".
    """
    height, width, image_channels = image_shape
    embedding_dim = 4 * channels[0]
    noisy = keras.Input(tuple(image_shape), name="noisy_images")
    t = keras.Input((), dtype="int32", name="timesteps")
    inputs = [noisy, t]
    embedding = TimestepEmbedding(channels[0], name="timestep_sinusoids")(t)
    embedding = keras.layers.Dense(embedding_dim, activation="swish", name="step_mlp1")(embedding)
    embedding = keras.layers.Dense(embedding_dim, name="step_mlp2")(embedding)
    if num_classes:
        label = keras.Input((), dtype="int32", name="labels")
        inputs.append(label)
        embedded = keras.layers.Embedding(num_classes + 1, embedding_dim,
                                          name="label_embedding")(label)
        embedding = keras.layers.Add(name="step_and_label")([embedding, embedded])
    embedding = keras.layers.Activation("swish", name="embedding_swish")(embedding)

    x = keras.layers.Conv2D(channels[0], 3, padding="same", name="stem")(noisy)
    skips = [x]
    last = len(channels) - 1
    for level, width_i in enumerate(channels):
        for block in range(blocks_per_level):
            x = residual_block(x, embedding, width_i, groups, dropout, f"down{level}_{block}")
            if level in attention_levels:
                x = attention_block(x, groups, f"down{level}_{block}_attn")
            skips.append(x)
        if level != last:
            x = keras.layers.Conv2D(width_i, 3, strides=2, padding="same",
                                    name=f"downsample{level}")(x)
            skips.append(x)
    x = residual_block(x, embedding, channels[-1], groups, dropout, "middle0")
    x = attention_block(x, groups, "middle_attn")
    x = residual_block(x, embedding, channels[-1], groups, dropout, "middle1")
    for level in reversed(range(len(channels))):
        for block in range(blocks_per_level + 1):
            x = keras.layers.Concatenate(name=f"up{level}_{block}_concat")([x, skips.pop()])
            x = residual_block(x, embedding, channels[level], groups, dropout,
                               f"up{level}_{block}")
            if level in attention_levels:
                x = attention_block(x, groups, f"up{level}_{block}_attn")
        if level != 0:
            x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"upsample{level}")(x)
            x = keras.layers.Conv2D(channels[level], 3, padding="same",
                                    name=f"upsample{level}_conv")(x)
    x = keras.layers.GroupNormalization(groups, name="out_norm")(x)
    x = keras.layers.Activation("swish", name="out_swish")(x)
    # The last convolution starts at zero: the untrained network predicts no noise.
    eps = keras.layers.Conv2D(image_channels, 3, padding="same", kernel_initializer="zeros",
                              dtype="float32", name="noise")(x)
    return keras.Model(inputs, eps, name=name)


# -- the model ---------------------------------------------------------------------------


class DDPM(GenerativeModel):
    """Unconditional denoising diffusion; ``sample(n, steps=..., sampler=..., eta=...)``.

    Config keys (defaults in :data:`genzoo_ddpm.plugin.SPEC`): ``image_shape``,
    ``timesteps`` (T), ``schedule`` (``linear`` or ``cosine``), the U-Net's
    ``channels`` per level, ``blocks_per_level``, ``attention_levels``,
    ``groups``, ``dropout``; training's ``learning_rate``, ``gradient_clip``,
    ``ema_decay``, ``batch_size``; the default ``sampler``, ``sampling_steps``
    and ``eta``, the per-epoch ``preview_steps``, and ``likelihood_timesteps``
    (how many of the T bound terms ``log_prob`` evaluates).
    """

    spec = SPEC
    num_classes = 0

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        height, width, _ = c["image_shape"]
        factor = 2 ** (len(c["channels"]) - 1)
        if height % factor or width % factor:
            raise ConfigError(
                f"ddpm halves the image {len(c['channels']) - 1} times: image_shape height and "
                f"width must be divisible by {factor}, got {list(c['image_shape'])}")
        bad = [w for w in c["channels"] if w % c["groups"]]
        if bad:
            raise ConfigError(f"ddpm channels must be divisible by groups={c['groups']}, "
                              f"got {bad[0]}")
        if max(c["attention_levels"], default=0) >= len(c["channels"]):
            raise ConfigError(f"attention_levels name levels 0..{len(c['channels']) - 1}, got "
                              f"{max(c['attention_levels'])}")
        self.schedule = Schedule(beta_schedule(c["schedule"], int(c["timesteps"])))
        self.timesteps = self.schedule.timesteps
        if self.spec.condition.value == "class_label":
            self.num_classes = int(c["num_classes"])
        architecture = (c["image_shape"], c["channels"], c["blocks_per_level"],
                        c["attention_levels"], c["groups"], c["dropout"], self.num_classes)
        self.denoiser = build_unet(*architecture, name="denoiser")
        self.ema_denoiser = build_unet(*architecture, name="ema_denoiser")
        self.ema_denoiser.set_weights(self.denoiser.get_weights())
        self.ema_denoiser.trainable = False
        self._abar = self.schedule.alphas_cumprod.astype(np.float32)  # train_step's table
        # Compiled on TensorFlow and JAX (an eager U-Net on JAX runs several times slower).
        self._predict = inference_function(
            lambda *inputs: self.ema_denoiser(list(inputs), training=False),
            networks=[self.ema_denoiser],
        )

    def call(self, inputs: Any, training: bool = False) -> Any:
        """The trained network's noise estimate for ``inputs = [x_t, t(, labels)]``."""
        return self.denoiser(inputs, training=training)

    # -- loss and train step -------------------------------------------------------------

    def make_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """One Adam for the trained network; the average is not optimized, it follows."""
        c = self.settings
        clip = float(c["gradient_clip"]) or None
        return {"denoiser": keras.optimizers.Adam(c["learning_rate"], global_clipnorm=clip,
                                                  name="denoiser")}

    def network_inputs(self, x_t: Any, t: Any, labels: Any) -> list[Any]:
        """The denoiser's inputs (the unconditional network takes no labels)."""
        return [x_t, t]

    def training_labels(self, batch: dict[str, Any], n: Any) -> Any:
        """The labels a training step conditions on (none here)."""
        return None

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Noise each image to a random step, predict that noise, step towards it, average."""
        x0 = batch["images"] * 2.0 - 1.0  # data in [0, 1] -> [-1, 1]
        n = tf.shape(x0)[0]
        t = tf.random.uniform((n,), 0, self.timesteps, dtype=tf.int32)
        eps = tf.random.normal(tf.shape(x0))
        x_t = noised(x0, eps, tf.reshape(tf.gather(self._abar, t), (-1, 1, 1, 1)))
        labels = self.training_labels(batch, n)
        with tf.GradientTape() as tape:
            predicted = self.denoiser(self.network_inputs(x_t, t, labels), training=True)
            loss = tf.reduce_mean(tf.square(eps - tf.cast(predicted, tf.float32)))
        self.minimize(tape, loss, "denoiser")
        decay = average_decay(float(self.settings["ema_decay"]),
                              self.optimizers["denoiser"].iterations)
        update_average(self.ema_denoiser, self.denoiser, decay)
        return {"loss": loss}

    def restore_components(self, missing: list[str]) -> None:
        """A file without the trained network (a published one) continues from the average."""
        if "denoiser" in missing:
            self.denoiser.set_weights(self.ema_denoiser.get_weights())

    # -- sampling ------------------------------------------------------------------------

    def noise_estimate(self, x_t: np.ndarray, t: int, labels: np.ndarray | None,
                       guidance: float) -> np.ndarray:
        """The averaged network's noise estimate at step ``t`` for every image."""
        steps = np.full((len(x_t),), t, np.int32)
        return self.predict_in_batches(self._predict, x_t, steps)

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator,
                 sampler: str | None = None, steps: int | None = None,
                 eta: float | None = None, guidance: float | None = None) -> np.ndarray:
        """Start from N(0, I) noise and denoise it with ``sampler`` over ``steps`` steps.

        Every draw (the start and each step's noise) comes from ``rng``, so a
        seed fixes the images. ``None`` options take the config's defaults.
        """
        c = self.settings
        sampler = sampler or c["sampler"]
        if steps is None:  # the configured count, or all T for an ancestral run asked for
            full = sampler == "ddpm" and sampler != c["sampler"]
            steps = self.timesteps if full else int(c["sampling_steps"])
        eta = float(c["eta"] if eta is None else eta)
        guidance = float(c.get("guidance", 1.0) if guidance is None else guidance)
        labels = self.check_labels(n, condition)
        return self.denoise(rng.standard_normal((n, *self.sample_shape)).astype(np.float32),
                            rng, sampler=sampler, steps=steps, eta=eta, labels=labels,
                            guidance=guidance)

    def denoise(self, x: np.ndarray, rng: np.random.Generator | None, *, sampler: str,
                steps: int, eta: float = 0.0, labels: np.ndarray | None = None,
                guidance: float = 1.0, keep: int = 0) -> Any:
        """Run the reverse process from noise ``x`` at step T; return images in [0, 1].

        With ``keep`` > 0 it returns ``(images, trajectory)``: ``keep`` snapshots
        of the image being denoised, x_t in [0, 1], shape ``(n, keep, h, w, c)``,
        from the starting noise to the finished image, evenly spaced over the steps.
        """
        abar = self.schedule.alphas_cumprod
        path = sampling_timesteps(self.timesteps, steps)
        # Snapshot i is taken before step i; the last one (len(path)) is the finished image.
        snapshots = set(np.round(np.linspace(0, len(path), keep)).astype(int)) if keep else ()
        trajectory = []
        for index, t in enumerate(path):
            abar_prev = abar[path[index + 1]] if index + 1 < len(path) else 1.0
            if index in snapshots:
                trajectory.append(x)
            eps = self.noise_estimate(x, int(t), labels, guidance)
            last = index + 1 == len(path)
            noise = None if last or rng is None else rng.standard_normal(x.shape).astype(
                np.float32)
            if sampler == "ddim":
                x = ddim_step(x, eps, abar[t], abar_prev, eta, noise)
            else:
                x = ancestral_step(x, eps, abar[t], abar_prev, noise)
            self.report_progress(index + 1, len(path))
        images = np.clip((x + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
        if len(path) in snapshots:
            trajectory.append(x)
        if keep:
            return images, np.clip((np.stack(trajectory, 1) + 1.0) / 2.0, 0.0, 1.0)
        return images

    def check_labels(self, n: int, condition: Any) -> np.ndarray | None:
        """The unconditional model takes no condition."""
        if condition is not None:
            raise ConfigError("ddpm is unconditional: drop the condition (ddpm-guided draws "
                              "a given class)")
        return None

    def preview(self, n: int, *, seed: int) -> np.ndarray:
        """The per-epoch grid, drawn by DDIM with ``preview_steps`` steps to stay cheap."""
        return self.sample(n, seed=seed, sampler="ddim",
                           steps=min(int(self.settings["preview_steps"]), self.timesteps))

    # -- likelihood ------------------------------------------------------------------------

    def log_prob(self, x: np.ndarray, *, seed: int = 0, timesteps: int | None = None
                 ) -> np.ndarray:
        """The variational lower bound on log p(x) in nats per image, of 8-bit images.

        ``x`` holds images in [0, 1], read as the 256 levels of 8-bit data. The
        bound (Ho et al. 2020, eq. 5) is L_T + sum_{t>1} L_{t-1} + L_0:
        L_T = KL(q(x_T | x_0) || N(0, I)); each L_{t-1} the KL between the
        forward posterior and the model's step, with the posterior's variance;
        L_0 the discretized Gaussian decoder's -log p(x_0 | x_1) over the 256
        bins. With ``timesteps`` (default: the config's ``likelihood_timesteps``)
        below T, the sum over the T - 1 middle terms is estimated from that many
        steps, one drawn in each of as many equal strata (an unbiased estimate of
        the bound, not the bound itself); at T it is the exact sum.
        """
        x = np.asarray(x, np.float32)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.sample_shape:
            raise ConfigError(f"log_prob takes images of shape (n, *{self.sample_shape}) in "
                              f"[0, 1], got {x.shape}")
        count = int(timesteps or self.settings["likelihood_timesteps"])
        rng = np.random.default_rng(seed)
        x0 = np.round(np.clip(x, 0, 1) * 255.0) / 127.5 - 1.0
        s = self.schedule
        total = self._prior_kl(x0)
        middle, weights = bound_timesteps(self.timesteps, count, rng)
        labels = None  # the unconditional network (a guided model's "no label")
        for t, weight in zip(middle, weights, strict=True):
            eps = rng.standard_normal(x0.shape)
            x_t = noised(x0, eps, s.alphas_cumprod[t]).astype(np.float32)
            mean = self._model_mean(x_t, int(t), labels)
            true_mean = s.coef_x0[t] * x0 + s.coef_xt[t] * x_t
            kl = 0.5 * (true_mean - mean) ** 2 / s.posterior_variance[t]
            total += weight * kl.reshape(len(x0), -1).sum(1)
        x_1 = noised(x0, rng.standard_normal(x0.shape), s.alphas_cumprod[0]).astype(np.float32)
        total += -discretized_gaussian_log_likelihood(
            x0, self._model_mean(x_1, 0, labels), s.posterior_log_variance[0]
        ).reshape(len(x0), -1).sum(1)
        return -total

    def _model_mean(self, x_t: np.ndarray, t: int, labels: Any) -> np.ndarray:
        """The mean of p(x_{t-1} | x_t): the posterior mean at the unclipped x0 estimate."""
        s = self.schedule
        eps = self.noise_estimate(x_t, t, labels, 1.0).astype(np.float64)
        x0 = (x_t - math.sqrt(1.0 - s.alphas_cumprod[t]) * eps) / math.sqrt(s.alphas_cumprod[t])
        return s.coef_x0[t] * x0 + s.coef_xt[t] * x_t

    def _prior_kl(self, x0: np.ndarray) -> np.ndarray:
        """KL(q(x_T | x_0) || N(0, I)) per image, in nats."""
        abar = self.schedule.alphas_cumprod[-1]
        mean, variance = math.sqrt(abar) * x0, 1.0 - abar
        kl = 0.5 * (-1.0 - math.log(variance) + variance + mean**2)
        return kl.reshape(len(x0), -1).sum(1)


def bound_timesteps(timesteps: int, count: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The middle terms t = 1..T-1 of the bound to evaluate, and the weight of each.

    All of them with weight 1 when ``count`` >= T - 1; otherwise ``count``
    equal strata, one t drawn uniformly in each and weighted by its stratum's
    size, so the weighted sum is an unbiased estimate of the full sum.
    """
    if count >= timesteps - 1:
        return np.arange(1, timesteps), np.ones(timesteps - 1)
    edges = np.floor(np.linspace(1, timesteps, count + 1)).astype(np.int64)
    picks = np.array([rng.integers(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)])
    return picks, np.diff(edges).astype(np.float64)


def _standard_normal_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


def discretized_gaussian_log_likelihood(x0: np.ndarray, mean: np.ndarray,
                                        log_variance: float) -> np.ndarray:
    """Log-probability of 8-bit ``x0`` (in [-1, 1]) under N(mean, exp(log_variance)), per pixel.

    Each of the 256 levels owns a bin of width 2 / 255 around it; the end bins
    reach to -inf and +inf (Ho et al., eq. 13).
    """
    std = math.exp(0.5 * log_variance)
    upper = np.where(x0 > 0.999, np.inf, (x0 - mean + 1.0 / 255.0) / std)
    lower = np.where(x0 < -0.999, -np.inf, (x0 - mean - 1.0 / 255.0) / std)
    probability = _standard_normal_cdf(upper) - _standard_normal_cdf(lower)
    return np.log(np.maximum(probability, 1e-12))


class GuidedDDPM(DDPM):
    """Class-conditional diffusion with classifier-free guidance.

    ``sample(n, condition=labels, guidance=w)``: eps = eps_uncond + w (eps_cond -
    eps_uncond), so w = 0 ignores the label, w = 1 is the conditional model, and
    larger w follows the label harder. Without labels it draws the class grid
    ``arange(n) % num_classes``. Extra config keys: ``num_classes``,
    ``label_dropout`` (the share of training steps without the label) and the
    default ``guidance``.
    """

    spec = GUIDED_SPEC

    def network_inputs(self, x_t: Any, t: Any, labels: Any) -> list[Any]:
        """The network takes the labels, ``num_classes`` meaning none."""
        return [x_t, t, labels]

    def training_labels(self, batch: dict[str, Any], n: Any) -> Any:
        """The batch's labels, replaced by "no label" for ``label_dropout`` of the images."""
        labels = tf.cast(batch["labels"], tf.int32)
        dropped = tf.random.uniform((n,)) < float(self.settings["label_dropout"])
        return tf.where(dropped, tf.fill((n,), self.num_classes), labels)

    def noise_estimate(self, x_t: np.ndarray, t: int, labels: np.ndarray | None,
                       guidance: float) -> np.ndarray:
        """The guided estimate; one network pass at guidance 0 or 1, two otherwise."""
        steps = np.full((len(x_t),), t, np.int32)
        unconditional = np.full((len(x_t),), self.num_classes, np.int32)
        if labels is None or guidance == 0.0:
            return self.predict_in_batches(self._predict, x_t, steps, unconditional)
        conditional = self.predict_in_batches(self._predict, x_t, steps, labels)
        if guidance == 1.0:
            return conditional
        free = self.predict_in_batches(self._predict, x_t, steps, unconditional)
        return free + guidance * (conditional - free)

    def check_labels(self, n: int, condition: Any) -> np.ndarray:
        """``condition`` as int32 labels of shape ``(n,)``; ``None`` gives the class grid."""
        return self.class_labels(n, condition)

    def preview(self, n: int, *, seed: int) -> np.ndarray:
        """A class grid: ``num_classes**2`` images, one class per column, default guidance."""
        return self.sample(self.num_classes**2, seed=seed, sampler="ddim",
                           steps=min(int(self.settings["preview_steps"]), self.timesteps))
