"""The captioned-shapes attribute classifier: a registered model and the ``shapes-cnn`` extractor.

A small CNN reads a 64x64 image and, for each of the 5 positions, predicts the
shape there (empty, circle, square, triangle), its colour (6-way) and its size
(2-way). Colour and size are only trained where a shape is present. It is the
registered auxiliary model ``stackgan-attribute-classifier`` (it draws no
images; it scores StackGAN's): trained by ``genzoo train --recipe
stackgan-attribute-classifier/shapes`` on the ``shapes`` dataset, whose renders
carry their ground-truth attributes, and published with ``genzoo publish`` into
this package's ``weights/``, sha256-recorded in its manifest. The ``shapes-cnn``
extractor is its ``classifier`` component, loaded by name (so the normal loading
path checks the file's sha256). It does two jobs: it scores whether generated
images show what their caption says (:func:`attribute_accuracy`), and its 128-d
penultimate layer gives FID features that know what matters in this dataset.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError, DataError
from genzoo_core.plugin import (
    CaptionedDataSource,
    Condition,
    GenerativeModel,
    inference_function,
    to_numpy,
)
from genzoo_stackgan.captions import COLOURS, POSITIONS, SHAPES, SIZES
from genzoo_stackgan.plugin import (
    ATTRIBUTE_CLASSIFIER,
    ATTRIBUTE_CLASSIFIER_SPEC,
    CLASSIFIER_SHA256,
)

IMAGE_SHAPE = (64, 64, 3)
FEATURE_DIM = 128
ATTRIBUTES = ("shape", "colour", "size", "position")


def build_classifier() -> keras.Model:
    """Images in [0, 1] -> per-position logits ``[shape (n,5,4), colour (n,5,6), size (n,5,2)]``."""
    positions = len(POSITIONS)
    images = keras.Input(IMAGE_SHAPE, name="images")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_0")(images)
    for i, filters in enumerate((32, 64, 64), start=1):
        x = keras.layers.Conv2D(
            filters, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}"
        )(x)
    # Flatten, not pooling: where a shape is matters as much as what it is.
    x = keras.layers.Flatten(name="flatten")(x)
    features = keras.layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    heads = []
    for name, classes in (("shape", len(SHAPES) + 1), ("colour", len(COLOURS)),
                          ("size", len(SIZES))):
        logits = keras.layers.Dense(positions * classes, name=f"{name}_dense")(features)
        heads.append(keras.layers.Reshape((positions, classes), name=name)(logits))
    return keras.Model(images, heads, name="shapes_classifier")


def masked_cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Mean cross-entropy over the entries whose label is not -1 (0 when there are none)."""
    labels = tf.cast(labels, tf.int32)
    valid = labels >= 0
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.where(valid, labels, 0), logits=tf.cast(logits, tf.float32))
    weights = tf.cast(valid, losses.dtype)
    return tf.reduce_sum(losses * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)


