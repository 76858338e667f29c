"""Gated PixelCNN (van den Oord et al. 2016) with exact likelihood and fast sampling.

p(x) = Πᵢ p(xᵢ | x₍<ᵢ₎) over the pixels in raster order. Two stacks of gated
convolutions keep every output causal without a blind spot:

- the **vertical stack** sees the rows above: a (r+1) × k convolution over
  rows i-r..i (a k × k kernel with the rows below the centre masked out,
  written as the cropped kernel and top padding). Its output reaches the
  horizontal stack only shifted down by one row, so it carries rows < i;
- the **horizontal stack** sees the current row to the left: a 1 × k masked
  convolution, type A (strictly left of the pixel) in the first layer and
  type B (the pixel itself too, which by then holds only earlier pixels) in
  the others, plus the shifted vertical features, and a residual connection.

Each layer gates its 2p channels as tanh(a) ⊙ sigmoid(b); an optional class
embedding adds to a and b (class-conditional PixelCNN). A 1×1-convolution head
gives Bernoulli logits (binary images) or 256-way logits (8-bit grey images).

Sampling is sequential. The naive way runs the whole network once per pixel.
The fast way (Ramachandran et al. 2017) caches every layer's activations:
a pixel costs one horizontal step per layer, and each finished row costs one
vertical step per layer, so generating an image is O(layers) work per pixel.
Both samplers run in float64 with the same pre-drawn noise, so for a seed they
give exactly the same images.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError, DataError, GenzooError
from genzoo_core.plugin import GenerativeModel, inference_function, to_numpy
from genzoo_pixelcnn.plugin import SPEC

OUTPUTS = {"bernoulli": 1, "categorical": 256}


# -- layers ------------------------------------------------------------------------------


class HorizontalMaskedConv(keras.layers.Layer):
    """A 1 × k convolution masked to the left of each pixel: type A excludes it, B keeps it."""

    def __init__(self, filters: int, kernel_size: int, mask_type: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mask_type not in ("A", "B"):
            raise ConfigError(f"mask type must be 'A' or 'B', got {mask_type!r}")
        self.filters, self.kernel_size, self.mask_type = filters, kernel_size, mask_type
        centre = kernel_size // 2
        keep = centre + (1 if mask_type == "B" else 0)
        mask = np.zeros((1, kernel_size, 1, 1), np.float32)
        mask[:, :keep] = 1.0
        self.mask = mask

    def build(self, input_shape: Any) -> None:
        """Create the kernel and bias."""
        self.kernel = self.add_weight(
            shape=(1, self.kernel_size, input_shape[-1], self.filters), name="kernel",
            initializer="glorot_uniform",
        )
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer="zeros")

    def call(self, x: Any) -> Any:
        """Convolve with the masked kernel ('same' padding)."""
        # The mask in the kernel's dtype: the compute dtype under a mixed-precision policy.
        kernel = self.kernel * keras.ops.cast(self.mask, self.kernel.dtype)
        return keras.ops.conv(x, kernel, strides=1, padding="same") + self.bias


class VerticalConv(keras.layers.Layer):
    """An (r+1) × k convolution over rows i-r..i: a k × k kernel without the rows below."""

    def __init__(self, filters: int, kernel_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, kernel_size

    def build(self, input_shape: Any) -> None:
        """Create the kernel and bias."""
        r = self.kernel_size // 2
        self.kernel = self.add_weight(
            shape=(r + 1, self.kernel_size, input_shape[-1], self.filters), name="kernel",
            initializer="glorot_uniform",
        )
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer="zeros")

    def call(self, x: Any) -> Any:
        """Pad r rows on top and r columns each side, then a 'valid' convolution."""
        r = self.kernel_size // 2
        padded = keras.ops.pad(x, [[0, 0], [r, 0], [r, r], [0, 0]])
        return keras.ops.conv(padded, self.kernel, strides=1, padding="valid") + self.bias


def down_shift(x: Any) -> Any:
    """Move every row one down (a zero row on top): row i then holds row i - 1."""
    return keras.ops.pad(x, [[0, 0], [1, 0], [0, 0], [0, 0]])[:, :-1]


def gate(x: Any) -> Any:
    """tanh(a) ⊙ sigmoid(b) over the two halves of the channels."""
    a, b = keras.ops.split(x, 2, axis=-1)
    return keras.ops.tanh(a) * keras.ops.sigmoid(b)


def build_pixelcnn(image_shape: list[int], output: str, filters: int, gated_layers: int,
                   kernel_size: int, output_filters: int, num_classes: int) -> keras.Model:
    """The network: scaled images (and labels) -> per-pixel logits (H, W, C, classes)."""
    height, width, channels = image_shape
    images = keras.Input((height, width, channels), name="images")
    inputs = [images]
    embeddings = []
    if num_classes:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs.append(labels)
    v = h = images
    for layer in range(gated_layers):
        v_pre = VerticalConv(2 * filters, kernel_size, name=f"vertical_{layer}")(v)
        h_pre = HorizontalMaskedConv(2 * filters, kernel_size, "A" if layer == 0 else "B",
                                     name=f"horizontal_{layer}")(h)
        h_pre = h_pre + keras.layers.Conv2D(2 * filters, 1, name=f"link_{layer}")(
            keras.layers.Lambda(down_shift, name=f"down_shift_{layer}")(v_pre)
        )
        if num_classes:
            embedding = keras.layers.Embedding(num_classes, 4 * filters,
                                               name=f"class_{layer}")
            embeddings.append(embedding)
            bias = keras.layers.Reshape((1, 1, 4 * filters))(embedding(labels))
            v_pre = v_pre + bias[..., : 2 * filters]
            h_pre = h_pre + bias[..., 2 * filters :]
        v = keras.layers.Lambda(gate, name=f"vertical_gate_{layer}")(v_pre)
        h_out = keras.layers.Conv2D(filters, 1, name=f"residual_{layer}")(
            keras.layers.Lambda(gate, name=f"horizontal_gate_{layer}")(h_pre)
        )
        h = h_out if layer == 0 else h + h_out  # no residual from the raw pixels
    x = keras.layers.Conv2D(output_filters, 1, activation="relu", name="head")(
        keras.layers.ReLU()(h)
    )
    classes = OUTPUTS[output]
    logits = keras.layers.Conv2D(channels * classes, 1, name="logits")(x)
    logits = keras.layers.Reshape((height, width, channels, classes), name="per_channel")(logits)
    return keras.Model(inputs, logits, name="pixelcnn")


# -- the float64 samplers -------------------------------------------------------------


class _Parameters:
    """The network's weights as float64 arrays, indexed by layer, for the samplers."""

    def __init__(self, network: keras.Model, gated_layers: int, num_classes: int) -> None:
        def get(name: str) -> list[np.ndarray]:
            return [w.astype(np.float64) for w in network.get_layer(name).get_weights()]

        self.vertical = [get(f"vertical_{i}") for i in range(gated_layers)]
        self.horizontal = []
        for i in range(gated_layers):
            layer = network.get_layer(f"horizontal_{i}")
            kernel, bias = get(f"horizontal_{i}")
            self.horizontal.append((kernel * layer.mask.astype(np.float64), bias))
        self.link = [get(f"link_{i}") for i in range(gated_layers)]
        self.residual = [get(f"residual_{i}") for i in range(gated_layers)]
        self.classes = ([get(f"class_{i}")[0] for i in range(gated_layers)]
                        if num_classes else None)
        self.head = get("head")
        self.logits = get("logits")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _gate(x: np.ndarray) -> np.ndarray:
    a, b = np.split(x, 2, axis=-1)
    return np.tanh(a) * _sigmoid(b)


