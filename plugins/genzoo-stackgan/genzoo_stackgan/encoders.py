"""``stackgan-text-encoder``: StackGAN's text encoder and its image encoder, trained together.

The model ``genzoo train`` pretrains StackGAN's built-in text encoder with
(stage ``text-encoder`` of the ``stackgan/shapes`` recipe). Its train step is
the contrastive objective of :mod:`genzoo_stackgan.text` (InfoNCE, as in
CLIP): in a batch of images with one caption each, every caption must pick out
its own image among the others and every image its own caption, through the
image encoder; images of the same scene all count as right. With
``hard_negatives`` each image must also rank its caption above that caption's
hard negative (NegCLIP): the same caption with one colour or shape word
swapped or, with probability ``hard_exchange``, two objects' colours (or
shapes) exchanged, since the batch's other captions almost always differ in
layout and would not teach which object has which colour.

Components: ``text_encoder`` (the network StackGAN conditions on, built as
StackGAN builds it, so a recipe's ``init`` copies it layer by layer),
``image_encoder`` (laid out on a 4x4 grid of the picture; StackGAN's matching
loss scores images with it, copied in by ``init`` as ``matching_encoder``) and
``logit_scale`` (the learned inverse temperature, a component so that it is
saved and a resumed run goes on from it). One optimizer trains all three.

It draws no images: it is an auxiliary network of ``stackgan``
(``ModelSpec.auxiliary``), trained by ``genzoo train`` as the first stage of
the ``stackgan/shapes`` recipe, and it ships no weights of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import ConfigError
from genzoo_core.plugin import (
    CaptionedDataSource,
    GenerativeModel,
    inference_function,
    to_numpy,
)
from genzoo_stackgan import data as captioned_data
from genzoo_stackgan.captions import contrast_captions, padded
from genzoo_stackgan.plugin import TEXT_ENCODER_SPEC
from genzoo_stackgan.text import (
    PAD,
    build_image_encoder,
    build_text_encoder,
    check_captions,
    info_nce,
    make_vectorizer,
)

INITIAL_SCALE = 1 / 0.07
"""The inverse temperature InfoNCE starts at (CLIP's)."""


class LogScale(keras.layers.Layer):
    """One trainable scalar, the log of InfoNCE's inverse temperature; scales its input."""

    def build(self, input_shape: Any) -> None:
        """Create the scalar, at the log of :data:`INITIAL_SCALE`."""
        self.log_scale = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(math.log(INITIAL_SCALE)),
            name="log_scale",
        )

    def call(self, similarities: Any) -> Any:
        """``similarities`` times the inverse temperature."""
        return similarities * keras.ops.exp(self.log_scale)


def build_logit_scale() -> keras.Model:
    """Cosine similarities (n, m) -> logits: the learned inverse temperature as a component."""
    similarities = keras.Input((None,), name="similarities")
    return keras.Model(similarities, LogScale(name="log_scale")(similarities),
                       name="logit_scale")


def scene_ids(images: np.ndarray) -> np.ndarray:
    """One integer per image, equal for identical images.

    Captioned shapes are drawn deterministically from their attributes, so
    identical images are identical scenes (and captions of either fit both).
    """
    flat = np.ascontiguousarray(images.reshape(len(images), -1))
    rows = flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()
    return np.unique(rows, return_inverse=True)[1].ravel().astype(np.int32)


