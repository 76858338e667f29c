"""Bernoulli-Bernoulli restricted Boltzmann machine, as in the seed chapter.

Energy E(v, h) = -b·v - c·h - vᵀWh over binary visible units v (the pixels)
and hidden units h. Summing out h gives the free energy
F(v) = -b·v - Σⱼ softplus(cⱼ + vᵀW₋ⱼ), and p(v) = exp(-F(v)) / Z.

Training follows the log-likelihood gradient, ⟨vhᵀ⟩_data - ⟨vhᵀ⟩_model, with
the model term from k Gibbs steps: started at the data (CD-k) or from chains
that persist across updates (persistent CD, Tieleman 2008). The update goes
through a Keras SGD optimizer with momentum, and L2 weight decay is added to
the weight gradient, so the core Trainer, checkpoints and HDF5 files work as
for every other model.

Z has no closed form, so ``log_prob`` uses an estimate of log Z by annealed
importance sampling (Salakhutdinov & Murray 2008) from a base-rate model,
stored with the weights. ``exact_log_partition`` enumerates the hidden states
of a small RBM to check it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from scipy.special import expit, logsumexp

import genzoo_core
from genzoo_core import ConfigError, GenzooError
from genzoo_core.plugin import GenerativeModel, keras_backend, replica_scale, to_numpy
from genzoo_rbm.plugin import SPEC

# -- parameters --------------------------------------------------------------------------

NOT_ESTIMATED = [0.0, -1.0]


class BoltzmannMachine(keras.Model):
    """The RBM's parameters; calling it on visible units gives p(h = 1 | v).

    Besides W and the two biases it keeps, untrained, the persistent chains of
    PCD and the AIS estimate of log Z, so that both travel with the weights.
    """

    def __init__(self, visible_units: int, hidden_units: int, chains: int,
                 name: str = "rbm") -> None:
        super().__init__(name=name)
        self.kernel = self.add_weight(
            shape=(visible_units, hidden_units), name="kernel",
            initializer=keras.initializers.RandomNormal(stddev=0.01),
        )
        self.visible_bias = self.add_weight(shape=(visible_units,), name="visible_bias",
                                            initializer="zeros")
        self.hidden_bias = self.add_weight(shape=(hidden_units,), name="hidden_bias",
                                           initializer="zeros")
        self.persistent_chains = self.add_weight(
            shape=(chains, visible_units), name="persistent_chains", initializer="zeros",
            trainable=False,
        )
        # AIS's log Z and its standard error; a negative error means "not estimated"
        # (NaN would stop the Trainer, which refuses to checkpoint non-finite weights)
        self.log_partition = self.add_weight(
            shape=(2,), name="log_partition", trainable=False,
            initializer=keras.initializers.Constant(NOT_ESTIMATED),
        )
        self.built = True

    def call(self, visible: Any) -> Any:
        """p(h = 1 | v) for flat visible vectors."""
        return keras.ops.sigmoid(keras.ops.matmul(visible, self.kernel) + self.hidden_bias)


# -- the partition function ---------------------------------------------------------------


def ais_temperatures(count: int) -> np.ndarray:
    """Inverse temperatures 0 = β₀ < ... < β_K = 1, dense near 1.

    Salakhutdinov & Murray's schedule, scaled to ``count``: 500/14500 of them
    evenly in [0, 0.5], 4000/14500 in [0.5, 0.9] and 10000/14500 in [0.9, 1].
    """
    if count < 10:
        raise ConfigError(f"AIS needs at least 10 temperatures, got {count}")
    first, second = max(1, round(count * 500 / 14500)), max(1, round(count * 4000 / 14500))
    third = count - first - second
    return np.concatenate([
        np.linspace(0.0, 0.5, first, endpoint=False),
        np.linspace(0.5, 0.9, second, endpoint=False),
        np.linspace(0.9, 1.0, third),
    ])


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), elementwise and stable, in x's dtype."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _ais_log_weights(kernel: np.ndarray, visible_bias: np.ndarray, hidden_bias: np.ndarray,
                     base_bias: np.ndarray, betas: np.ndarray, runs: int,
                     seed: int) -> np.ndarray:
    """Log w of each AIS run, from the base-rate model (β = 0) to the RBM (β = 1).

    Intermediate distribution k has the unnormalised marginal
    f_k(v) = exp((1 - β_k) a·v + β_k b·v) Πⱼ (1 + exp(β_k (c + vᵀW)ⱼ)), with a
    the base rates' biases; each run moves on by one Gibbs step that leaves f_k
    invariant. The chains run in float32 NumPy (the log weights add up in
    float64) and every draw comes from ``np.random.default_rng(seed)``, so an
    estimate is the same on every Keras backend.
    """
    rng = np.random.default_rng(seed)
    kernel, visible_bias, hidden_bias, base_bias = (
        np.asarray(x, np.float32) for x in (kernel, visible_bias, hidden_bias, base_bias))
    kernel_t = np.ascontiguousarray(kernel.T)
    betas = np.asarray(betas, np.float32)
    visible_units, hidden_units = kernel.shape
    visible = (rng.random((runs, visible_units), dtype=np.float32) < expit(base_bias)).astype(
        np.float32)
    log_weights = np.zeros(runs)
    for k in range(1, len(betas)):
        beta, previous = betas[k], betas[k - 1]
        pre_hidden = visible @ kernel + hidden_bias
        energy_terms = visible @ (visible_bias - base_bias)  # b·v - a·v
        log_weights += ((beta - previous) * energy_terms
                        + _softplus(beta * pre_hidden).sum(axis=1, dtype=np.float64)
                        - _softplus(previous * pre_hidden).sum(axis=1, dtype=np.float64))
        hidden_noise = rng.random((runs, hidden_units), dtype=np.float32)
        hidden = (hidden_noise < expit(beta * pre_hidden)).astype(np.float32)
        visible_logits = ((1.0 - beta) * base_bias
                          + beta * (hidden @ kernel_t + visible_bias))
        visible_noise = rng.random((runs, visible_units), dtype=np.float32)
        visible = (visible_noise < expit(visible_logits)).astype(np.float32)
    return log_weights


def ais_log_partition(kernel: np.ndarray, visible_bias: np.ndarray, hidden_bias: np.ndarray,
                      base_rates: np.ndarray, *, temperatures: int = 14500, runs: int = 100,
                      seed: int = 0) -> dict[str, float]:
    """Estimate log Z of an RBM by annealed importance sampling.

    Args:
        kernel: the RBM's weights W, shape (visible, hidden).
        visible_bias: b, shape (visible,).
        hidden_bias: c, shape (hidden,).
        base_rates: the start model's p(vᵢ = 1), usually the training data's
            pixel means (clipped away from 0 and 1).
        temperatures: the number of inverse temperatures (see :func:`ais_temperatures`).
        runs: independent AIS runs; their importance weights are averaged.
        seed: all randomness comes from it.

    Returns:
        ``log_partition``; ``std_error``, the delta-method standard error of the
        log of the averaged weights; ``lower`` and ``upper``, log(mean ± 3
        standard errors) of the weights (``lower`` is -inf when that is ≤ 0);
        ``temperatures``, ``runs`` and ``seconds``.
    """
    started = time.perf_counter()
    rates = np.clip(np.asarray(base_rates, np.float64), 1e-3, 1 - 1e-3)
    base_bias = np.log(rates) - np.log1p(-rates)
    log_base = float(np.sum(np.logaddexp(0.0, base_bias))
                     + kernel.shape[1] * math.log(2.0))
    log_weights = _ais_log_weights(kernel, visible_bias, hidden_bias, base_bias,
                                   ais_temperatures(temperatures), runs, seed)
    shift = log_weights.max()
    weights = np.exp(log_weights - shift)
    mean, error = weights.mean(), weights.std(ddof=1) / math.sqrt(runs)
    return {
        "log_partition": log_base + shift + math.log(mean),
        "std_error": float(error / mean),
        "lower": log_base + shift + (math.log(mean - 3 * error) if mean > 3 * error
                                     else -math.inf),
        "upper": log_base + shift + math.log(mean + 3 * error),
        "temperatures": temperatures,
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 2),
    }


def exact_log_partition(kernel: np.ndarray, visible_bias: np.ndarray,
                        hidden_bias: np.ndarray) -> float:
    """Log Z by enumerating every hidden state: for RBMs with at most 20 hidden units."""
    hidden_units = kernel.shape[1]
    if hidden_units > 20:
        raise ConfigError(f"enumerating 2^{hidden_units} hidden states is too many; use AIS")
    states = ((np.arange(2**hidden_units)[:, None] >> np.arange(hidden_units)) & 1).astype(
        np.float64
    )
    visible_logits = states @ kernel.T.astype(np.float64) + visible_bias
    terms = states @ hidden_bias.astype(np.float64) + np.logaddexp(0.0, visible_logits).sum(1)
    return float(logsumexp(terms))


# -- the model --------------------------------------------------------------------------------


class RBM(GenerativeModel):
    """Bernoulli-Bernoulli RBM over flattened images; ``sample`` runs a Gibbs chain.

    Config keys (defaults in :data:`genzoo_rbm.plugin.SPEC`): ``image_shape``,
    ``hidden_units``, ``persistent`` (PCD, else CD), ``gibbs_steps`` (k),
    ``learning_rate``, ``learning_rate_decay_steps`` (linear decay to 0 over
    that many updates; 0 keeps it constant), ``momentum``, ``weight_decay``
    (L2 on W), ``batch_size`` (also the number of persistent chains),
    ``sample_burn_in``, ``ais_temperatures``, ``ais_runs``, ``ais_base_rates``.
    """

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        if int(c["gibbs_steps"]) < 1 or int(c["hidden_units"]) < 1:
            raise ConfigError("gibbs_steps and hidden_units must be at least 1")
        if not 1 <= c["image_shape"][-1] <= 4:
            raise ConfigError(
                f"the RBM models images of 1 to 4 channels: the last item of image_shape must "
                f"be 1 to 4, got {list(c['image_shape'])}"
            )
        if (c["persistent"] and keras_backend() == "tensorflow"
                and tf.distribute.get_strategy().num_replicas_in_sync > 1):
            # one set of chains cannot be advanced by several replicas at once
            raise ConfigError("persistent CD runs on one replica; use persistent=false (CD-k) "
                              "under a multi-replica strategy")
        self.image_shape = tuple(c["image_shape"])
        self.visible_units = math.prod(self.image_shape)
        self.rbm = BoltzmannMachine(self.visible_units, int(c["hidden_units"]),
                                    chains=int(c["batch_size"]))

    def call(self, images: Any) -> Any:
        """p(h = 1 | v) for a batch of images."""
        return self.rbm(keras.ops.reshape(images, (-1, self.visible_units)))

    # -- energy ---------------------------------------------------------------------------

    def _numpy_parameters(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (to_numpy(self.rbm.kernel), to_numpy(self.rbm.visible_bias),
                to_numpy(self.rbm.hidden_bias))

    def _flat(self, images: Any) -> np.ndarray:
        x = np.asarray(images, dtype=np.float64)
        if x.ndim < 2 or math.prod(x.shape[1:]) != self.visible_units:
            raise GenzooError(
                f"expected images of shape (n, {', '.join(map(str, self.image_shape))}), "
                f"got {x.shape}"
            )
        if x.min() < 0.0 or x.max() > 1.0:
            raise GenzooError("pixel values must lie in [0, 1] (0 and 1 for exact bits)")
        return x.reshape(len(x), -1)

    def free_energy(self, images: Any) -> np.ndarray:
        """F(v) = -b·v - Σⱼ softplus(cⱼ + vᵀW₋ⱼ), in nats, one value per image."""
        kernel, visible_bias, hidden_bias = self._numpy_parameters()
        v = self._flat(images)
        return -(v @ visible_bias) - np.logaddexp(0.0, v @ kernel + hidden_bias).sum(axis=1)

    def pseudo_log_likelihood(self, images: Any) -> np.ndarray:
        """Σᵢ log p(vᵢ | v₋ᵢ) per image, in nats: each pixel given all the others.

        p(vᵢ | v₋ᵢ) = sigmoid(F(v with bit i flipped) - F(v)), computed for all
        784 flips at once per image.
        """
        kernel, visible_bias, hidden_bias = self._numpy_parameters()
        v = np.round(self._flat(images))
        total = np.empty(len(v))
        for i, row in enumerate(v):
            pre = row @ kernel + hidden_bias                  # (H,)
            sign = 1.0 - 2.0 * row                            # +1 where a 0 becomes 1
            flipped = pre[None, :] + sign[:, None] * kernel   # (D, H): one flip per row
            delta_free = (-(sign * visible_bias)
                          - np.logaddexp(0.0, flipped).sum(1)
                          + np.logaddexp(0.0, pre).sum())     # F(flipped) - F(v)
            total[i] = -np.logaddexp(0.0, -delta_free).sum()  # Σ log sigmoid(ΔF)
        return total

    def estimate_log_partition(self, data: Any = None, *, temperatures: int | None = None,
                               runs: int | None = None, seed: int = 0) -> dict[str, float]:
        """Estimate log Z by AIS, store it with the weights, and return the estimate.

        ``data`` (images in [0, 1]) sets the base-rate model to its pixel means;
        without it the base rates are sigmoid(b). Defaults come from the config
        (``ais_temperatures``, ``ais_runs``).
        """
        kernel, visible_bias, hidden_bias = self._numpy_parameters()
        rates = (self._flat(data).mean(axis=0) if data is not None
                 else expit(visible_bias))
        estimate = ais_log_partition(
            kernel, visible_bias, hidden_bias, rates,
            temperatures=int(temperatures or self.settings["ais_temperatures"]),
            runs=int(runs or self.settings["ais_runs"]), seed=seed,
        )
        self.rbm.log_partition.assign([estimate["log_partition"], estimate["std_error"]])
        return estimate

    def log_prob(self, images: Any) -> np.ndarray:
        """Log p(v) = -F(v) - log Z in nats per image, with log Z from AIS.

        An estimate stored with the weights is used; otherwise one is made now
        with the config's AIS settings (``ais_temperatures``, ``ais_runs``, seed 0,
        base rates from ``ais_base_rates``) and stored.
        """
        log_partition, std_error = (float(x) for x in to_numpy(self.rbm.log_partition))
        if std_error < 0:
            log_partition = self.estimate_log_partition(self.base_rate_images())[
                "log_partition"]
        return -self.free_energy(images) - log_partition

    def base_rate_images(self) -> np.ndarray | None:
        """The images whose pixel means start AIS in :meth:`log_prob`, or ``None``.

        The train split of the config's ``ais_base_rates`` dataset (the
        pretrained weights' protocol: ``mnist``, grey levels / 255); ``None``
        when it is empty (the base rates are then sigmoid(b)).
        """
        name = self.settings["ais_base_rates"]
        if not name:
            return None
        images = genzoo_core.load_data(name, "train").images
        return np.asarray(images, dtype=np.float32) / 255.0

    # -- training -----------------------------------------------------------------------

    def make_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """SGD with momentum; the learning rate decays linearly to 0 if asked."""
        c = self.settings
        rate: Any = float(c["learning_rate"])
        if int(c["learning_rate_decay_steps"]) > 0:
            rate = keras.optimizers.schedules.PolynomialDecay(
                rate, int(c["learning_rate_decay_steps"]), end_learning_rate=0.0
            )
        return {"rbm": keras.optimizers.SGD(rate, momentum=float(c["momentum"]), name="rbm")}

    def _gibbs(self, visible: tf.Tensor, steps: int) -> tf.Tensor:
        """``steps`` full Gibbs sweeps v -> h -> v, returning sampled bits."""
        rbm = self.rbm
        for _ in range(steps):
            p_hidden = tf.sigmoid(tf.matmul(visible, rbm.kernel) + rbm.hidden_bias)
            hidden = tf.cast(tf.random.uniform(tf.shape(p_hidden)) < p_hidden, tf.float32)
            p_visible = tf.sigmoid(tf.matmul(hidden, rbm.kernel, transpose_b=True)
                                   + rbm.visible_bias)
            visible = tf.cast(tf.random.uniform(tf.shape(p_visible)) < p_visible, tf.float32)
        return visible

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """One CD-k or PCD-k update of W, b and c."""
        rbm, c = self.rbm, self.settings
        positive = tf.reshape(batch["images"], (-1, self.visible_units))
        # p(h | v) in float32 under any dtype policy: the gradients below are made of them.
        positive_hidden = tf.cast(rbm(positive), tf.float32)
        start = rbm.persistent_chains if c["persistent"] else positive
        negative = self._gibbs(start, int(c["gibbs_steps"]))
        negative_hidden = tf.cast(rbm(negative), tf.float32)
        n_pos = tf.cast(tf.shape(positive)[0], tf.float32)
        n_neg = tf.cast(tf.shape(negative)[0], tf.float32)
        # minus the log-likelihood gradient, plus L2 weight decay on W
        kernel_gradient = (
            tf.matmul(negative, negative_hidden, transpose_a=True) / n_neg
            - tf.matmul(positive, positive_hidden, transpose_a=True) / n_pos
            + float(c["weight_decay"]) * rbm.kernel
        )
        visible_gradient = (tf.reduce_mean(negative, 0) - tf.reduce_mean(positive, 0))
        hidden_gradient = (tf.reduce_mean(negative_hidden, 0)
                           - tf.reduce_mean(positive_hidden, 0))
        # Gradients by hand, not from a tape, so minimize() does not apply: scale each
        # for the replicas (the optimizer sums them) before applying it.
        gradients = [replica_scale(g) for g in (kernel_gradient, visible_gradient,
                                                 hidden_gradient)]
        self.optimizers["rbm"].apply_gradients(
            zip(gradients, [rbm.kernel, rbm.visible_bias, rbm.hidden_bias])
        )
        if c["persistent"]:
            rbm.persistent_chains.assign(negative)
        rbm.log_partition.assign(NOT_ESTIMATED)  # the parameters moved: log Z is stale
        reconstruction = tf.sigmoid(
            tf.matmul(positive_hidden, rbm.kernel, transpose_b=True) + rbm.visible_bias
        )
        return {
            "reconstruction_error": tf.reduce_mean(
                tf.reduce_sum(tf.square(positive - reconstruction), axis=1)
            ),
            "free_energy_gap": tf.reduce_mean(self._free_energy_tensor(positive))
            - tf.reduce_mean(self._free_energy_tensor(negative)),
        }

    def _free_energy_tensor(self, visible: tf.Tensor) -> tf.Tensor:
        rbm = self.rbm
        return (-tf.linalg.matvec(visible, rbm.visible_bias)
                - tf.reduce_sum(tf.nn.softplus(tf.matmul(visible, rbm.kernel)
                                               + rbm.hidden_bias), axis=1))

    # -- sampling and the latent code ----------------------------------------------------

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Run n Gibbs chains from random bits for ``sample_burn_in`` sweeps.

        Returns the last sweep's p(v = 1 | h), the usual way to show RBM samples.
        """
        if condition is not None:
            raise GenzooError("the RBM is unconditional: it takes no condition")
        return self._gibbs_chains(n, rng, int(self.settings["sample_burn_in"]))

    def preview(self, n: int, *, seed: int) -> np.ndarray:
        """The per-epoch training grid: chains of 100 sweeps, to keep epochs short."""
        return self._gibbs_chains(n, np.random.default_rng(seed), 100)

    def _gibbs_chains(self, n: int, rng: np.random.Generator, sweeps: int) -> np.ndarray:
        kernel, visible_bias, hidden_bias = (p.astype(np.float32) for p in self._numpy_parameters())
        visible = (rng.random((n, self.visible_units)) < 0.5).astype(np.float32)
        p_visible = visible
        for _ in range(max(1, sweeps)):
            p_hidden = expit(visible @ kernel + hidden_bias)
            hidden = (rng.random(p_hidden.shape) < p_hidden).astype(np.float32)
            p_visible = expit(hidden @ kernel.T + visible_bias)
            visible = (rng.random(p_visible.shape) < p_visible).astype(np.float32)
        return p_visible.reshape(n, *self.image_shape)

    def encode(self, images: Any) -> np.ndarray:
        """p(h = 1 | v): the hidden units' probabilities, shape (n, hidden_units)."""
        kernel, _, hidden_bias = self._numpy_parameters()
        return expit(self._flat(images) @ kernel + hidden_bias).astype(np.float32)

    def decode(self, hidden: Any) -> np.ndarray:
        """p(v = 1 | h) as images, for hidden states or probabilities."""
        kernel, visible_bias, _ = self._numpy_parameters()
        h = np.asarray(hidden, dtype=np.float64)
        if h.ndim != 2 or h.shape[1] != kernel.shape[1]:
            raise GenzooError(f"expected hidden states of shape (n, {kernel.shape[1]}), "
                              f"got {h.shape}")
        p = expit(h @ kernel.T + visible_bias).astype(np.float32)
        return p.reshape(len(h), *self.image_shape)

    def reconstruct(self, images: Any) -> np.ndarray:
        """decode(encode(v)): one mean-field pass down and up."""
        return self.decode(self.encode(images))
