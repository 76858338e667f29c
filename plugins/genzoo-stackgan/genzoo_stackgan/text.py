"""The built-in text encoder: word ids -> a unit-length embedding, pretrained CLIP-style.

Captions are split into words by a Keras ``TextVectorization`` layer whose
vocabulary lives in the model config (so it travels inside the weights file's
header); the encoder is an embedding, a bidirectional GRU and a projection,
normalised to unit length. It is pretrained with a contrastive image-text
objective (InfoNCE, as in CLIP): in a batch of images and one caption each,
every caption must pick out its own image among the others and vice versa,
through a small image encoder (the model ``stackgan-text-encoder`` of
:mod:`genzoo_stackgan.encoders` trains both). Then it is frozen and StackGAN
conditions on its embeddings; the image encoder scores StackGAN's images in
its optional matching loss.

Bad text is refused before it reaches the network: a caption that is not a
string, is empty, or has no word in the vocabulary is a ``ConfigError``
naming the unknown words.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError
from genzoo_stackgan.captions import words

PAD, UNKNOWN = 0, 1  # TextVectorization's ids for padding and out-of-vocabulary words


def make_vectorizer(vocabulary: Sequence[str], max_words: int) -> keras.layers.TextVectorization:
    """Captions -> int ids (n, max_words); 0 pads, 1 marks unknown words, words start at 2."""
    return keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        output_mode="int",
        output_sequence_length=max_words,
        vocabulary=list(vocabulary),
        name="vectorizer",
    )


def build_text_encoder(
    vocabulary_size: int, max_words: int, word_dim: int, units: int, embedding_dim: int
) -> keras.Model:
    """Word ids (n, max_words) -> unit-length embeddings (n, embedding_dim)."""
    ids = keras.Input((max_words,), dtype="int32", name="word_ids")
    x = keras.layers.Embedding(
        vocabulary_size + 2, word_dim, mask_zero=True, name="word_embedding"
    )(ids)
    # Both directions: "in the top left sits a big box" names the place before the shape.
    x = keras.layers.Bidirectional(keras.layers.GRU(units, name="words"), name="gru")(x)
    x = keras.layers.Dense(embedding_dim, name="projection")(x)
    embeddings = keras.layers.UnitNormalization(name="unit_length")(x)
    return keras.Model(ids, embeddings, name="text_encoder")


def check_captions(captions: Any, n: int, vocabulary: Sequence[str]) -> list[str]:
    """``n`` captions from one string (repeated) or a sequence of ``n`` strings.

    Raises:
        ConfigError: not text, the wrong count, an empty caption, or a caption
            none of whose words the encoder knows (the message names them).
    """
    if isinstance(captions, str):
        captions = [captions] * n
    elif isinstance(captions, np.ndarray) and captions.dtype.kind in "US":
        captions = [str(c) for c in captions.ravel()]
    if not isinstance(captions, (list, tuple)) or not all(isinstance(c, str) for c in captions):
        raise ConfigError(
            f"stackgan's condition is text: one caption (a string) or a list of {n} strings, "
            f"got {type(captions).__name__}"
            + (f" of {sorted({type(c).__name__ for c in captions})}"
               if isinstance(captions, (list, tuple)) else "")
        )
    if len(captions) != n:
        raise ConfigError(
            f"stackgan needs one caption per image: {n} captions, got {len(captions)}"
        )
    known = set(vocabulary)
    for index, caption in enumerate(captions):
        tokens = words(caption)
        if not tokens:
            raise ConfigError(f"caption {index} is empty ({caption!r}): describe the image")
        unknown = [t for t in tokens if t not in known]
        if len(unknown) == len(tokens):
            raise ConfigError(
                f"caption {index} ({caption!r}) has no word the text encoder knows "
                f"(unknown: {', '.join(sorted(set(unknown)))}); its vocabulary has "
                f"{len(known)} words, e.g. {', '.join(sorted(known)[:8])}, ..."
            )
        if unknown:
            warnings.warn(
                f"caption {index}: the text encoder ignores the unknown words "
                f"{', '.join(sorted(set(unknown)))}",
                stacklevel=3,
            )
    return list(captions)


# -- contrastive pretraining ----------------------------------------------------------


IMAGE_LAYOUTS = ("grid", "dense")
"""How :func:`build_image_encoder` arranges its embedding."""


def build_image_encoder(
    image_shape: Sequence[int], embedding_dim: int, layout: str = "grid"
) -> keras.Model:
    """Images in [0, 1] -> unit-length embeddings, laid out on a 4x4 grid of the image.

    Used to pretrain the text encoder, and as the matching loss's scorer. Three
    strided convolutions reduce the image (averaged to half size) to a 4x4 map.
    With ``layout="grid"`` a 1x1 convolution gives each cell
    ``embedding_dim / 16`` numbers about what is near it, and the embedding is
    those cells side by side, with no dense layer mixing them: to match its
    image, a caption's embedding must say what is in each part of the picture,
    which colour and shape sit where, not only which occur. ``"dense"`` is the
    earlier encoder (a dense layer of 256 over the whole map, then the
    projection), kept to rebuild the encoders earlier runs were trained with:
    its text embeddings tell captions with two objects' colours exchanged apart
    without saying, in a form a generator can read, which object has which.
    """
    if layout not in IMAGE_LAYOUTS:
        raise ConfigError(
            f"the image encoder's layout must be one of {', '.join(IMAGE_LAYOUTS)}, "
            f"got {layout!r}"
        )
    images = keras.Input(tuple(image_shape), name="images")
    x = keras.layers.AveragePooling2D(2, name="half_size")(images)  # 32x32 holds every attribute
    for i, filters in enumerate((32, 64, 128)):
        x = keras.layers.Conv2D(
            filters, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}"
        )(x)
    if layout == "dense":
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(256, activation="relu", name="hidden")(x)
        x = keras.layers.Dense(embedding_dim, name="projection")(x)
    else:
        if x.shape[1] > 4:  # images larger than 64x64: average down to the 4x4 grid
            x = keras.layers.AveragePooling2D(x.shape[1] // 4, name="to_grid")(x)
        cells = x.shape[1] * x.shape[2]
        if embedding_dim % cells:
            raise ConfigError(
                f"the image encoder lays its embedding out on a {x.shape[1]}x{x.shape[2]} "
                f"grid: embedding_dim must be a multiple of {cells}, got {embedding_dim}"
            )
        x = keras.layers.Conv2D(embedding_dim // cells, 1, name="cell_features")(x)
        x = keras.layers.Flatten(name="cells")(x)
    embeddings = keras.layers.UnitNormalization(name="unit_length")(x)
    return keras.Model(images, embeddings, name="image_encoder")


def info_nce(
    text: tf.Tensor,
    images: tf.Tensor,
    log_scale: tf.Tensor,
    scenes: tf.Tensor | None = None,
    hard_texts: tf.Tensor | None = None,
    has_hard: tf.Tensor | None = None,
) -> tf.Tensor:
    """Symmetric InfoNCE of matched (text_i, image_i) pairs, as in CLIP.

    ``text`` and ``images`` are unit vectors; the logits are their cosine
    similarities times ``exp(log_scale)`` (a learned inverse temperature). With
    ``scenes`` (an id per pair), pairs showing the same scene all count as
    matches, shared equally, instead of being pushed apart as negatives.

    ``hard_texts`` (one per pair, where ``has_hard`` is true) are extra wrong
    captions each image must also rank below its own, as in NegCLIP
    (Yuksekgonul et al. 2023): a caption with one colour or shape swapped keeps
    the layout, so the encoder cannot pass them by layout alone, as it can
    with the batch's other captions.

    The loss is computed in float32, whatever dtype the encoders compute in.
    """
    text, images = tf.cast(text, tf.float32), tf.cast(images, tf.float32)
    log_scale = tf.cast(log_scale, tf.float32)
    if hard_texts is not None:
        hard_texts = tf.cast(hard_texts, tf.float32)
    logits = tf.exp(log_scale) * tf.matmul(text, images, transpose_b=True)
    if scenes is None:
        targets = tf.eye(tf.shape(logits)[0])
    else:
        same = tf.cast(tf.equal(scenes[:, None], scenes[None, :]), logits.dtype)
        targets = same / tf.reduce_sum(same, axis=1, keepdims=True)
    text_to_image = keras.losses.categorical_crossentropy(targets, logits, from_logits=True)
    image_logits, image_targets = tf.transpose(logits), targets
    if hard_texts is not None:
        hard = tf.exp(log_scale) * tf.matmul(images, hard_texts, transpose_b=True)
        if has_hard is not None:
            hard = tf.where(tf.reshape(tf.cast(has_hard, tf.bool), (1, -1)), hard, -1e9)
        image_logits = tf.concat([image_logits, hard], axis=1)
        image_targets = tf.concat([targets, tf.zeros_like(hard)], axis=1)
    image_to_text = keras.losses.categorical_crossentropy(
        image_targets, image_logits, from_logits=True
    )
    return 0.5 * (tf.reduce_mean(text_to_image) + tf.reduce_mean(image_to_text))


def retrieval_accuracy(
    text: np.ndarray, images: np.ndarray, same: np.ndarray, group: int = 100
) -> dict[str, float]:
    """Caption -> image top-1 retrieval within groups of ``group`` test pairs.

    ``text[i]`` and ``images[i]`` are matched embeddings; ``same[i, j]`` says
    whether images ``i`` and ``j`` show the same scene (identical attributes):
    picking such a twin counts as right in ``"scene"``, only the exact image in
    ``"exact"``.
    """
    exact = scene = total = 0
    for start in range(0, len(text) - group + 1, group):
        stop = start + group
        best = np.argmax(text[start:stop] @ images[start:stop].T, axis=1)
        rows = np.arange(group)
        exact += int(np.sum(best == rows))
        scene += int(np.sum(same[start:stop, start:stop][rows, best]))
        total += group
    return {"exact": exact / total, "scene": scene / total, "group": group}
