"""The summer2winter domain classifier: the ``summer2winter-domain`` feature extractor.

A small CNN that tells summer photos (domain A, class 0) from winter ones
(domain B, class 1) at 64x64. It is trained on the summer2winter train split by
``scripts/train_domain_classifier.py`` and shipped in this package, sha256-pinned.
It scores translations: ``domain_accuracy`` is the share of translated test
images it assigns to the target domain, and its 16-d penultimate features are the
FID features of summer2winter (16 dimensions: FID needs more images than
dimensions, and the test split has 40 per domain).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import DataError, WeightsError, sha256_file
from genzoo_cyclegan.plugin import DOMAIN_CLASSIFIER_FILE, DOMAIN_CLASSIFIER_SHA256

PACKAGE = Path(__file__).resolve().parent
IMAGE_SHAPE = (64, 64, 3)
FEATURE_DIM = 16


def build_domain_classifier() -> keras.Model:
    """Images in [0, 1] (64x64 RGB) -> 2 logits (summer, winter); layer "features" is 16-d."""
    images = keras.Input(IMAGE_SHAPE, name="images")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(images)
    for i, filters in enumerate((16, 32, 64, 64)):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu",
                                name=f"conv_{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(0.3, name="pool_dropout")(x)
    features = keras.layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    logits = keras.layers.Dense(2, name="logits")(features)
    return keras.Model(images, logits, name="summer2winter_domain")


class DomainClassifier:
    """The shipped classifier as a feature extractor (``genzoo_core.FeatureExtractor``)."""

    name = "summer2winter-domain"
    feature_dim = FEATURE_DIM
    num_classes = 2
    image_shape = IMAGE_SHAPE

    def __init__(self, classifier: keras.Model, sha256: str = "", batch_size: int = 200) -> None:
        self.sha256 = sha256
        self.batch_size = batch_size
        outputs = [classifier.get_layer("features").output,
                   keras.layers.Softmax(name="probabilities")(classifier.output)]
        model = keras.Model(classifier.inputs, outputs)
        self._run = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def extract(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        """Features (n, 16) and probabilities (n, 2) of float32 NHWC images in [0, 1]."""
        array = np.asarray(images, np.float32)
        if array.ndim != 4 or tuple(array.shape[1:]) != IMAGE_SHAPE:
            raise DataError(
                f"the '{self.name}' extractor takes images of shape {IMAGE_SHAPE}, got "
                f"{tuple(array.shape[1:]) if array.ndim == 4 else array.shape}"
            )
        features, probabilities = [], []
        for start in range(0, len(array), self.batch_size):
            f, p = self._run(array[start : start + self.batch_size])
            features.append(np.asarray(f, np.float64))
            probabilities.append(np.asarray(p, np.float64))
        return np.concatenate(features), np.concatenate(probabilities)


def load_domain_classifier(path: str | Path | None = None,
                           sha256: str | None = None) -> keras.Model:
    """The shipped classifier (or the one at ``path``), its sha256 verified when pinned."""
    path = Path(path) if path is not None else PACKAGE / DOMAIN_CLASSIFIER_FILE
    expected = DOMAIN_CLASSIFIER_SHA256 if sha256 is None else sha256
    if not path.is_file():
        raise WeightsError(f"{path} is missing: reinstall genzoo-cyclegan, or train it with "
                           f"plugins/genzoo-cyclegan/scripts/train_domain_classifier.py")
    if expected and sha256_file(path) != expected:
        raise WeightsError(f"{path} does not match its pinned sha256: reinstall genzoo-cyclegan")
    model = build_domain_classifier()
    model.load_weights(str(path))
    return model


def summer2winter_domain() -> DomainClassifier:
    """The shipped classifier as the ``summer2winter-domain`` extractor (sha256-verified)."""
    return DomainClassifier(load_domain_classifier(), sha256=DOMAIN_CLASSIFIER_SHA256)
