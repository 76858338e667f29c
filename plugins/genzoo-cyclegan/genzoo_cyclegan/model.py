"""CycleGAN (Zhu, Park, Isola & Efros 2017): unpaired image-to-image translation.

Two generators translate between domains, G_AB: A -> B and G_BA: B -> A, and two
discriminators tell real from translated images in each domain, D_A and D_B.

- Generator (the paper's ResNet generator, width k = ``generator_filters``):
  c7s1-k, d2k, d4k, ``residual_blocks`` x R4k, u2k, uk, c7s1-3 with tanh. c7s1-k is
  a 7x7 convolution with stride 1, instance norm and ReLU; dk a 3x3 convolution
  with stride 2; Rk two 3x3 convolutions around a skip connection; uk a 3x3
  transposed convolution with stride 2. Every 3x3 and 7x7 convolution with
  stride 1 pads by reflection, which avoids dark borders.
- Discriminator (the 70x70 PatchGAN, width k = ``discriminator_filters``):
  C-k (no norm), C-2k, C-4k (stride 2), C-8k (stride 1), then a 1-channel
  convolution: one score per overlapping 70x70 patch. 4x4 kernels, instance norm,
  LeakyReLU(0.2).
- Instance norm is ``keras.layers.GroupNormalization(groups=-1)``: one group per
  channel, so each image is normalised on its own.
- Losses: least squares (LSGAN) for both players; cycle consistency
  ``cycle_weight`` * |x - G_BA(G_AB(x))|_1 in both directions (lambda = 10); identity
  ``identity_weight * cycle_weight`` * |y - G_AB(y)|_1 (0.5 lambda), all on images
  in [-1, 1].
- The discriminators see translated images drawn from a history pool of the last
  50 (Shrivastava et al. 2017), so they do not chase the generators' latest mode.
- Adam(2e-4, beta_1 0.5); the learning rate stays constant, then decays linearly to
  zero over the last ``decay_epochs`` of ``epochs``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError, DataError
from genzoo_core.plugin import (
    GenerativeModel,
    UnpairedDataSource,
    inference_function,
    input_images,
    losses,
    resized_images,
)
from genzoo_cyclegan.plugin import SPEC

DIRECTIONS = ("AtoB", "BtoA")
PREVIEW_IMAGES = 4  # images per domain in the Trainer's per-epoch grid

# -- architecture -------------------------------------------------------------------


class ReflectionPadding2D(keras.layers.Layer):
    """Pad height and width by ``padding`` pixels, mirroring the image at its border."""

    def __init__(self, padding: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x: Any) -> Any:
        """Reflect-pad the two spatial axes of an NHWC batch."""
        p = self.padding
        return keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        """Height and width grow by ``2 * padding``."""
        n, h, w, c = input_shape
        grow = 2 * self.padding
        return (n, None if h is None else h + grow, None if w is None else w + grow, c)

    def get_config(self) -> dict[str, Any]:
        """Layer config, with ``padding``."""
        return {**super().get_config(), "padding": self.padding}


def instance_norm(name: str) -> keras.layers.Layer:
    """Instance normalisation: group norm with one group per channel."""
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def build_generator(
    image_shape: list[int], filters: int, residual_blocks: int, name: str
) -> keras.Model:
    """The ResNet generator: image in [-1, 1] -> image in [-1, 1] of the same size."""
    channels = image_shape[2]
    images = keras.Input((None, None, channels), name="images")

    def conv_norm_relu(x: Any, width: int, kernel: int, stride: int, label: str) -> Any:
        if stride == 1:  # stride-1 convolutions keep their size by reflection padding
            x = ReflectionPadding2D(kernel // 2, name=f"{label}_pad")(x)
        x = keras.layers.Conv2D(
            width, kernel, strides=stride, padding="valid" if stride == 1 else "same",
            use_bias=False, name=f"{label}_conv",
        )(x)
        x = instance_norm(f"{label}_norm")(x)
        return keras.layers.ReLU(name=f"{label}_relu")(x)

    x = conv_norm_relu(images, filters, 7, 1, "c7s1")
    x = conv_norm_relu(x, 2 * filters, 3, 2, "down_1")
    x = conv_norm_relu(x, 4 * filters, 3, 2, "down_2")
    for i in range(residual_blocks):
        label = f"residual_{i}"
        y = conv_norm_relu(x, 4 * filters, 3, 1, f"{label}_a")
        y = ReflectionPadding2D(1, name=f"{label}_b_pad")(y)
        y = keras.layers.Conv2D(4 * filters, 3, use_bias=False, name=f"{label}_b_conv")(y)
        y = instance_norm(f"{label}_b_norm")(y)
        x = keras.layers.Add(name=f"{label}_add")([x, y])
    for i, width in enumerate((2 * filters, filters)):
        x = keras.layers.Conv2DTranspose(
            width, 3, strides=2, padding="same", use_bias=False, name=f"up_{i + 1}_conv"
        )(x)
        x = instance_norm(f"up_{i + 1}_norm")(x)
        x = keras.layers.ReLU(name=f"up_{i + 1}_relu")(x)
    x = ReflectionPadding2D(3, name="to_image_pad")(x)
    outputs = keras.layers.Conv2D(channels, 7, activation="tanh", name="to_image")(x)
    return keras.Model(images, outputs, name=name)


def build_discriminator(
    image_shape: list[int], filters: int, slope: float, name: str
) -> keras.Model:
    """The 70x70 PatchGAN: image in [-1, 1] -> a map of real/fake scores, one per patch."""
    images = keras.Input((None, None, image_shape[2]), name="images")
    x = images
    for i, (multiple, stride) in enumerate(((1, 2), (2, 2), (4, 2), (8, 1))):
        x = keras.layers.Conv2D(
            multiple * filters, 4, strides=stride, padding="same", use_bias=i == 0,
            name=f"conv_{i}",
        )(x)
        if i > 0:  # no normalisation on the first layer, as in the paper
            x = instance_norm(f"norm_{i}")(x)
        x = keras.layers.LeakyReLU(slope, name=f"leaky_relu_{i}")(x)
    scores = keras.layers.Conv2D(1, 4, padding="same", name="patch_scores")(x)
    return keras.Model(images, scores, name=name)


# -- the history pool ------------------------------------------------------------------


class HistoryPool(keras.layers.Layer):
    """The last ``size`` translated images, replayed to a discriminator (Shrivastava et al.).

    For each image pushed: while the pool is not full, store it and return it;
    once full, with probability 1/2 return a random stored image and store the
    new one in its place, else return the new image. The buffer lives in
    non-trainable variables, so this works inside a compiled train step. It is
    not part of the saved weights: a resumed run refills it within ``size`` images.

    Args:
        size: capacity; 0 passes every image straight through.
        image_shape: (height, width, channels) of the images.
        seed: seed of the coin flips and slot choices.
    """

    def __init__(self, size: int, image_shape: list[int], seed: int | None = None,
                 **kwargs: Any) -> None:
        # A float32 buffer under any dtype policy: its images are data, not computation.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.size = int(size)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.seed_generator = keras.random.SeedGenerator(seed, name=f"{self.name}_seed")
        self.images = self.add_weight(
            shape=(max(self.size, 1), *self.image_shape), initializer="zeros",
            trainable=False, name="images",
        )
        self.count = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="count"
        )
        self.built = True  # the buffer's shape is known up front, so nothing waits for call

    def call(self, images: Any) -> Any:
        """Push a batch of images; return as many, some possibly from the history."""
        if self.size == 0:
            return images
        images = tf.convert_to_tensor(images, tf.float32)
        n = tf.shape(images)[0]
        # All randomness is drawn up front; the loop below is then deterministic.
        coins = keras.random.uniform((n,), seed=self.seed_generator)
        slots = keras.random.randint((n,), 0, self.size, seed=self.seed_generator)

        def push(i: Any, buffer: Any, count: Any, outputs: Any) -> tuple[Any, ...]:
            image = images[i]
            filling = count < self.size
            swap = tf.logical_and(tf.logical_not(filling), coins[i] < 0.5)
            slot = tf.where(filling, count, slots[i])
            outputs = outputs.write(i, tf.where(swap, buffer[slot], image))
            buffer = tf.cond(
                tf.logical_or(filling, swap),
                lambda: tf.tensor_scatter_nd_update(buffer, [[slot]], image[None]),
                lambda: buffer,
            )
            return i + 1, buffer, count + tf.cast(filling, tf.int32), outputs

        _, buffer, count, outputs = tf.while_loop(
            lambda i, *_: i < n,
            push,
            (tf.constant(0), tf.convert_to_tensor(self.images), tf.convert_to_tensor(self.count),
             tf.TensorArray(tf.float32, size=n, element_shape=self.image_shape)),
        )
        self.images.assign(buffer)
        self.count.assign(count)
        return outputs.stack()

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        """The input's shape."""
        return input_shape