def _dense(x: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """A 1×1 convolution: x @ kernel + bias over the last axis."""
    kernel, bias = weights
    return x @ kernel.reshape(kernel.shape[-2], kernel.shape[-1]) + bias


class _Sampler:
    """Shared pieces of the naive and the cached sampler (float64 NumPy)."""

    def __init__(self, model: PixelCNN) -> None:
        c = model.config
        self.height, self.width, self.channels = c["image_shape"]
        self.r = int(c["kernel_size"]) // 2
        self.layers = int(c["gated_layers"])
        self.output = c["output"]
        self.p = _Parameters(model.pixelcnn, self.layers, int(c["num_classes"]))

    def class_bias(self, layer: int, labels: np.ndarray | None) -> tuple[Any, Any]:
        """(vertical, horizontal) additions of the class embedding, shaped (n, 2p)."""
        if self.p.classes is None:
            return 0.0, 0.0
        table = self.p.classes[layer][labels]
        half = table.shape[-1] // 2
        return table[:, :half], table[:, half:]

    def pixel_values(self, logits: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Draw pixel values (scaled to the network's input) from logits with given uniforms.

        Bernoulli: 1 if u < sigmoid(logit). Categorical: the inverse CDF at u,
        scaled to [0, 1] as value / 255.
        """
        if self.output == "bernoulli":
            return (noise < _sigmoid(logits[..., 0])).astype(np.float64)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        probabilities = np.exp(shifted)
        cdf = np.cumsum(probabilities, axis=-1)
        values = (cdf < noise[..., None] * cdf[..., -1:]).sum(axis=-1)
        return np.minimum(values, 255).astype(np.float64) / 255.0

    def head(self, h: np.ndarray) -> np.ndarray:
        x = np.maximum(_dense(np.maximum(h, 0.0), self.p.head), 0.0)
        out = _dense(x, self.p.logits)
        return out.reshape(*out.shape[:-1], self.channels, -1)


class NaiveSampler(_Sampler):
    """Runs the whole network on the whole image once per pixel."""

    def forward(self, images: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """Logits for every pixel: the network's forward pass in float64."""
        r, height, width = self.r, self.height, self.width
        v = h = images
        for layer in range(self.layers):
            v_kernel, v_bias = self.p.vertical[layer]
            padded = np.pad(v, [(0, 0), (r, 0), (r, r), (0, 0)])
            v_pre = v_bias + sum(
                padded[:, dr : dr + height, dc : dc + width] @ v_kernel[dr, dc]
                for dr in range(r + 1) for dc in range(2 * r + 1)
            )
            h_kernel, h_bias = self.p.horizontal[layer]
            padded = np.pad(h, [(0, 0), (0, 0), (r, r), (0, 0)])
            h_pre = h_bias + sum(padded[:, :, dc : dc + width] @ h_kernel[0, dc]
                                 for dc in range(2 * r + 1))
            shifted = np.pad(v_pre, [(0, 0), (1, 0), (0, 0), (0, 0)])[:, :-1]
            h_pre = h_pre + _dense(shifted, self.p.link[layer])
            v_bias_c, h_bias_c = self.class_bias(layer, labels)
            if self.p.classes is not None:
                v_pre = v_pre + v_bias_c[:, None, None]
                h_pre = h_pre + h_bias_c[:, None, None]
            v = _gate(v_pre)
            h_out = _dense(_gate(h_pre), self.p.residual[layer])
            h = h_out if layer == 0 else h + h_out
        return self.head(h)

    def sample(self, noise: np.ndarray, labels: np.ndarray | None,
               pixels: int | None = None) -> np.ndarray:
        """Fill an image pixel by pixel in raster order (only the first ``pixels`` if given)."""
        n = len(noise)
        images = np.zeros((n, self.height, self.width, self.channels))
        for index in range(pixels or self.height * self.width):
            i, j = divmod(index, self.width)
            logits = self.forward(images, labels)[:, i, j]
            images[:, i, j] = self.pixel_values(logits, noise[:, i, j])
        return images


class CachedSampler(_Sampler):
    """Caches every layer's activations: O(layers) work per generated pixel."""

    def sample(self, noise: np.ndarray, labels: np.ndarray | None,
               given: np.ndarray | None = None, given_rows: int = 0) -> np.ndarray:
        """Fill an image pixel by pixel, reusing each layer's earlier activations.

        The first ``given_rows`` rows are copied from ``given`` instead of drawn
        (image completion); the network still runs over them to build its caches.
        """
        n, r, height, width = len(noise), self.r, self.height, self.width
        k, p = 2 * r + 1, self.p
        # the vertical stack's inputs, padded r rows on top and r columns each side:
        # vertical_in[0] holds the image, vertical_in[l] the gated output of layer l - 1
        widths = [self.channels] + [p.vertical[i][0].shape[-1] // 2 for i in range(self.layers)]
        vertical_in = [np.zeros((n, height + r, width + 2 * r, c)) for c in widths]
        v_pre_above = [np.zeros((n, width, p.vertical[i][0].shape[-1]))
                       for i in range(self.layers)]  # layer i's pre-gate row above
        class_bias = [self.class_bias(i, labels) for i in range(self.layers)]
        for i in range(height):
            # horizontal_in[l]: the current row's input of layer l, padded r on the left
            horizontal_in = [np.zeros((n, width + r, c)) for c in
                             [self.channels] + [p.residual[0][0].shape[-1]] * (self.layers - 1)]
            for j in range(width):
                h = None
                for layer in range(self.layers):
                    kernel, bias = p.horizontal[layer]
                    window = horizontal_in[layer][:, j : j + r + 1]  # columns j-r..j
                    h_pre = bias + sum(window[:, dc] @ kernel[0, dc] for dc in range(r + 1))
                    h_pre = h_pre + _dense(v_pre_above[layer][:, j], p.link[layer])
                    if p.classes is not None:
                        h_pre = h_pre + class_bias[layer][1]
                    h_out = _dense(_gate(h_pre), p.residual[layer])
                    h = h_out if layer == 0 else h + h_out
                    if layer + 1 < self.layers:
                        horizontal_in[layer + 1][:, j + r] = h
                if i < given_rows:
                    value = given[:, i, j]
                else:
                    value = self.pixel_values(self.head(h), noise[:, i, j])
                vertical_in[0][:, i + r, j + r] = value
                horizontal_in[0][:, j + r] = value
            # the row is complete: one vertical step per layer, for the whole row
            for layer in range(self.layers):
                kernel, bias = p.vertical[layer]
                source = vertical_in[layer]
                v_pre = bias + sum(
                    source[:, i + dr, dc : dc + width] @ kernel[dr, dc]
                    for dr in range(r + 1) for dc in range(k)
                )
                v_pre_above[layer] = v_pre  # the link sees it before the class bias
                if p.classes is not None:
                    v_pre = v_pre + class_bias[layer][0][:, None]
                vertical_in[layer + 1][:, i + r, r : r + width] = _gate(v_pre)
        return vertical_in[0][:, r:, r : r + width]


# -- the model ------------------------------------------------------------------------------


class PixelCNN(GenerativeModel):
    """Gated PixelCNN; ``log_prob`` is exact and ``sample`` uses the cached sampler.

    Config keys (defaults in :data:`genzoo_pixelcnn.plugin.SPEC`): ``image_shape``
    (one channel), ``output`` (``bernoulli`` for binary images, ``categorical``
    for 8-bit ones), ``filters`` (p), ``gated_layers``, ``kernel_size`` (odd k),
    ``output_filters``, ``num_classes`` (0: unconditional; otherwise ``sample``
    takes ``condition`` labels and training needs labelled data),
    ``learning_rate``, ``batch_size``.
    """

    spec = SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        if c["output"] not in OUTPUTS:
            raise ConfigError(f"output must be one of {sorted(OUTPUTS)}, got {c['output']!r}")
        if int(c["kernel_size"]) % 2 == 0 or int(c["kernel_size"]) < 3:
            raise ConfigError(f"kernel_size must be odd and at least 3, got {c['kernel_size']}")
        if c["image_shape"][-1] != 1:
            raise ConfigError(
                f"this PixelCNN models one channel: image_shape [H, W, 1], "
                f"got {list(c['image_shape'])}"
            )
        self.image_shape = tuple(c["image_shape"])
        self.num_classes = int(c["num_classes"])
        self.pixelcnn = build_pixelcnn(
            c["image_shape"], c["output"], int(c["filters"]), int(c["gated_layers"]),
            int(c["kernel_size"]), int(c["output_filters"]), self.num_classes,
        )
        self._log_prob = inference_function(self._log_prob_tensor, networks=[self.pixelcnn])

    def deepened(self, gated_layers: int) -> PixelCNN:
        """A copy with more gated layers on top that computes exactly the same distribution.

        Every existing layer keeps its weights; each new layer's residual
        projection starts at zero, so it adds nothing to the horizontal stack
        until training moves it (Net2DeeperNet, Chen et al. 2016). A trained
        model can so gain depth, and receptive field, without starting again.
        """
        current = int(self.settings["gated_layers"])
        if isinstance(gated_layers, bool) or not isinstance(gated_layers, int) \
                or gated_layers <= current:
            raise ConfigError(
                f"deepened() adds layers: gated_layers must be an integer above the "
                f"current {current}, got {gated_layers!r}"
            )
        deeper = type(self)({**self.config, "gated_layers": gated_layers})
        deeper.initialize_from(self)
        return deeper

    def initialize_from(
        self, source: GenerativeModel, components: Mapping[str, str] | None = None
    ) -> list[str]:
        """Start from another model's weights; extra gated layers start as the identity.

        Layers are copied by name as :meth:`GenerativeModel.initialize_from` does
        (a recipe stage's ``init``, weights only, optimizers afresh). When
        ``source`` is a PixelCNN with fewer gated layers and every one of its
        layers was copied, the residual projections of the layers it lacks
        start at zero, so this model starts from exactly ``source``'s
        distribution (what :meth:`deepened` returns).
        """
        left = super().initialize_from(source, components)
        if not isinstance(source, PixelCNN) or dict(components or {"pixelcnn": "pixelcnn"}) != {
            "pixelcnn": "pixelcnn"
        }:
            return left
        known = {layer.name for layer in source.pixelcnn.layers if layer.weights}
        if any(name.partition("/")[2] in known for name in left):
            return left  # another architecture: the earlier layers did not carry over
        current = int(source.settings["gated_layers"])
        zeroed = set()
        for index in range(current, int(self.settings["gated_layers"])):
            residual = self.pixelcnn.get_layer(f"residual_{index}")
            residual.set_weights([np.zeros_like(w) for w in residual.get_weights()])
            zeroed.add(f"pixelcnn/residual_{index}")
        return [name for name in left if name not in zeroed]

    def call(self, images: Any, labels: Any = None, training: bool = False) -> Any:
        """Per-pixel logits for images in [0, 1]."""
        inputs = [images] if not self.num_classes else [images, labels]
        return self.pixelcnn(inputs, training=training)

    # -- likelihood ----------------------------------------------------------------------

    def _targets(self, images: Any) -> Any:
        """Bits (Bernoulli) or integer levels 0..255 (categorical) of images in [0, 1]."""
        if self.settings["output"] == "bernoulli":
            return images
        return keras.ops.cast(keras.ops.round(images * 255.0), "int32")

    def _log_prob_tensor(self, images: Any, labels: Any = None) -> Any:
        """Log p(x) per image as a backend tensor (training and ``log_prob`` share it)."""
        logits = keras.ops.cast(self(images, labels), "float32")  # the likelihood in float32
        if self.settings["output"] == "bernoulli":
            per_pixel = -keras.ops.binary_crossentropy(images, logits[..., 0], from_logits=True)
        else:
            per_pixel = -keras.ops.sparse_categorical_crossentropy(
                self._targets(images), logits, from_logits=True
            )
        return keras.ops.sum(per_pixel, axis=[1, 2, 3])

    def _check_images(self, images: Any) -> np.ndarray:
        x = np.asarray(images, dtype=np.float32)
        if x.ndim != 4 or x.shape[1:] != self.image_shape:
            shape = ", ".join(map(str, self.image_shape))
            raise GenzooError(f"expected images of shape (n, {shape}), got {x.shape}")
        if self.settings["output"] == "bernoulli" and not np.isin(x, (0.0, 1.0)).all():
            raise GenzooError("a Bernoulli PixelCNN scores binary images: pixels must be 0 or 1 "
                              "(binarize them, e.g. the binarized-mnist dataset)")
        if x.min() < 0.0 or x.max() > 1.0:
            raise GenzooError("pixel values must lie in [0, 1]")
        return x

    def _labels(self, condition: Any, n: int) -> np.ndarray | None:
        if not self.num_classes:
            if condition is not None:
                raise GenzooError("this PixelCNN is unconditional (num_classes = 0): it takes "
                                  "no condition")
            return None
        labels = np.arange(n) % self.num_classes if condition is None else np.asarray(condition)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise GenzooError(f"condition must be {n} integer labels, got shape {labels.shape}")
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise GenzooError(f"labels must lie in [0, {self.num_classes})")
        return labels.astype(np.int64)

    def log_prob(self, images: Any, condition: Any = None, batch_size: int = 500) -> np.ndarray:
        """Return log p(x) in nats per image, exactly: the sum of the per-pixel conditionals."""
        x = self._check_images(images)
        labels = self._labels(condition, len(x)) if (self.num_classes or condition is not None) \
            else None
        out = []
        for start in range(0, len(x), batch_size):
            chunk = keras.ops.convert_to_tensor(x[start : start + batch_size])
            if labels is None:
                out.append(to_numpy(self._log_prob(chunk)))
            else:
                chunk_labels = labels[start : start + batch_size].astype(np.int32)
                out.append(to_numpy(self._log_prob(chunk,
                                                   keras.ops.convert_to_tensor(chunk_labels))))
        return np.concatenate(out).astype(np.float64)

    # -- training --------------------------------------------------------------------------

    def check_data(self, data: Any) -> None:
        """Labels are required when the model is class-conditional."""
        super().check_data(data)
        if self.num_classes and data.labels is None:
            raise DataError(f"this PixelCNN is class-conditional; {data.name} has no labels")

    # The optimizer is the core's default: one Adam over the network, from learning_rate.

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Minimise the exact negative log-likelihood, nats per image."""
        images = batch["images"]
        if self.settings["output"] == "bernoulli":
            images = tf.round(images)  # the Bernoulli model scores bits
        labels = batch.get("labels") if self.num_classes else None
        with tf.GradientTape() as tape:
            nll = -tf.reduce_mean(self._log_prob_tensor(images, labels))
        self.minimize(tape, nll, "pixelcnn")
        pixels = float(math.prod(self.image_shape))
        return {"nll": nll, "bits_per_dim": nll / (pixels * math.log(2.0))}

    # -- sampling ------------------------------------------------------------------------

    def _noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.random((n, *self.image_shape))

    def generate(self, n: int, *, condition: Any, rng: np.random.Generator) -> np.ndarray:
        """Sample with the cached sampler, one uniform number per pixel drawn from ``rng``."""
        labels = self._labels(condition, n)
        return CachedSampler(self).sample(self._noise(n, rng), labels).astype(np.float32)

    def complete(self, images: Any, rows: int, *, condition: Any = None,
                 seed: int | None = None) -> np.ndarray:
        """Keep the first ``rows`` rows of ``images`` and sample the rest given them."""
        x = self._check_images(images).astype(np.float64)
        if not 0 <= rows <= self.image_shape[0]:
            raise GenzooError(f"rows must lie in [0, {self.image_shape[0]}], got {rows}")
        labels = self._labels(condition, len(x))
        noise = self._noise(len(x), np.random.default_rng(seed))
        return CachedSampler(self).sample(noise, labels, x, rows).astype(np.float32)

    def sample_naive(self, n: int, *, condition: Any = None, seed: int | None = None,
                     pixels: int | None = None) -> tuple[np.ndarray, float]:
        """The reference sampler: a full forward pass per pixel; returns (images, seconds).

        With ``pixels``, only the first that many pixels in raster order are
        drawn (the rest stay 0), to time it without waiting for all of them.
        """
        labels = self._labels(condition, n)
        started = time.perf_counter()
        images = NaiveSampler(self).sample(self._noise(n, np.random.default_rng(seed)), labels,
                                           pixels)
        return images.astype(np.float32), time.perf_counter() - started