@dataclass
class EncodedCaptions(CaptionedDataSource):
    """Captioned images with their captions' word ids, hard negatives' ids and scene ids.

    What :meth:`ContrastiveTextEncoder.prepare_data` returns: ``ids`` and
    ``hard_ids`` are int32 (images, captions per image, words), ``hard_ids``
    all padding where a caption has no hard negative; ``scenes`` one id per
    image. Each visit of an image draws one of its captions at random.
    """

    ids: np.ndarray | None = None
    hard_ids: np.ndarray | None = None
    scenes: np.ndarray | None = None

    def dataset(
        self, *, shuffle: bool = False, seed: int | None = None, batch_size: int | None = None
    ) -> Any:
        """``{"images", "ids", "scenes"[, "hard_ids"]}`` batches, one random caption per image."""
        columns = {"images": self.images, "ids": self.ids, "scenes": self.scenes}
        if self.hard_ids is not None:
            columns["hard_ids"] = self.hard_ids
        dataset = tf.data.Dataset.from_tensor_slices(columns)
        if shuffle:
            dataset = dataset.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        per_image = int(self.ids.shape[1])
        generator = tf.random.Generator.from_seed(0 if seed is None else seed)

        def pick(example: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            choice = generator.uniform((), 0, per_image, dtype=tf.int32)
            picked = {"images": tf.cast(example["images"], tf.float32) / 255.0,
                      "ids": example["ids"][choice], "scenes": example["scenes"]}
            if "hard_ids" in example:
                picked["hard_ids"] = example["hard_ids"][choice]
            return picked

        dataset = dataset.map(pick)  # sequential: the draws follow the visiting order
        if batch_size:
            dataset = dataset.batch(batch_size, drop_remainder=True)
        return dataset


class ContrastiveTextEncoder(GenerativeModel):
    """StackGAN's text encoder and an image encoder, trained CLIP-style on captioned images.

    Config keys (defaults in :data:`genzoo_stackgan.plugin.TEXT_ENCODER_SPEC`):
    ``image_shape``; the text encoder's ``vocabulary``, ``max_caption_words``,
    ``word_dim``, ``text_units`` and ``embedding_dim`` (StackGAN's defaults:
    its ``text_encoder`` must have the same layers for ``init`` to copy it);
    ``image_layout`` (``"grid"``, or ``"dense"``, the earlier image encoder);
    ``hard_negatives`` and ``hard_exchange``; ``train_text_encoder`` (false:
    the text encoder stays as it is, e.g. copied in by ``init`` from a trained
    ``stackgan``, and only the image encoder learns to match it: a matching-loss
    scorer for a StackGAN trained on that text encoder); ``learning_rate``
    (Adam) and ``batch_size``.
    """

    spec = TEXT_ENCODER_SPEC

    def __init__(self, config: dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.settings
        shape = tuple(int(d) for d in c["image_shape"])
        if shape[2] != 3 or shape[0] != shape[1]:
            raise ConfigError(f"image_shape must be square RGB, got {list(shape)}")
        self.size = shape[0]
        self.vocabulary = list(c["vocabulary"])
        self.vectorizer = make_vectorizer(self.vocabulary, int(c["max_caption_words"]))
        self.hard_negatives = bool(c["hard_negatives"])
        self.hard_exchange = float(c["hard_exchange"])
        self.text_encoder = build_text_encoder(
            len(self.vocabulary), int(c["max_caption_words"]), int(c["word_dim"]),
            int(c["text_units"]), int(c["embedding_dim"]),
        )
        self.image_encoder = build_image_encoder(shape, int(c["embedding_dim"]),
                                                 str(c["image_layout"]))
        # Off: only the image encoder (and temperature) learn, against the text encoder
        # as a recipe's init copies it in, e.g. from a trained stackgan.
        self.text_encoder.trainable = bool(c["train_text_encoder"])
        self.logit_scale = build_logit_scale()
        self._encode_text = inference_function(
            lambda ids: self.text_encoder(ids, training=False), networks=[self.text_encoder])
        self._encode_images = inference_function(
            lambda images: self.image_encoder(images, training=False),
            networks=[self.image_encoder])

    @property
    def log_scale(self) -> keras.Variable:
        """The learned log inverse temperature."""
        return self.logit_scale.get_layer("log_scale").log_scale

    # -- data ------------------------------------------------------------------------

    def word_ids(self, captions: list[str]) -> np.ndarray:
        """int32 word ids (n, max_caption_words) of captions ("" gives all padding)."""
        if not captions:
            return np.zeros((0, int(self.settings["max_caption_words"])), np.int32)
        ids = self.vectorizer(np.array(captions, dtype=object).astype(str))
        return to_numpy(ids).astype(np.int32)

    def prepare_data(self, data: Any) -> EncodedCaptions:
        """Every caption as word ids, once, with its hard negative (seed 0) and its scene.

        Images with fewer captions than the most any image has repeat theirs in turn.
        """
        data = captioned_data.captioned(data, self.size)
        rows = padded(data.captions)
        flat = [caption for row in rows for caption in row]
        shape = (len(rows), len(rows[0]), -1)
        ids = self.word_ids(flat).reshape(shape)
        hard = None
        if self.hard_negatives:
            groups = self.settings["contrast_words"]
            wrong = contrast_captions(flat, groups, self.hard_exchange, seed=0)
            hard = self.word_ids([w or "" for w in wrong]).reshape(shape)
        return EncodedCaptions(data.name, data.images, rows, None, ids, hard,
                               scene_ids(data.images))

    def example_data(self, n: int = 16, seed: int = 0) -> CaptionedDataSource:
        """``n`` captioned-shapes examples (tests, the conformance kit)."""
        return captioned_data.example_data(n, seed)

    # -- training --------------------------------------------------------------------

    def make_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """One Adam for the two encoders and the temperature together."""
        return {"contrastive": keras.optimizers.Adam(self.settings["learning_rate"],
                                                     name="contrastive")}

    def optimizer_variables(self, name: str) -> list[keras.Variable]:
        """Every trainable variable of the three components."""
        return [v for component in self.components.values()
                for v in component.trainable_variables]

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """One InfoNCE step on ``{"ids", "images", "scenes"}``, with ``"hard_ids"`` if given."""
        with tf.GradientTape() as tape:
            hard_texts = has_hard = None
            if "hard_ids" in batch:
                hard_texts = self.text_encoder(batch["hard_ids"], training=True)
                has_hard = tf.reduce_any(tf.not_equal(batch["hard_ids"], PAD), axis=-1)
            loss = info_nce(
                self.text_encoder(batch["ids"], training=True),
                self.image_encoder(batch["images"], training=True),
                self.log_scale, batch["scenes"], hard_texts, has_hard,
            )
        self.minimize(tape, loss, "contrastive")
        return {"loss": loss, "scale": tf.exp(self.log_scale)}

    # -- embeddings ----------------------------------------------------------------------

    def encode_text(self, captions: Any, n: int | None = None) -> np.ndarray:
        """Unit-length text embeddings (n, embedding_dim) of captions."""
        count = n if n is not None else (1 if isinstance(captions, str) else len(captions))
        captions = check_captions(captions, count, self.vocabulary)
        return self.predict_in_batches(self._encode_text, self.word_ids(captions),
                                       batch_size=1024).astype(np.float32)

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """Unit-length image embeddings of images in [0, 1]."""
        return self.predict_in_batches(self._encode_images, np.asarray(images, np.float32),
                                       batch_size=512).astype(np.float32)