class LabelledShapes:
    """Captioned-shapes renders with their attributes, as the classifier trains on them.

    A data source (``genzoo_core.plugin.DataSourceProtocol``) whose ``dataset()``
    yields ``{"images", "shape", "colour", "size"}``: images float32 in [0, 1],
    attributes int32 (5,) per image as in :class:`genzoo_stackgan.shapes.Shapes`.
    """

    condition = Condition.TEXT

    def __init__(self, name: str, images: np.ndarray, shape: np.ndarray, colour: np.ndarray,
                 size: np.ndarray) -> None:
        self.name = name
        self.images = np.asarray(images)
        self.attributes = {"shape": np.asarray(shape, np.int32),
                           "colour": np.asarray(colour, np.int32),
                           "size": np.asarray(size, np.int32)}

    @classmethod
    def of(cls, name: str, data: Any, count: int | None = None) -> LabelledShapes:
        """The first ``count`` (default all) renders of a ``shapes.Shapes``."""
        end = len(data.images) if count is None else count
        return cls(name, data.images[:end], data.shape[:end], data.colour[:end],
                   data.size[:end])

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of the renders."""
        return tuple(int(d) for d in self.images.shape[1:])  # type: ignore[return-value]

    def dataset(self, *, shuffle: bool = False, seed: int | None = None,
                batch_size: int | None = None) -> Any:
        """A ``tf.data.Dataset`` of ``{"images", "shape", "colour", "size"}``."""
        data = tf.data.Dataset.from_tensor_slices({"images": self.images, **self.attributes})
        if shuffle:
            data = data.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        data = data.map(lambda x: {**x, "images": tf.cast(x["images"], tf.float32) / 255.0})
        return data.batch(batch_size, drop_remainder=True) if batch_size else data


def labelled(data: Any) -> LabelledShapes:
    """``data``, a ``shapes`` split or a slice of one, with its ground-truth attributes.

    The renders are deterministic, so the split is drawn again and must match
    the images; other captioned data is refused (its captions state the
    attributes, but this classifier trains on the renders' own).
    """
    from genzoo_stackgan import shapes

    if isinstance(data, LabelledShapes):
        return data
    name = str(getattr(data, "name", ""))
    split = name.split(":", 1)[1].split("[", 1)[0] if name.startswith("shapes:") else ""
    if isinstance(data, CaptionedDataSource) and split in shapes.SPLITS:
        drawn = shapes.make_split(split)
        count = len(data.images)
        if count <= len(drawn) and np.array_equal(drawn.images[:count], data.images):
            return LabelledShapes.of(name, drawn, count)
    raise DataError(
        f"stackgan-attribute-classifier trains on the renders of captioned shapes with their "
        f"ground-truth attributes: --data shapes (got {type(data).__name__} {name!r})"
    )


class AttributeClassifierModel(GenerativeModel):
    """``stackgan-attribute-classifier``: per position shape, colour and size, cross-entropy.

    ``prepare_data`` takes a ``shapes`` split with its ground-truth attributes
    and appends ``extra_renders`` further renders drawn with ``extra_seed`` (the
    same generator, other scenes); each step adds Gaussian pixel noise of
    standard deviation ``noise`` (clipped to [0, 1]) so that it also reads
    imperfect, generated images. The loss is the sum of three cross-entropies:
    shape-or-empty over every position, colour and size over the occupied ones.
    """

    spec = ATTRIBUTE_CLASSIFIER_SPEC

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        if tuple(self.settings["image_shape"]) != IMAGE_SHAPE:
            raise ConfigError(f"stackgan-attribute-classifier reads {list(IMAGE_SHAPE)} "
                              f"images, got image_shape {list(self.settings['image_shape'])}")
        self.classifier = build_classifier()

    def prepare_data(self, data: Any) -> LabelledShapes:
        """The renders with their attributes, plus ``extra_renders`` more for ``shapes`` data."""
        from genzoo_stackgan import shapes

        extra = 0 if isinstance(data, LabelledShapes) else int(self.settings["extra_renders"])
        data = labelled(data)
        if extra:
            seed = int(self.settings["extra_seed"])
            more = shapes.generate(extra, seed=seed)
            data = LabelledShapes(
                f"{data.name} + {extra} renders (seed {seed})",
                np.concatenate([data.images, more.images]),
                *(np.concatenate([data.attributes[a], getattr(more, a)])
                  for a in ("shape", "colour", "size")))
        self.check_data(data)
        return data

    def example_data(self, n: int) -> LabelledShapes:
        """``n`` renders (seed 0) with their attributes."""
        from genzoo_stackgan import shapes

        return LabelledShapes.of(f"shapes-example[:{n}]", shapes.generate(n, seed=0))

    def train_step(self, batch: Any) -> dict[str, tf.Tensor]:
        """One Adam step on the three cross-entropies, of images with pixel noise."""
        images = batch["images"]
        noise = float(self.settings["noise"])
        if noise:
            images = tf.clip_by_value(
                images + tf.random.normal(tf.shape(images), stddev=noise), 0.0, 1.0)
        with tf.GradientTape() as tape:
            shape, colour, size = self.classifier(images, training=True)
            losses = {
                "shape_loss": masked_cross_entropy(batch["shape"], shape),
                "colour_loss": masked_cross_entropy(batch["colour"], colour),
                "size_loss": masked_cross_entropy(batch["size"], size),
            }
            loss = tf.add_n(list(losses.values()))
        self.minimize(tape, loss, "classifier")
        return {"loss": loss, **losses}


def load_classifier(weights: str = ATTRIBUTE_CLASSIFIER) -> keras.Model:
    """The ``classifier`` of the published weights (or of the model file or name ``weights``).

    Loaded through ``genzoo_core.load``, which checks a published file's sha256.
    """
    import genzoo_core

    return genzoo_core.load(str(weights)).classifier


def predict_attributes(
    classifier: keras.Model, images: np.ndarray, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted ``(shape, colour, size)`` per position, each int (n, 5), as in ``Shapes``."""
    run = inference_function(lambda x: classifier(x, training=False), networks=[classifier])
    outputs: list[list[np.ndarray]] = [[], [], []]
    for start in range(0, len(images), batch_size):
        logits = run(np.asarray(images[start : start + batch_size], np.float32))
        for out, head in zip(outputs, logits):
            out.append(np.argmax(to_numpy(head), axis=-1))
    return tuple(np.concatenate(out) for out in outputs)  # type: ignore[return-value]


def attribute_accuracy(
    predicted: tuple[np.ndarray, np.ndarray, np.ndarray],
    stated: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> dict[str, float]:
    """How often images show what their captions state.

    ``shape``, ``colour`` and ``size``: over every stated object, whether the
    prediction at its position matches. ``position``: over images, whether the
    occupied positions are exactly the stated ones (no shape missing, none extra).
    """
    shape, colour, size = (np.asarray(a) for a in predicted)
    true_shape, true_colour, true_size = (np.asarray(a) for a in stated)
    objects = true_shape > 0
    return {
        "shape": float(np.mean(shape[objects] == true_shape[objects])),
        "colour": float(np.mean(colour[objects] == true_colour[objects])),
        "size": float(np.mean(size[objects] == true_size[objects])),
        "position": float(np.mean(np.all((shape > 0) == objects, axis=1))),
    }


class ShapesFeatureExtractor:
    """The classifier's 128-d penultimate features, for FID on captioned shapes.

    Satisfies :class:`genzoo_core.FeatureExtractor`; it has no class
    probabilities (its heads are per position), so ``num_classes`` is 0.
    """

    name = "shapes-cnn"
    feature_dim = FEATURE_DIM
    num_classes = 0
    image_shape = IMAGE_SHAPE

    def __init__(self, classifier: keras.Model, sha256: str = "", batch_size: int = 500) -> None:
        self.sha256 = sha256
        self.batch_size = batch_size
        self.classifier = classifier
        features = keras.Model(classifier.input, classifier.get_layer("features").output)
        self._run = inference_function(lambda x: features(x, training=False), networks=[features])

    def extract(self, images: Any) -> tuple[np.ndarray, None]:
        """Features (n, 128) of float32 NHWC images in [0, 1]; no probabilities."""
        array = np.asarray(images, np.float32)
        if array.ndim != 4 or tuple(array.shape[1:]) != IMAGE_SHAPE:
            raise DataError(
                f"the 'shapes-cnn' extractor takes images of shape {IMAGE_SHAPE}, got "
                f"{tuple(array.shape[1:]) if array.ndim == 4 else array.shape}"
            )
        chunks = [
            to_numpy(self._run(array[start : start + self.batch_size])).astype(np.float64)
            for start in range(0, len(array), self.batch_size)
        ]
        return np.concatenate(chunks), None

    def attribute_accuracy(self, images: Any, reference: Any) -> dict[str, float]:
        """How often ``images`` show what their captions state (genzoo's ``attribute_accuracy``).

        Image ``i`` was drawn for a caption of ``reference`` item ``i`` (a
        ``CaptionedDataSource``). The stated attributes are the renders' own when
        ``reference`` is a slice of a ``shapes`` split, else what this classifier
        reads in the reference images. Returns :func:`attribute_accuracy`'s
        ``shape``, ``colour``, ``size`` and ``position``.
        """
        predicted = predict_attributes(self.classifier, np.asarray(images, np.float32))
        return attribute_accuracy(predicted, self._stated(reference))

    def _stated(self, reference: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from genzoo_stackgan import shapes

        name = str(getattr(reference, "name", ""))
        count = len(reference.images)
        # "shapes:test", or "shapes:test[:500]" for the first 500 (CaptionedDataSource.take)
        split = name.split(":", 1)[1].split("[", 1)[0] if name.startswith("shapes:") else ""
        if split in shapes.SPLITS:
            drawn = shapes.make_split(split)
            if count <= len(drawn) and np.array_equal(drawn.images[:count], reference.images):
                return drawn.shape[:count], drawn.colour[:count], drawn.size[:count]
        return predict_attributes(self.classifier, reference.images.astype(np.float32) / 255.0)


def shapes_cnn() -> ShapesFeatureExtractor:
    """The published classifier as the ``shapes-cnn`` feature extractor (sha256-verified)."""
    return ShapesFeatureExtractor(load_classifier(), sha256=CLASSIFIER_SHA256)


def held_out_accuracy(
    classifier: keras.Model | None = None, split: str = "test"
) -> dict[str, float]:
    """:func:`attribute_accuracy` of ``classifier`` (default: the published one) on a split.

    The model card's numbers: the 2,000 test renders (seed 1), never trained on;
    plus ``empty_or_shape``, shape-or-empty over every position.
    """
    from genzoo_stackgan import shapes

    classifier = load_classifier() if classifier is None else classifier
    data = shapes.make_split(split)
    predicted = predict_attributes(classifier, data.images.astype(np.float32) / 255.0)
    scores = attribute_accuracy(predicted, (data.shape, data.colour, data.size))
    scores["empty_or_shape"] = float(np.mean(predicted[0] == data.shape))
    return {key: round(value, 5) for key, value in scores.items()}
