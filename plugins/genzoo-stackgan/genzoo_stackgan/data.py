"""The captioned data a StackGAN trains on, and the text it samples from.

:meth:`~genzoo_stackgan.model.StackGAN.prepare_data` hands its data here. With
the built-in text encoder every caption is encoded once, rather than in every
train step, and so is its contrast caption (one word swapped, or two
exchanged: :func:`genzoo_stackgan.captions.contrast_caption`), giving a
:class:`ContrastCaptionedData` whose batches carry both embeddings. With
supplied embeddings (``text_encoder="embeddings"``) the data's own vectors are
checked and used as they are; they have no contrast captions. Every failure is
a :class:`genzoo_core.DataError` (the data) or :class:`genzoo_core.ConfigError`
(a sampling condition) saying what to pass instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError, DataError
from genzoo_core.plugin import CaptionedDataSource
from genzoo_stackgan import shapes
from genzoo_stackgan.captions import contrast_captions, padded


@dataclass
class ContrastCaptionedData(CaptionedDataSource):
    """Captioned data with, per caption, the embedding of its contrast caption.

    What :meth:`~genzoo_stackgan.model.StackGAN.prepare_data` returns with the
    built-in text encoder: ``contrast`` has the shape of ``embeddings`` (zeros
    where a caption has no word to swap), and each batch carries the drawn
    caption's ``"contrast_embeddings"`` next to its ``"embeddings"``.
    """

    contrast: np.ndarray | None = None

    def dataset(
        self, *, shuffle: bool = False, seed: int | None = None, batch_size: int | None = None
    ) -> Any:
        """The captioned batches of :class:`CaptionedDataSource`, plus the contrast embeddings."""
        dim = self.embeddings.shape[-1]
        # Joined along the feature axis, both follow the same random caption choice.
        joined = CaptionedDataSource(self.name, self.images, self.captions,
                                     np.concatenate([self.embeddings, self.contrast], axis=-1))

        def split(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            both = batch["embeddings"]
            return {**batch, "embeddings": both[..., :dim], "contrast_embeddings": both[..., dim:]}

        return joined.dataset(shuffle=shuffle, seed=seed, batch_size=batch_size).map(split)


def captioned(data: Any, size: int) -> CaptionedDataSource:
    """``data`` as captioned ``size`` x ``size`` RGB images, or a DataError."""
    if not isinstance(data, CaptionedDataSource):
        raise DataError(
            f"stackgan trains on captioned images (a CaptionedDataSource such as the "
            f"'shapes' dataset, or load_captioned_folder), got {type(data).__name__}"
        )
    if tuple(data.image_shape) != (size, size, 3):
        data = data.resized(size)
    return data


def with_supplied_embeddings(
    data: CaptionedDataSource, embedding_dim: int
) -> CaptionedDataSource:
    """``data`` unchanged if it carries ``embedding_dim``-d text embeddings, else a DataError."""
    if data.embeddings is None:
        raise DataError(
            f"{data.name} has no text embeddings, and text_encoder='embeddings' needs "
            f"them (an embeddings/ folder of .npy files), or use text_encoder='builtin'"
        )
    if data.embeddings.shape[-1] != embedding_dim:
        raise DataError(
            f"{data.name} has {data.embeddings.shape[-1]}-d embeddings, the model "
            f"embedding_dim={embedding_dim}: pass --config embedding_dim=..."
        )
    return data


def with_contrast_captions(
    data: CaptionedDataSource,
    encode: Callable[[list[str]], np.ndarray],
    groups: Sequence[Sequence[Sequence[str]]],
    fraction: float,
    exchange: float,
) -> ContrastCaptionedData:
    """Every caption of ``data`` encoded once, and its contrast caption.

    Images with fewer captions than the most any image has are padded by
    repeating their captions in turn. ``encode`` maps captions to their
    (count, dim) embeddings. Contrast captions are drawn from ``groups`` with
    seed 0 (exchanging two words with probability ``exchange``); a caption
    without one, and every caption where ``fraction`` is 0 or there are no
    groups, gets an all-zero contrast row.
    """
    rows = padded(data.captions)
    flat = [caption for row in rows for caption in row]
    embeddings = encode(flat)
    dim = embeddings.shape[-1]
    embeddings = embeddings.reshape(len(rows), -1, dim)
    contrast = np.zeros(embeddings.shape, np.float32)
    if fraction > 0.0 and groups:
        swapped = contrast_captions(flat, groups, exchange, seed=0)
        found = [i for i, caption in enumerate(swapped) if caption is not None]
        if found:
            contrast.reshape(-1, dim)[found] = encode([swapped[i] for i in found])
    return ContrastCaptionedData(data.name, data.images, rows, embeddings, contrast)


def example_data(n: int, seed: int, embedding_dim: int | None = None) -> CaptionedDataSource:
    """``n`` captioned-shapes examples; with ``embedding_dim``, random embeddings of that size.

    Supplied-embeddings models (``text_encoder="embeddings"``) pass their
    ``embedding_dim`` and get one standard-normal vector per caption, drawn
    with ``seed``.
    """
    scenes = shapes.generate(n, seed)
    data = CaptionedDataSource(f"shapes[seed {seed}]", scenes.images, scenes.captions)
    if embedding_dim is not None:
        rng = np.random.default_rng(seed)
        vectors = rng.standard_normal((n, len(scenes.captions[0]), embedding_dim))
        data = data.with_embeddings(vectors.astype(np.float32))
    return data


def supplied_embeddings(condition: Any, n: int, embedding_dim: int) -> np.ndarray:
    """The (n, embedding_dim) float32 array a supplied-embeddings model samples from.

    ``condition`` must be such an array: ``None`` (there is no default) and
    captions are ConfigErrors that say so.
    """
    if condition is None:
        raise ConfigError(
            "this stackgan conditions on supplied embeddings (text_encoder='embeddings') "
            f"and has no default: pass condition=an ({n}, {embedding_dim}) float array"
        )
    array = np.asarray(condition)
    if array.dtype.kind in "USO":
        raise ConfigError(
            "this stackgan conditions on supplied embeddings (text_encoder='embeddings'), "
            f"not captions: pass an ({n}, {embedding_dim}) float array"
        )
    if array.dtype.kind not in "fiu" or array.shape != (n, embedding_dim):
        raise ConfigError(
            f"condition must be a float array of shape ({n}, {embedding_dim}) "
            f"(one text embedding per image), got {array.dtype} {array.shape}"
        )
    return array.astype(np.float32)
