"""Checks of the images a model returns or takes, shared by the core and the plugins.

``check_images`` is what ``GenerativeModel.sample`` (and the kit) holds every
sampled batch to; ``input_images`` and ``resized_images`` are what an
image-to-image model's ``translate`` takes: float NHWC in [0, 1], resized only
when the aspect ratio stays, never squashed or clipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genzoo_core.errors import GenzooError

IMAGE_TOLERANCE = 1e-3
"""How far outside [0, 1] sampled values may stray (float rounding) before it is an error."""


def check_images(
    images: Any, n: int, what: str, image_shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """``images`` as float32 NHWC in [0, 1], or a GenzooError saying what is wrong.

    Values beyond rounding outside [0, 1] are an error, not a silent clip: a
    generator that returns [-1, 1] (tanh) or 0-255 would otherwise give images
    that are half black or all white. Floats of any width (bfloat16 and
    float16 from a model that computes in mixed precision, float64) come back
    as float32.
    """
    images = np.asarray(images)
    if images.dtype.name == "bfloat16":  # a model computing in mixed_bfloat16
        images = images.astype(np.float32)
    if images.dtype.kind not in "f":
        raise GenzooError(
            f"{what} returned {images.dtype} values; genzoo images are floats in [0, 1] "
            f"(divide 0-255 values by 255)"
        )
    images = images.astype(np.float32, copy=False)
    if images.ndim != 4 or images.shape[0] != n:
        raise GenzooError(
            f"{what} returned shape {images.shape}; expected ({n}, height, width, channels)"
        )
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        raise GenzooError(
            f"{what} returned images of shape {tuple(images.shape[1:])}; the model declares "
            f"{tuple(image_shape)} (height, width, channels: NHWC, not NCHW)"
        )
    if not np.all(np.isfinite(images)):
        raise GenzooError(
            f"{what} returned NaN or infinite values: the weights are damaged or training "
            f"diverged"
        )
    low, high = float(images.min()), float(images.max())
    if low < -IMAGE_TOLERANCE or high > 1.0 + IMAGE_TOLERANCE:
        raise GenzooError(
            f"{what} returned values in [{low:.4g}, {high:.4g}]; genzoo images are in [0, 1]: "
            f"map a tanh output with (x + 1) / 2, or 0-255 values with x / 255"
        )
    return np.clip(images, 0.0, 1.0)


def input_images(x: Any, channels: int, what: str) -> np.ndarray:
    """``x`` as float32 NHWC images in [0, 1] with ``channels`` channels, or a DataError.

    What image-to-image models take: one HWC image counts as a batch of one.
    8-bit or out-of-range values are refused rather than clipped, so a 0-255
    image is not silently turned white.
    """
    from genzoo_core.errors import DataError

    images = np.asarray(x)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != channels:
        raise DataError(
            f"{what} takes NHWC images with {channels} channel(s); got an array of shape "
            f"{images.shape}"
        )
    if 0 in images.shape:
        raise DataError(f"{what} got no images (an array of shape {images.shape})")
    if images.dtype.kind != "f":
        raise DataError(
            f"{what} takes float images in [0, 1], got dtype {images.dtype}: convert with "
            f"x.astype('float32') / 255"
        )
    images = images.astype(np.float32)
    if not np.all(np.isfinite(images)):
        raise DataError(f"{what} got images holding NaN or infinite values")
    if images.min() < 0.0 or images.max() > 1.0:
        raise DataError(
            f"{what} takes values in [0, 1], got [{images.min():.3g}, {images.max():.3g}]: "
            f"divide 8-bit images by 255"
        )
    return images


def resized_images(images: np.ndarray, height: int, width: int, what: str) -> np.ndarray:
    """``images`` at ``height`` x ``width``; only a change of size, never of aspect ratio.

    An image of another shape would come out squashed: it is refused with a
    DataError saying how to crop it (a side-by-side A|B pair is recognised).
    Resizing is bilinear with antialiasing (``keras.ops.image.resize``), on
    whichever Keras backend runs.
    """
    from genzoo_core.errors import DataError

    h, w = int(images.shape[1]), int(images.shape[2])
    if (h, w) == (height, width):
        return images
    if h * width != w * height:
        pair = (
            f" It looks like a side-by-side A|B pair: take its left half, "
            f"x[:, :, :{w // 2}]."
            if w == 2 * h and height == width else ""
        )
        raise DataError(
            f"{what} takes {width}x{height} images (width x height) or any size of that "
            f"shape; got {w}x{h}, which resizing would distort: crop it first.{pair}"
        )
    import keras

    from genzoo_core.backend import to_numpy

    # Bilinear with antialiasing on every backend: on TensorFlow exactly tf.image.resize's
    # result, on JAX within 3e-7 of it.
    out = to_numpy(keras.ops.image.resize(
        images, (height, width), interpolation="bilinear", antialias=True
    ))
    return np.clip(out, 0.0, 1.0).astype(np.float32)