# -- the learning-rate schedule --------------------------------------------------------


class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant ``learning_rate``, then linear to 0 over the last ``decay_epochs`` of ``epochs``.

    Epochs are counted in optimizer steps: ``steps_per_epoch = examples_per_epoch //
    batch_size``, as the Trainer counts them. The model sets ``examples_per_epoch``
    from its data (``prepare_data``); ``batch_size`` starts at the configured one
    and every train step sets it to the batch it trains on. The
    step is the optimizer's ``iterations``, saved in checkpoints, so a resumed run
    continues on the same schedule. Until the epoch length is known the rate is
    constant.
    """

    def __init__(
        self, learning_rate: float, epochs: int, decay_epochs: int, batch_size: int = 1
    ) -> None:
        self.learning_rate = float(learning_rate)
        self.epochs = int(epochs)
        self.decay_epochs = int(decay_epochs)
        # ONLY_FIRST_REPLICA: every replica assigns the same value inside a train step.
        self.examples_per_epoch = tf.Variable(
            0, dtype=tf.int64, trainable=False, name="examples_per_epoch",
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )
        self.batch_size = tf.Variable(
            int(batch_size), dtype=tf.int64, trainable=False, name="batch_size",
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )

    def epoch(self, step: Any) -> tf.Tensor:
        """Fractional epochs done after ``step`` optimizer steps (0 while unknown)."""
        steps_per_epoch = self.examples_per_epoch // tf.maximum(self.batch_size, 1)
        return tf.math.divide_no_nan(
            tf.cast(step, tf.float32), tf.cast(steps_per_epoch, tf.float32)
        )

    def __call__(self, step: Any) -> tf.Tensor:
        """The learning rate after ``step`` optimizer steps."""
        decay_start = float(self.epochs - self.decay_epochs)
        if self.decay_epochs <= 0:
            return tf.constant(self.learning_rate)
        remaining = 1.0 - (self.epoch(step) - decay_start) / float(self.decay_epochs)
        return self.learning_rate * tf.clip_by_value(remaining, 0.0, 1.0)

    def get_config(self) -> dict[str, Any]:
        """The schedule's arguments (the epoch length is set from the data)."""
        return {"learning_rate": self.learning_rate, "epochs": self.epochs,
                "decay_epochs": self.decay_epochs}


