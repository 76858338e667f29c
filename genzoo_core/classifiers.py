"""The architecture of the small domain classifiers shipped with genzoo-core.

:func:`build_domain_classifier` builds the CNN behind the ``mnist-cnn`` and
``fashion-mnist-cnn`` feature extractors. Its weights are trained by
``scripts/train_domain_classifiers.py`` and stored in ``genzoo_core/extractors``;
:func:`genzoo_core.features.domain_classifier` rebuilds the network with this
function and loads them by layer name, so every layer here has a fixed name and
changing the architecture means retraining (and re-pinning) both weight files.

The network takes float32 NHWC images in [0, 1] and returns logits. Its
penultimate Dense layer is named ``"features"``: its activations (after ReLU) are
the feature vectors used for FID, KID and precision/recall.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

FEATURE_DIM = 128


def _conv_block(x: Any, filters: int, name: str) -> Any:
    """3x3 valid convolution (no bias), batch norm, ReLU."""
    import keras

    x = keras.layers.Conv2D(filters, 3, padding="valid", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def build_domain_classifier(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    dropout: tuple[float, float] = (0.25, 0.4),
) -> keras.Model:
    """A compact CNN classifier for small greyscale images, returning logits.

    Layout: conv 32, conv 32, max-pool, conv 64, conv 64, max-pool (3x3 valid
    convolutions, each followed by batch norm and ReLU), flatten, dropout,
    Dense ``FEATURE_DIM`` "features" (ReLU), dropout, Dense ``num_classes``
    "logits". Inputs are first mapped to [-1, 1]. For 28x28 inputs the last
    feature map is 4x4x64 and the model has about 200k parameters.

    Args:
        image_shape: (height, width, channels) of the input images.
        num_classes: number of output classes.
        dropout: dropout rates before and after the "features" layer. They act
            only in training, so weights trained with any rates load into a model
            built with the defaults.

    Returns:
        A ``keras.Model`` named ``domain_classifier`` from float32 images in
        [0, 1] to unnormalised logits of shape (batch, num_classes).
    """
    import keras

    images = keras.Input(tuple(image_shape), dtype="float32", name="images")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(images)
    x = _conv_block(x, 32, "block1a")
    x = _conv_block(x, 32, "block1b")
    x = keras.layers.MaxPooling2D(2, name="block1_pool")(x)
    x = _conv_block(x, 64, "block2a")
    x = _conv_block(x, 64, "block2b")
    x = keras.layers.MaxPooling2D(2, name="block2_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(dropout[0], name="flatten_dropout")(x)
    x = keras.layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    x = keras.layers.Dropout(dropout[1], name="features_dropout")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(images, logits, name="domain_classifier")


__all__ = ["FEATURE_DIM", "build_domain_classifier"]
