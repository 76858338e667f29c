"""The summer2winter domain classifier: a registered model, the ``summer2winter-domain`` extractor.

A small CNN that tells summer photos (domain A, class 0) from winter ones
(domain B, class 1) at 64x64. It is the registered auxiliary model
``cyclegan-domain-classifier`` (it draws no images; it scores CycleGAN's): trained
by ``genzoo train --recipe cyclegan-domain-classifier/summer2winter`` on the
summer2winter train split and published with ``genzoo publish`` into this
package's ``weights/``, sha256-recorded in its manifest. The
``summer2winter-domain`` feature extractor is its ``classifier`` component, loaded
by name (so the normal loading path checks the file's sha256). It scores
translations: ``domain_accuracy`` is the share of translated test images it
assigns to the target domain, and its 16-d penultimate features are the FID
features of summer2winter (16 dimensions: FID needs more images than dimensions,
and the test split has 40 per domain).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import DataError
from genzoo_core.plugin import (
    GenerativeModel,
    UnpairedDataSource,
    inference_function,
    to_numpy,
)
from genzoo_cyclegan.plugin import (
    DOMAIN_CLASSIFIER,
    DOMAIN_CLASSIFIER_SPEC,
    DOMAIN_CLASSIFIER_WEIGHTS,
)

IMAGE_SHAPE = (64, 64, 3)
FEATURE_DIM = 16


def build_domain_classifier(
    image_shape: tuple[int, int, int] = IMAGE_SHAPE,
    filters: tuple[int, ...] = (16, 32, 64, 64),
    feature_dim: int = FEATURE_DIM,
    dropout: float = 0.3,
) -> keras.Model:
    """Images in [0, 1] -> 2 logits (summer, winter); its layer "features" is the penultimate.

    Stride-2 3x3 convolutions (ReLU), global average pooling, dropout, Dense
    ``feature_dim`` "features" (ReLU), Dense 2 "logits". Inputs are first mapped
    to [-1, 1].
    """
    images = keras.Input(tuple(image_shape), name="images")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(images)
    for i, width in enumerate(filters):
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu",
                                name=f"conv_{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(dropout, name="pool_dropout")(x)
    features = keras.layers.Dense(feature_dim, activation="relu", name="features")(x)
    logits = keras.layers.Dense(2, name="logits")(features)
    return keras.Model(images, logits, name="summer2winter_domain")


class DomainClassifierModel(GenerativeModel):
    """``cyclegan-domain-classifier``: summer (A, 0) against winter (B, 1), cross-entropy.

    It trains on unpaired domains (``genzoo train --data summer2winter``): each
    batch holds ``batch_size`` photos of each domain, resized to ``image_shape``
    (``prepare_data``); every A photo is class 0 and every B photo class 1. It
    augments them itself, in place of the data's own jitter and mirroring: each
    photo is mirrored at random (``mirror``) and shifted by up to ``shift``
    pixels each way (zero-padded, then cropped back). The random draws are
    stateless, a function of the step alone, so that a run with the same seed
    (initial weights, data order) makes the same weights again: the data's
    augmentation draws from random ops in a parallel ``tf.data`` map, whose
    order differs from run to run.
    """

    spec = DOMAIN_CLASSIFIER_SPEC

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        self.classifier = build_domain_classifier(
            tuple(c["image_shape"]), tuple(c["filters"]), c["feature_dim"], c["dropout"])

    @property
    def size(self) -> int:
        """The side of the square images it reads."""
        return int(self.settings["image_shape"][0])

    def prepare_data(self, data: Any) -> UnpairedDataSource:
        """Both domains at the model's size; anything but two unpaired domains is refused."""
        if not isinstance(data, UnpairedDataSource):
            raise DataError(
                f"cyclegan-domain-classifier trains on two unpaired image domains (A is "
                f"class 0, B class 1), got {type(data).__name__} {getattr(data, 'name', '')!r}:"
                f" --data summer2winter"
            )
        # The model augments (augmented); the data's random jitter and mirroring are off.
        data = dataclasses.replace(data.resized(self.size), jitter=False, mirror=False)
        self.check_data(data)
        return data

    def augmented(self, images: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """``images`` mirrored at random and shifted by up to ``shift`` pixels, drawn from ``step``.

        Stateless draws seeded by the training step: the same step augments the
        same way in every run.
        """
        n = tf.shape(images)[0]
        step = tf.cast(step, tf.int64)
        if self.settings["mirror"]:
            flip = tf.random.stateless_uniform([n], seed=tf.stack([step, 1])) < 0.5
            images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
        shift = int(self.settings["shift"])
        if shift:
            size = self.size
            padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]])
            offsets = tf.random.stateless_uniform([n, 2], seed=tf.stack([step, 2]), minval=0,
                                                  maxval=2 * shift + 1, dtype=tf.int32)
            images = tf.map_fn(
                lambda item: tf.slice(item[0], tf.stack([item[1][0], item[1][1], 0]),
                                      tf.stack([size, size, -1])),
                (padded, offsets), fn_output_signature=images.dtype)
            images = tf.ensure_shape(images, [None, size, size,
                                              int(self.settings["image_shape"][2])])
        return images

    def logits(self, images: Any, training: bool = False) -> tf.Tensor:
        """The classifier's 2 logits per image (summer, winter)."""
        return self.classifier(images, training=training)

    def train_step(self, batch: Any) -> dict[str, tf.Tensor]:
        """One Adam step on the cross-entropy of A photos as class 0 and B photos as class 1."""
        images = tf.concat([batch["images_a"], batch["images_b"]], axis=0)
        images = self.augmented(images, self.optimizers["classifier"].iterations)
        labels = tf.concat([tf.zeros(tf.shape(batch["images_a"])[:1], tf.int32),
                            tf.ones(tf.shape(batch["images_b"])[:1], tf.int32)], axis=0)
        with tf.GradientTape() as tape:
            logits = tf.cast(self.classifier(images, training=True), tf.float32)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits))
        self.minimize(tape, loss, "classifier")
        hits = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), labels),
                       tf.float32)
        return {"loss": loss, "accuracy": tf.reduce_mean(hits)}