# -- the model ---------------------------------------------------------------------


class CycleGAN(GenerativeModel):
    """CycleGAN between domains A and B; ``translate(x, direction=...)`` maps images.

    ``sample(n, condition=images, seed=...)`` translates the first ``n`` input
    images from A to B (deterministically; the seed is not used).

    Config keys (defaults in :data:`genzoo_cyclegan.plugin.SPEC`): ``image_shape``
    (square, side divisible by 4: the size the model trains and translates at),
    ``generator_filters`` (k of c7s1-k), ``residual_blocks``,
    ``discriminator_filters`` (k of C-k), ``leaky_relu_slope``, ``cycle_weight``
    (lambda), ``identity_weight`` (the identity loss's weight as a fraction of
    lambda; 0 turns it off), ``pool_size``, ``learning_rate``, ``beta_1``,
    ``epochs`` and ``decay_epochs`` (the learning-rate schedule; train for
    ``epochs`` epochs to complete it), ``batch_size``.
    """

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        height, width, channels = (int(d) for d in c["image_shape"])
        if height != width or height % 4:
            raise ConfigError(
                f"cyclegan needs a square image_shape whose side is divisible by 4 (two "
                f"stride-2 downsamplings), got {list(c['image_shape'])}"
            )
        if not 1 <= channels <= 4:
            raise ConfigError(
                f"cyclegan translates images of 1 to 4 channels: the last item of image_shape "
                f"must be 1 to 4, got {list(c['image_shape'])}"
            )
        if not 0 <= int(c["decay_epochs"]) <= int(c["epochs"]):
            raise ConfigError(
                f"decay_epochs must lie in [0, epochs={c['epochs']}], got {c['decay_epochs']}"
            )
        self.size, self.channels = height, channels
        shape = [height, width, channels]
        self.generator_ab = build_generator(
            shape, c["generator_filters"], c["residual_blocks"], "generator_ab"
        )
        self.generator_ba = build_generator(
            shape, c["generator_filters"], c["residual_blocks"], "generator_ba"
        )
        self.discriminator_a = build_discriminator(
            shape, c["discriminator_filters"], c["leaky_relu_slope"], "discriminator_a"
        )
        self.discriminator_b = build_discriminator(
            shape, c["discriminator_filters"], c["leaky_relu_slope"], "discriminator_b"
        )
        self.pool_a = HistoryPool(c["pool_size"], shape, seed=1, name="pool_a")
        self.pool_b = HistoryPool(c["pool_size"], shape, seed=2, name="pool_b")
        self.cycle_weight = float(c["cycle_weight"])
        self.identity_weight = float(c["identity_weight"]) * self.cycle_weight
        self.learning_rate_schedule: LinearDecay | None = None
        self._examples_per_epoch = 0
        self._preview_inputs: tuple[np.ndarray, np.ndarray] | None = None
        self._translators = {
            "AtoB": self._compiled(self.generator_ab),
            "BtoA": self._compiled(self.generator_ba),
        }

    @staticmethod
    def _compiled(generator: keras.Model) -> Any:
        # Compiled on TensorFlow and JAX, eager on PyTorch: translation runs on every backend.
        return inference_function(
            lambda x: (generator(x * 2.0 - 1.0, training=False) + 1.0) / 2.0, networks=[generator]
        )

    def call(self, inputs: Any, training: bool = False) -> Any:
        """G_AB of images in [-1, 1]."""
        return self.generator_ab(inputs, training=training)

    # -- data ----------------------------------------------------------------------

    def prepare_data(self, data: Any) -> UnpairedDataSource:
        """Check that ``data`` holds two domains, resize them to the model's size.

        Also records the epoch length for the learning-rate schedule, and keeps a
        few images of each domain for the Trainer's per-epoch preview.
        """
        if not isinstance(data, UnpairedDataSource):
            raise DataError(
                f"cyclegan trains on two unpaired image domains, got {type(data).__name__} "
                f"{getattr(data, 'name', '')!r}: pass a folder with trainA/ and trainB/ "
                f"(genzoo_core.load_unpaired_folders), or --data summer2winter"
            )
        if data.image_shape[2] != self.channels:
            raise DataError(
                f"{data.name} has {data.image_shape[2]}-channel images, but this cyclegan "
                f"is configured for {self.channels} "
                f"(image_shape {list(self.settings['image_shape'])})"
            )
        data = data.resized(self.size)
        self._examples_per_epoch = len(data)
        if self.learning_rate_schedule is not None:
            self.learning_rate_schedule.examples_per_epoch.assign(len(data))
        k = PREVIEW_IMAGES
        self._preview_inputs = (
            data.images_a[:k].astype(np.float32) / 255.0,
            data.images_b[:k].astype(np.float32) / 255.0,
        )
        return data

    # -- losses ------------------------------------------------------------------

    def make_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """One Adam for both generators, one for both discriminators, on one schedule."""
        c = self.settings
        self.learning_rate_schedule = LinearDecay(
            c["learning_rate"], c["epochs"], c["decay_epochs"], c["batch_size"]
        )
        self.learning_rate_schedule.examples_per_epoch.assign(self._examples_per_epoch)
        return {
            name: keras.optimizers.Adam(self.learning_rate_schedule, beta_1=c["beta_1"],
                                        name=name)
            for name in ("generators", "discriminators")
        }

    def optimizer_variables(self, name: str) -> list[keras.Variable]:
        """Each optimizer trains a pair of networks."""
        pair = {
            "generators": (self.generator_ab, self.generator_ba),
            "discriminators": (self.discriminator_a, self.discriminator_b),
        }[name]
        return [v for network in pair for v in network.trainable_variables]

    def generator_losses(self, real_a: Any, real_b: Any) -> dict[str, tf.Tensor]:
        """The generators' loss terms for images in [-1, 1], and the translations.

        Returns ``adversarial_ab``, ``adversarial_ba``, ``cycle_a`` (A -> B -> A),
        ``cycle_b``, ``identity_a`` (G_BA on A images), ``identity_b``, their sum
        ``total``, and the translated batches ``fake_a``, ``fake_b``.
        """
        fake_b = self.generator_ab(real_a, training=True)
        fake_a = self.generator_ba(real_b, training=True)
        terms = {
            # The core's least-squares generator loss is 0.5 (D(G(x)) - 1)^2; the
            # paper's generator objective has no 1/2, and lambda = 10 is relative to it.
            "adversarial_ab": 2.0 * losses.least_squares_generator_loss(
                self.discriminator_b(fake_b, training=True)
            ),
            "adversarial_ba": 2.0 * losses.least_squares_generator_loss(
                self.discriminator_a(fake_a, training=True)
            ),
            "cycle_a": losses.cycle_consistency_loss(
                real_a, self.generator_ba(fake_b, training=True), self.cycle_weight
            ),
            "cycle_b": losses.cycle_consistency_loss(
                real_b, self.generator_ab(fake_a, training=True), self.cycle_weight
            ),
        }
        if self.identity_weight:
            terms["identity_a"] = losses.identity_loss(
                real_a, self.generator_ba(real_a, training=True), self.identity_weight
            )
            terms["identity_b"] = losses.identity_loss(
                real_b, self.generator_ab(real_b, training=True), self.identity_weight
            )
        else:
            terms["identity_a"] = terms["identity_b"] = tf.constant(0.0)
        terms["total"] = tf.add_n(list(terms.values()))
        return {**terms, "fake_a": fake_a, "fake_b": fake_b}

    def discriminator_losses(
        self, real_a: Any, real_b: Any, fake_a: Any, fake_b: Any
    ) -> dict[str, tf.Tensor]:
        """Least-squares losses of D_A and D_B (each 0.5 (real - 1)^2 + 0.5 fake^2)."""
        return {
            "a": losses.least_squares_discriminator_loss(
                self.discriminator_a(real_a, training=True),
                self.discriminator_a(fake_a, training=True),
            ),
            "b": losses.least_squares_discriminator_loss(
                self.discriminator_b(real_b, training=True),
                self.discriminator_b(fake_b, training=True),
            ),
        }

    # -- train step --------------------------------------------------------------

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Update both generators, then both discriminators on pooled translations."""
        real_a = batch["images_a"] * 2.0 - 1.0  # data in [0, 1] -> tanh range
        real_b = batch["images_b"] * 2.0 - 1.0
        if self.learning_rate_schedule is not None:
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            global_batch = tf.cast(tf.shape(real_a)[0] * replicas, tf.int64)
            self.learning_rate_schedule.batch_size.assign(global_batch)

        with tf.GradientTape() as tape:
            g = self.generator_losses(real_a, real_b)
        self.minimize(tape, g["total"], "generators")

        fake_a = self.pool_a(tf.stop_gradient(g["fake_a"]))
        fake_b = self.pool_b(tf.stop_gradient(g["fake_b"]))
        with tf.GradientTape() as tape:
            d = self.discriminator_losses(real_a, real_b, fake_a, fake_b)
            d_loss = d["a"] + d["b"]  # inside the tape: minimize differentiates this sum
        self.minimize(tape, d_loss, "discriminators")
        return {
            "g_loss": g["total"],
            "cycle_loss": g["cycle_a"] + g["cycle_b"],
            "identity_loss": g["identity_a"] + g["identity_b"],
            "d_a_loss": d["a"],
            "d_b_loss": d["b"],
        }

    # -- translation and sampling -----------------------------------------------------

    def translate(self, x: Any, direction: str = "AtoB", batch_size: int = 32) -> np.ndarray:
        """Translate images with G_AB (``"AtoB"``) or G_BA (``"BtoA"``).

        Args:
            x: float NHWC images in [0, 1] (one HWC image is taken as a batch of
                one), square: another size is resized (antialiased bilinear) to the
                model's; another aspect ratio is refused rather than squashed.
            direction: ``"AtoB"`` or ``"BtoA"``.
            batch_size: images per generator call.

        Returns:
            float32 NHWC images in [0, 1] at the model's size.
        """
        if direction not in DIRECTIONS:
            raise ConfigError(
                f"unknown direction {direction!r}: use 'AtoB' (domain A to B) or 'BtoA'"
            )
        images = resized_images(
            input_images(x, self.channels, "cyclegan"), self.size, self.size, "cyclegan"
        )
        translated = self.predict_in_batches(
            self._translators[direction], images, batch_size=batch_size
        )
        return np.clip(translated, 0.0, 1.0).astype(np.float32)

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Translate the first ``n`` images of ``condition`` from A to B (``rng`` unused)."""
        if condition is None:
            raise ConfigError(
                "cyclegan translates images: pass input images, e.g. "
                "model.sample(n, condition=images) with float NHWC images in [0, 1], or "
                "model.translate(images, direction='AtoB')"
            )
        images = np.asarray(condition)
        if images.ndim != 4 or len(images) < n:
            raise ConfigError(
                f"cyclegan needs at least n={n} input images (NHWC) as the condition, got "
                f"shape {images.shape}"
            )
        return self.translate(images[:n], "AtoB")

    def preview(self, n: int, *, seed: int) -> np.ndarray:
        """Rows of the training data: A, G_AB(A), B, G_BA(B) (``n`` and ``seed`` unused).

        Four images per row, so the Trainer's square grid shows one row each.
        """
        if self._preview_inputs is None:
            raise ConfigError("cyclegan previews need training data: call prepare_data first")
        a, b = self._preview_inputs
        return np.concatenate([a, self.translate(a, "AtoB"), b, self.translate(b, "BtoA")])
