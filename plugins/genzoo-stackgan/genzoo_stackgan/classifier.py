"""The captioned-shapes attribute classifier, and the ``shapes-cnn`` feature extractor.

A small CNN reads a 64x64 image and, for each of the 5 positions, predicts the
shape there (empty, circle, square, triangle), its colour (6-way) and its size
(2-way). Colour and size are only trained where a shape is present. It is
trained on renders from :mod:`genzoo_stackgan.shapes` (``scripts/train_classifier.py``)
and does two jobs: it scores whether generated images show what their caption
says (:func:`attribute_accuracy`), and its 128-d penultimate layer gives FID
features that know what matters in this dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import DataError, WeightsError, sha256_file
from genzoo_stackgan.captions import COLOURS, POSITIONS, SHAPES, SIZES
from genzoo_stackgan.plugin import CLASSIFIER_FILE, CLASSIFIER_SHA256

PACKAGE = Path(__file__).resolve().parent
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


def classifier_losses() -> list[keras.losses.Loss]:
    """Cross-entropies per head; colour and size labels are -1 (ignored) where empty."""
    return [
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
    ]


def load_classifier(path: str | Path | None = None, sha256: str | None = None) -> keras.Model:
    """The shipped classifier (or the one at ``path``), its sha256 verified when pinned."""
    path = Path(path) if path is not None else PACKAGE / CLASSIFIER_FILE
    expected = CLASSIFIER_SHA256 if sha256 is None else sha256
    if not path.is_file():
        raise WeightsError(
            f"{path} is missing: reinstall genzoo-stackgan, or train it with "
            f"plugins/genzoo-stackgan/scripts/train_classifier.py"
        )
    if expected and sha256_file(path) != expected:
        raise WeightsError(f"{path} does not match its pinned sha256: reinstall genzoo-stackgan")
    model = build_classifier()
    model.load_weights(str(path))
    return model


def predict_attributes(
    classifier: keras.Model, images: np.ndarray, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted ``(shape, colour, size)`` per position, each int (n, 5), as in ``Shapes``."""
    run = tf.function(lambda x: classifier(x, training=False), reduce_retracing=True)
    outputs: list[list[np.ndarray]] = [[], [], []]
    for start in range(0, len(images), batch_size):
        logits = run(np.asarray(images[start : start + batch_size], np.float32))
        for out, head in zip(outputs, logits):
            out.append(np.argmax(np.asarray(head), axis=-1))
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
        features = keras.Model(classifier.inputs, classifier.get_layer("features").output)
        self._run = tf.function(lambda x: features(x, training=False), reduce_retracing=True)

    def extract(self, images: Any) -> tuple[np.ndarray, None]:
        """Features (n, 128) of float32 NHWC images in [0, 1]; no probabilities."""
        array = np.asarray(images, np.float32)
        if array.ndim != 4 or tuple(array.shape[1:]) != IMAGE_SHAPE:
            raise DataError(
                f"the 'shapes-cnn' extractor takes images of shape {IMAGE_SHAPE}, got "
                f"{tuple(array.shape[1:]) if array.ndim == 4 else array.shape}"
            )
        chunks = [
            np.asarray(self._run(array[start : start + self.batch_size]), np.float64)
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
        if name.startswith("shapes:"):
            split = shapes.make_split(name.split(":", 1)[1])
            if np.array_equal(split.images[:count], reference.images):
                return split.shape[:count], split.colour[:count], split.size[:count]
        return predict_attributes(self.classifier, reference.images.astype(np.float32) / 255.0)


def shapes_cnn() -> ShapesFeatureExtractor:
    """The shipped classifier as the ``shapes-cnn`` feature extractor (sha256-verified)."""
    return ShapesFeatureExtractor(load_classifier(), sha256=CLASSIFIER_SHA256)