class DomainClassifier:
    """A trained classifier as a feature extractor (``genzoo_core.FeatureExtractor``)."""

    name = "summer2winter-domain"
    feature_dim = FEATURE_DIM
    num_classes = 2
    image_shape = IMAGE_SHAPE

    def __init__(self, classifier: keras.Model, sha256: str = "", batch_size: int = 200) -> None:
        self.sha256 = sha256
        self.batch_size = batch_size
        self.classifier = classifier
        outputs = [classifier.get_layer("features").output,
                   keras.layers.Softmax(name="probabilities")(classifier.output)]
        model = keras.Model(classifier.input, outputs)  # one input, not a list of one
        self._run = inference_function(lambda x: model(x, training=False), networks=[model])

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
            features.append(to_numpy(f).astype(np.float64))
            probabilities.append(to_numpy(p).astype(np.float64))
        return np.concatenate(features), np.concatenate(probabilities)


def load_domain_classifier(weights: str = DOMAIN_CLASSIFIER) -> DomainClassifierModel:
    """The published classifier model, loaded by name (its file's sha256 checked)."""
    import genzoo_core

    return genzoo_core.load(weights)


def summer2winter_domain() -> DomainClassifier:
    """The published model's ``classifier`` component as the ``summer2winter-domain`` extractor."""
    model = load_domain_classifier()
    sha256 = DOMAIN_CLASSIFIER_WEIGHTS[0].sha256 if DOMAIN_CLASSIFIER_WEIGHTS else ""
    return DomainClassifier(model.classifier, sha256=sha256)


def held_out_accuracy(
    classifier: keras.Model | None = None, split: str = "test"
) -> dict[str, float]:
    """Accuracy of ``classifier`` (default: the published one) on all photos of ``split``.

    The numbers of the model card: ``test_accuracy`` over the 80 test photos, and
    per domain (``test_accuracy_summer`` on the 40 of A, ``test_accuracy_winter``
    on the 40 of B).
    """
    import genzoo_core

    if classifier is None:
        classifier = load_domain_classifier().classifier
    data = genzoo_core.load_data("summer2winter", split).resized(IMAGE_SHAPE[0])
    images = np.concatenate([data.images_a, data.images_b]).astype(np.float32) / 255.0
    labels = np.concatenate([np.zeros(len(data.images_a)), np.ones(len(data.images_b))])
    predicted = np.asarray(classifier.predict(images, verbose=0)).argmax(axis=1)
    return {
        f"{split}_accuracy": round(float(np.mean(predicted == labels)), 4),
        f"{split}_accuracy_summer": round(float(np.mean(predicted[labels == 0] == 0)), 4),
        f"{split}_accuracy_winter": round(float(np.mean(predicted[labels == 1] == 1)), 4),
    }
