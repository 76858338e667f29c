"""Image transforms shared by the sources and the folder readers.

Resizing uint8 arrays, the conversion of uint8 pixels to float32 in [0, 1], and
pix2pix's random jitter and mirroring (Isola et al. 2017), which the paired and
unpaired sources apply to their training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

JITTER_SCALE = 286 / 256
"""pix2pix's random jitter: resize up by this factor, then crop back at random."""


def _resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    """Resize uint8 NHWC images to ``size`` x ``size`` (antialiased bilinear)."""
    import tensorflow as tf

    if images.shape[1:3] == (size, size):
        return images
    resized = tf.image.resize(tf.cast(images, tf.float32), (size, size), antialias=True)
    return np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)


def _jitter(images: Any, size: int, jitter: bool, mirror: bool, key: Any) -> Any:
    """Random jitter and mirroring of one example (channels may stack several images).

    Stacking an input and its target along the channels gives both the same crop
    and the same flip. ``key`` is the example's stateless seed (shape (2,)), new
    on every pass over the data.
    """
    import tensorflow as tf

    crop_key, flip_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    if jitter:
        larger = int(round(size * JITTER_SCALE))
        images = tf.image.resize(images, (larger, larger))
        images = tf.image.stateless_random_crop(images, (size, size, images.shape[-1]),
                                                seed=crop_key)
    if mirror:
        images = tf.image.stateless_random_flip_left_right(images, seed=flip_key)
    return images


def _to_unit(images: Any) -> Any:
    """uint8 pixels as float32 in [0, 1] (a tensor, inside a ``tf.data`` map)."""
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 255.0
