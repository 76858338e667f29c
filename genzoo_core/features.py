"""Feature extractors for evaluation: InceptionV3 and the shipped MNIST-family CNNs.

An extractor maps images (float32 NHWC in [0, 1]) to feature vectors (for FID,
KID and precision/recall) and, when it has a classifier head, to class
probabilities (for the Inception Score and label accuracy). Extractors are
registered by name through the ``genzoo_register_feature_extractors`` hook;
:func:`get_feature_extractor` builds one by name.

- ``inception-v3``: ``keras.applications.InceptionV3`` with ImageNet weights,
  images resized to 299x299 (bilinear), features from the 2048-d average pool,
  probabilities from its 1000-way softmax. Grey images are repeated to 3 channels.
- ``mnist-cnn``, ``fashion-mnist-cnn``: small CNNs trained by
  ``scripts/train_domain_classifiers.py`` on the real train splits and shipped
  inside genzoo-core; features from their penultimate layer.
- ``image-stats``: 12 low-level statistics per image (channel means and spreads,
  and of the gradient magnitude), no weights; for image-to-image sets of a few
  dozen images, too few for FID in thousands of dimensions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_core.errors import DataError, GenzooError, WeightsError

EXTRACTOR_DIR = Path(__file__).resolve().parent / "extractors"
MANIFEST = EXTRACTOR_DIR / "manifest.json"
INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"


def shipped_extractors() -> dict[str, dict[str, Any]]:
    """The manifest of the classifiers shipped with genzoo-core (name -> facts)."""
    if not MANIFEST.is_file():
        return {}
    return json.loads(MANIFEST.read_text())


def check_images(images: Any, *, name: str = "images") -> np.ndarray:
    """Return ``images`` as float32 NHWC, refusing NaNs and values outside [0, 1]."""
    array = np.asarray(images, dtype=np.float32)
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise DataError(f"{name} must be NHWC with 1 or 3 channels, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} contain NaN or infinite values")
    if array.size and (array.min() < -1e-6 or array.max() > 1 + 1e-6):
        raise DataError(
            f"{name} must have values in [0, 1], got [{array.min():.3g}, {array.max():.3g}]"
        )
    return array


@dataclass
class KerasFeatureExtractor:
    """An extractor backed by a Keras model with outputs (features, probabilities).

    Attributes:
        name: the registered name.
        model: a ``keras.Model`` mapping prepared images to ``[features, probabilities]``
            (probabilities may be absent: then ``num_classes`` is 0).
        image_shape: the (height, width, channels) it accepts, or ``None`` for any.
        feature_dim: length of each feature vector.
        num_classes: number of classes of the probabilities, or 0.
        sha256: hash of its weights file ("" when none is pinned).
        batch_size: images per forward pass.
    """

    name: str
    model: Any
    image_shape: tuple[int, int, int] | None
    feature_dim: int
    num_classes: int
    sha256: str = ""
    batch_size: int = 500

    def __post_init__(self) -> None:
        import tensorflow as tf

        self._run = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)

    def _check_shape(self, images: np.ndarray) -> None:
        if self.image_shape is not None and tuple(images.shape[1:]) != self.image_shape:
            raise DataError(
                f"the '{self.name}' extractor takes images of shape {self.image_shape}, got "
                f"{tuple(images.shape[1:])}: choose an extractor for this image size "
                f"(inception-v3 takes any size)"
            )

    def extract(self, images: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Features (n, feature_dim) and probabilities (n, num_classes) or ``None``."""
        array = check_images(images)
        self._check_shape(array)
        features, probabilities = [], []
        for start in range(0, len(array), self.batch_size):
            outputs = self._run(array[start : start + self.batch_size])
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            features.append(np.asarray(outputs[0], dtype=np.float64))
            if len(outputs) > 1:
                probabilities.append(np.asarray(outputs[1], dtype=np.float64))
        return (
            np.concatenate(features),
            np.concatenate(probabilities) if probabilities else None,
        )


def inception_v3(*, weights: str | None = "imagenet") -> KerasFeatureExtractor:
    """InceptionV3 pool features and ImageNet probabilities, any image size.

    ``weights="imagenet"`` uses the Keras cache (``$KERAS_HOME/models``) or downloads
    the file; with ``GENZOO_OFFLINE=1`` and no cached file it fails with a message
    naming the file. ``weights=None`` builds it untrained (for tests).
    """
    import keras

    from genzoo_core.hub import offline

    if weights == "imagenet":
        from keras.src.backend.config import keras_home

        cached = Path(keras_home()) / "models" / INCEPTION_WEIGHTS
        if offline() and not cached.is_file():
            raise WeightsError(
                f"the inception-v3 extractor needs the ImageNet weights file {INCEPTION_WEIGHTS}, "
                f"which is not in the Keras cache, and GENZOO_OFFLINE is set. Put the file at "
                f"{cached} (it is what keras.applications.InceptionV3 downloads), or use "
                f"--features mnist-cnn / fashion-mnist-cnn for the MNIST family."
            )
    try:
        base = keras.applications.InceptionV3(include_top=True, weights=weights)
    except Exception as exc:  # download failures surface as many types
        raise WeightsError(
            f"could not load the InceptionV3 ImageNet weights ({exc}). Put "
            f"{INCEPTION_WEIGHTS} in $KERAS_HOME/models (default ~/.keras/models), or use "
            f"--features mnist-cnn / fashion-mnist-cnn."
        ) from exc
    images = keras.Input((None, None, None), name="images")
    x = keras.layers.Lambda(_inception_preprocess, name="to_inception_input")(images)
    pool = base.get_layer("avg_pool")
    features_model = keras.Model(base.inputs, [pool.output, base.output])
    features, probabilities = features_model(x)
    model = keras.Model(images, [features, probabilities], name="inception_v3_features")
    return KerasFeatureExtractor("inception-v3", model, None, 2048, 1000, batch_size=100)


