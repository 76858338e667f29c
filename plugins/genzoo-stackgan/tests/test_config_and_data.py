"""genzoo-stackgan: cross-key config checks, caption padding, contrast captions, conditions."""

from __future__ import annotations

import random

import numpy as np
import pytest
from genzoo_stackgan import captions
from genzoo_stackgan.config import (
    check_contrast_words,
    check_geometry,
    check_grid,
    check_image_shape,
)
from genzoo_stackgan.data import supplied_embeddings
from genzoo_stackgan.plugin import SPEC

import genzoo_core
from genzoo_core import ConfigError, DataError, GenzooError

TINY = {
    "word_dim": 4, "text_units": 4, "embedding_dim": 16, "condition_dim": 4, "latent_dim": 4,
    "stage1_generator_filters": [8, 4, 4, 4], "stage1_discriminator_filters": [4, 4, 4],
    "stage2_generator_filters": [4, 4, 4], "stage2_residual_blocks": 0,
    "stage2_discriminator_filters": [4, 4, 4, 4],
}


def test_image_shape_and_geometry_checks_name_the_key():
    assert check_image_shape((64, 64, 3)) == 64 and check_image_shape([128, 128, 3]) == 128
    for bad in ((64, 32, 3), (64, 64, 1), (48, 48, 3)):
        with pytest.raises(ConfigError, match="image_shape"):
            check_image_shape(bad)
    config = dict(SPEC.default_config)
    check_geometry(config, 32, 64)
    with pytest.raises(ConfigError, match=r"stage1_generator_filters \[128, 64\]"):
        check_geometry({**config, "stage1_generator_filters": [128, 64]}, 32, 64)
    with pytest.raises(ConfigError, match="grid_condition.*embedding_dim"):
        check_geometry({**config, "grid_condition": True, "embedding_dim": 120}, 32, 64)
    check_grid(128, 4)
    with pytest.raises(ConfigError, match="4x4 grid"):
        check_grid(20, 4)
    assert check_contrast_words(((("red",), ("blue",)),)) == [[["red"], ["blue"]]]
    with pytest.raises(ConfigError, match="contrast_words must be"):
        check_contrast_words([[["red"], []]])


def test_padding_repeats_captions_in_turn():
    assert captions.padded([("a", "b", "c"), ("d",), ("e", "f")]) == [
        ("a", "b", "c"), ("d", "d", "d"), ("e", "f", "e")]


def test_contrast_captions_are_one_seeded_stream():
    groups = captions.contrast_word_groups()
    texts = ["a big red circle in the centre", "nothing to swap",
             "a small blue box at the top left"]
    first = captions.contrast_captions(texts, groups, exchange=0.0, seed=0)
    assert first == captions.contrast_captions(texts, groups, exchange=0.0, seed=0)
    rng = random.Random(0)
    assert first == [captions.contrast_caption(t, groups, rng) for t in texts]
    assert first[1] is None


def test_describe_refuses_three_shapes_with_a_genzoo_error():
    with pytest.raises(DataError, match="one or two shapes, got 3"):
        captions.describe([(0, 0, 0, 0)] * 3, random.Random(0))


def test_supplied_embeddings_must_be_an_array_of_the_right_shape():
    vectors = np.ones((2, 4), np.float64)
    got = supplied_embeddings(vectors, 2, 4)
    assert got.dtype == np.float32 and got.shape == (2, 4)
    for condition, message in ((None, "no default"), ("a red disc", "not captions"),
                               (vectors[:, :3], r"\(2, 4\)")):
        with pytest.raises(ConfigError, match=message):
            supplied_embeddings(condition, 2, 4)
    assert issubclass(ConfigError, GenzooError) and issubclass(DataError, GenzooError)


def test_sample_refuses_a_bad_count_or_seed_at_either_stage_with_the_cores_message():
    model = genzoo_core.create("stackgan", **TINY)
    for stage in ("I", "II"):
        with pytest.raises(ConfigError, match="n must be a positive integer, got 0"):
            model.sample(0, seed=0, stage=stage)
        with pytest.raises(ConfigError, match="seed must be a non-negative integer or None"):
            model.sample(1, seed=-1, stage=stage)
        with pytest.raises(ConfigError, match="seed must be a non-negative integer or None"):
            model.sample(1, seed=True, stage=stage)
    images = model.sample(2, condition="a red disc in the middle", seed=np.int64(1))
    assert images.dtype == np.float32 and images.shape == (2, 64, 64, 3)