def _inception_preprocess(images: Any) -> Any:
    """[0, 1] images of any size and 1 or 3 channels -> 299x299x3 in [-1, 1]."""
    import tensorflow as tf

    images = tf.cond(
        tf.shape(images)[-1] == 1, lambda: tf.repeat(images, 3, axis=-1), lambda: images
    )
    images = tf.image.resize(images, (299, 299), method="bilinear")
    images.set_shape([None, 299, 299, 3])
    return images * 2.0 - 1.0


def domain_classifier(name: str) -> KerasFeatureExtractor:
    """A shipped MNIST-family classifier, sha256-verified, as a feature extractor."""
    import keras

    from genzoo_core._files import sha256_file
    from genzoo_core.classifiers import build_domain_classifier

    facts = shipped_extractors().get(name)
    if facts is None:
        raise GenzooError(f"genzoo-core ships no classifier '{name}'")
    path = EXTRACTOR_DIR / facts["file"]
    if not path.is_file():
        raise WeightsError(
            f"{path} is missing from this genzoo-core installation: reinstall genzoo-core, or "
            f"recreate it with scripts/train_domain_classifiers.py"
        )
    if sha256_file(path) != facts["sha256"]:
        raise WeightsError(f"{path} does not match its pinned sha256: reinstall genzoo-core")
    classifier = build_domain_classifier(tuple(facts["image_shape"]), facts["num_classes"])
    classifier.load_weights(str(path))
    features = classifier.get_layer("features").output
    probabilities = keras.layers.Softmax(name="probabilities")(classifier.output)
    model = keras.Model(classifier.inputs, [features, probabilities], name=f"{name}_features")
    return KerasFeatureExtractor(
        name,
        model,
        tuple(facts["image_shape"]),
        int(features.shape[-1]),
        facts["num_classes"],
        sha256=facts["sha256"],
    )


def mnist_cnn() -> KerasFeatureExtractor:
    """The shipped MNIST classifier (registered as ``mnist-cnn``)."""
    return domain_classifier("mnist-cnn")


def fashion_mnist_cnn() -> KerasFeatureExtractor:
    """The shipped Fashion-MNIST classifier (registered as ``fashion-mnist-cnn``)."""
    return domain_classifier("fashion-mnist-cnn")


class ImageStatistics:
    """12 low-level statistics per image, with no weights: the ``image-stats`` extractor.

    For each of 3 channels (grey images repeated): the mean and standard deviation
    of its values, and of its gradient magnitude (the mean absolute difference of
    horizontal and of vertical neighbours). Translations differ from their targets
    in exactly these (palette, contrast, blur); 12 dimensions let FID compare sets
    of a few dozen images, where the 2048 of InceptionV3 would need over 2048.
    """

    name = "image-stats"
    feature_dim = 12
    num_classes = 0
    sha256 = "image-stats-v1"
    image_shape = None

    def extract(self, images: Any) -> tuple[np.ndarray, None]:
        """Features (n, 12) of float32 NHWC images in [0, 1]; no probabilities."""
        array = check_images(images).astype(np.float64)
        if array.shape[-1] == 1:
            array = np.repeat(array, 3, axis=-1)
        dx = np.abs(np.diff(array, axis=2))
        dy = np.abs(np.diff(array, axis=1))
        gradient = (dx[:, :-1] + dy[:, :, :-1]) / 2
        return np.concatenate([
            array.mean(axis=(1, 2)), array.std(axis=(1, 2)),
            gradient.mean(axis=(1, 2)), gradient.std(axis=(1, 2)),
        ], axis=1), None


def image_stats() -> ImageStatistics:
    """The weightless low-level statistics extractor (registered as ``image-stats``)."""
    return ImageStatistics()


def get_feature_extractor(name: str, *, registry: Any = None) -> KerasFeatureExtractor:
    """Build the feature extractor registered as ``name``."""
    if registry is None:
        from genzoo_core.registry import default_registry

        registry = default_registry()
    return registry.get_feature_extractor(name).build()


__all__ = [
    "ImageStatistics",
    "KerasFeatureExtractor",
    "check_images",
    "domain_classifier",
    "fashion_mnist_cnn",
    "get_feature_extractor",
    "image_stats",
    "inception_v3",
    "mnist_cnn",
    "shipped_extractors",
]
