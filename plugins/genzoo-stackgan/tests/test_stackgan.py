"""genzoo-stackgan: captioned shapes, text encoder, conditioning augmentation, losses, stages."""

from __future__ import annotations

import math
import random
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from genzoo_stackgan import captions, shapes
from genzoo_stackgan.model import (
    check_contrast_words,
    generator_loss,
    matching_aware_discriminator_loss,
    matching_loss,
    mismatched,
)
from genzoo_stackgan.plugin import CLASSIFIER_SHA256, SPEC
from genzoo_stackgan.text import build_image_encoder, info_nce

import genzoo_core
from genzoo_core import ConfigError, DataError, Trainer
from genzoo_core.plugin import CaptionedDataSource

SMALL = {
    "word_dim": 8, "text_units": 8, "embedding_dim": 16, "condition_dim": 8, "latent_dim": 8,
    "stage1_generator_filters": [16, 8, 8, 8], "stage1_discriminator_filters": [8, 8, 8],
    "stage2_generator_filters": [8, 8, 8], "stage2_residual_blocks": 1,
    "stage2_discriminator_filters": [8, 8, 8, 8],
}
SHIPPED = [entry.name for entry in SPEC.weights]


@pytest.fixture(scope="module")
def small_model():
    return genzoo_core.create("stackgan", **SMALL)


def test_spec_and_registrations():
    spec = genzoo_core.get_spec("stackgan")
    assert spec.condition.value == "text"
    assert spec.components == ("text_encoder", "stage1_generator", "stage1_discriminator",
                               "stage2_generator", "stage2_discriminator")
    config = spec.default_config
    assert config["kl_weight"] == 2.0 and config["stage"] == 1
    assert config["text_encoder"] == "builtin" and config["vocabulary"] == captions.vocabulary()
    dataset = genzoo_core.default_registry().get_dataset("shapes")
    assert dataset.condition.value == "text" and dataset.image_shape == (64, 64, 3)
    test = genzoo_core.load_data("shapes", "test")
    assert isinstance(test, CaptionedDataSource) and len(test) == 2000
    assert test.image_shape == (64, 64, 3) and len(test.captions[0]) == 5


# -- captioned shapes ---------------------------------------------------------------


def test_caption_generator_is_deterministic_and_seeds_differ():
    a, b, c = shapes.generate(40, seed=3), shapes.generate(40, seed=3), shapes.generate(40, 4)
    assert np.array_equal(a.images, b.images) and a.captions == b.captions
    assert np.array_equal(a.shape, b.shape)
    assert not np.array_equal(a.images, c.images) and a.captions != c.captions
    assert all(len(set(caps)) == 5 for caps in a.captions)  # five different paraphrases
    # Train and test splits come from different seeds: no identical image list.
    assert shapes.SPLITS["train"][0] != shapes.SPLITS["test"][0]


def test_scenes_follow_the_rules():
    data = shapes.generate(300, seed=5)
    counts = np.sum(data.shape > 0, axis=1)
    assert set(counts) == {1, 2}
    assert np.all((data.colour >= 0) == (data.shape > 0)) and np.all(
        (data.size >= 0) == (data.shape > 0))
    # Anti-aliased: edge pixels take values between background and full colour.
    assert len(np.unique(data.images)) > 20
    # Shapes never overlap: total coverage never exceeds one anywhere.
    coverage = shapes.masks()
    for i in range(50):
        total = sum(coverage[data.shape[i, p] - 1, data.size[i, p], p]
                    for p in np.nonzero(data.shape[i])[0])
        assert total.max() <= 1.0 + 1e-6


def test_captions_agree_with_the_pixels():
    data = shapes.generate(200, seed=7)
    for i in range(len(data)):
        for p, (row, col) in enumerate(shapes.CENTRES):
            pixel = data.images[i, int(row), int(col)]
            if data.shape[i, p] == 0:
                assert tuple(pixel) == shapes.BACKGROUND
                continue
            colour = captions.COLOURS[data.colour[i, p]]
            assert tuple(pixel) == shapes.RGB[colour]  # the shape's centre has its colour
            for caption in data.captions[i]:
                text = f" {caption} "
                assert any(f" {w} " in text for w in captions.COLOUR_WORDS[colour])
                assert any(w in caption
                           for w in captions.POSITION_WORDS[captions.POSITIONS[p]])
                kind = captions.SHAPES[data.shape[i, p] - 1]
                assert any(w in caption for w in captions.SHAPE_WORDS[kind])


def test_npz_cache_round_trip(tmp_path):
    data = shapes.generate(20, seed=1)
    data.save(tmp_path / "s.npz")
    back = shapes.Shapes.load(tmp_path / "s.npz")
    assert np.array_equal(back.images, data.images) and back.captions == data.captions
    source = shapes.load_shapes("train", cache=tmp_path / "s.npz")  # read from the cache
    assert len(source) == 20 and source.captions[3] == data.captions[3]
    with pytest.raises(DataError, match="splits"):
        shapes.load_shapes("validation")


@pytest.mark.skipif(not CLASSIFIER_SHA256, reason="the attribute classifier is not shipped")
def test_classifier_agrees_with_held_out_renders():
    from genzoo_stackgan.classifier import attribute_accuracy, load_classifier, predict_attributes

    data = shapes.generate(300, seed=12345)  # neither train (0), nor test (1), nor extra (10)
    predicted = predict_attributes(load_classifier(), data.images / 255.0)
    scores = attribute_accuracy(predicted, (data.shape, data.colour, data.size))
    assert min(scores.values()) >= 0.97, scores
    extractor = genzoo_core.get_feature_extractor("shapes-cnn")
    features, probabilities = extractor.extract(data.images[:8] / 255.0)
    assert features.shape == (8, 128) and probabilities is None


# -- conditioning augmentation and losses ---------------------------------------------


def test_conditioning_augmentation_and_its_kl(small_model):
    generator = small_model.stage1_generator
    rng = np.random.default_rng(0)
    embedding = rng.standard_normal((4, 16)).astype(np.float32)
    eps = rng.standard_normal((4, 8)).astype(np.float32)
    condition_model = tf.keras.Model(
        generator.inputs, [generator.get_layer(f"stage1_ca_{k}").output
                           for k in ("sample", "mean", "log_variance")],
    )
    c, mean, log_variance = (np.asarray(t) for t in condition_model(
        [embedding, eps, np.zeros((4, 8), np.float32)]))
    np.testing.assert_allclose(c, mean + np.exp(0.5 * log_variance) * eps, rtol=1e-5, atol=1e-6)
    expected_kl = np.mean(0.5 * np.sum(
        np.exp(log_variance) + mean**2 - 1.0 - log_variance, axis=1))
    logits = np.zeros((4, 1), np.float32)
    total, kl = generator_loss(logits, mean, log_variance, kl_weight=2.0)
    np.testing.assert_allclose(float(kl), expected_kl, rtol=1e-5)
    # The loss weighs the KL averaged over the condition's 8 dimensions, as the authors did.
    np.testing.assert_allclose(float(total), math.log(2.0) + 2.0 * expected_kl / 8, rtol=1e-5)
    # A closed form on fixed numbers: mu = 1, log var = 0 in 3 dimensions -> KL = 1.5.
    _, kl = generator_loss(logits[:1], np.ones((1, 3), np.float32), np.zeros((1, 3), np.float32),
                           kl_weight=0.0)
    assert float(kl) == pytest.approx(1.5)


def test_matching_aware_loss_terms():
    real = np.array([[2.0], [-1.0]], np.float32)
    wrong = np.array([[0.5], [1.0]], np.float32)
    fake = np.array([[-3.0], [0.0]], np.float32)

    def softplus(x):
        return math.log1p(math.exp(x))

    expected_real = (softplus(-2.0) + softplus(1.0)) / 2  # -log sigmoid(x): target 1
    expected_wrong = (softplus(0.5) + softplus(1.0)) / 2  # -log(1 - sigmoid(x)): target 0
    expected_fake = (softplus(-3.0) + softplus(0.0)) / 2
    total, terms = matching_aware_discriminator_loss(real, wrong, fake)
    assert float(terms["real"]) == pytest.approx(expected_real, rel=1e-5)
    assert float(terms["wrong"]) == pytest.approx(expected_wrong, rel=1e-5)
    assert float(terms["fake"]) == pytest.approx(expected_fake, rel=1e-5)
    assert float(total) == pytest.approx(
        expected_real + (expected_wrong + expected_fake) / 2, rel=1e-5)
    rolled = np.asarray(mismatched(np.arange(6, dtype=np.float32).reshape(3, 2)))
    np.testing.assert_array_equal(rolled, [[4, 5], [0, 1], [2, 3]])


def test_mismatched_texts_mix_rolled_and_contrast_captions():
    embeddings = np.arange(1, 4001, dtype=np.float32).reshape(2000, 2)
    contrast = -embeddings
    contrast[:10] = 0.0  # no contrast caption: always rolled
    tf.random.set_seed(0)
    wrong = np.asarray(mismatched(embeddings, contrast, 0.5))
    is_contrast = np.all(wrong == contrast, axis=1)
    is_rolled = np.all(wrong == np.roll(embeddings, 1, axis=0), axis=1)
    assert np.all(is_contrast | is_rolled) and not is_contrast[:10].any()
    assert 0.45 < is_contrast[10:].mean() < 0.55
    np.testing.assert_array_equal(mismatched(embeddings, contrast, 0.0),
                                  np.roll(embeddings, 1, axis=0))
    assert np.all(np.asarray(mismatched(embeddings, contrast, 1.0))[10:] == contrast[10:])


def test_contrast_captions_change_exactly_one_attribute():
    groups = captions.contrast_word_groups()
    rng = random.Random(0)
    for caption in shapes.generate(50, seed=3).captions[0] + (
            "there is a little red block at the top right and a big yellow circle at the "
            "bottom left",):
        swapped = captions.contrast_caption(caption, groups, rng)
        before, after = captions.words(caption), swapped.split()
        changed = [(a, b) for a, b in zip(before, after) if a != b]
        assert len(before) == len(after) and len(changed) == 1
        (old, new), = changed
        # Same group (colour or shape), another class of it.
        group = next(g for g in groups if any(old in c for c in g))
        assert any(new in c for c in group)
        assert not any(old in c and new in c for c in group)
    assert captions.contrast_caption("nothing to swap here", groups, rng) is None
    for bad in ("red", [["red", "blue"]], [[["red"], []]], [[["red"], [3]]]):
        with pytest.raises(ConfigError, match="contrast_words must be"):
            check_contrast_words(bad)
    with pytest.raises(ConfigError, match="contrast_fraction"):
        genzoo_core.create("stackgan", contrast_fraction=1.5)
    with pytest.raises(ConfigError, match="contrast_exchange"):
        genzoo_core.create("stackgan", contrast_exchange=-0.1)


def test_exchanged_captions_keep_the_words_but_rebind_them():
    groups = captions.contrast_word_groups()
    rng = random.Random(1)
    two = "there is a little red block at the top right and a big yellow circle at the bottom left"
    exchanged = captions.contrast_caption(two, groups, rng, exchange=1.0)
    assert exchanged in (
        "there is a little yellow block at the top right and a big red circle at the bottom left",
        "there is a little red circle at the top right and a big yellow block at the bottom left",
    )
    # Words of one class (both red, or square and its synonym box) are not exchanged:
    # with nothing to exchange, one word is swapped instead.
    same = "a red square at the top and a red box in the centre"
    fallback = captions.contrast_caption(same, groups, rng, exchange=1.0)
    assert sorted(fallback.split()) != sorted(captions.words(same))
    single = captions.contrast_caption("a big red circle in the centre", groups, rng, exchange=1.0)
    assert len([a for a, b in zip(single.split(), "a big red circle in the centre".split())
                if a != b]) == 1


# -- architecture and sampling --------------------------------------------------------


def _unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    rows = rng.standard_normal((n, d))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _cross_entropy(logits: np.ndarray) -> float:
    """Mean cross-entropy of each row's logits against its diagonal target."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_softmax[np.arange(len(logits)), np.arange(len(logits))]))


def test_info_nce_against_a_direct_computation_with_and_without_hard_negatives():
    rng = np.random.default_rng(0)
    text, images, hard = (_unit_rows(rng, 6, 5) for _ in range(3))
    scale = math.log(10.0)
    logits = 10.0 * text @ images.T
    plain = 0.5 * (_cross_entropy(logits) + _cross_entropy(logits.T))
    assert float(info_nce(text, images, tf.constant(scale))) == pytest.approx(plain, rel=1e-5)

    # Each image ranks its own caption against every caption and every hard negative.
    with_hard = np.concatenate([logits.T, 10.0 * images @ hard.T], axis=1)
    expected = 0.5 * (_cross_entropy(logits) + _cross_entropy(with_hard))
    got = float(info_nce(text, images, tf.constant(scale), hard_texts=hard))
    assert got == pytest.approx(expected, rel=1e-5)
    assert got > plain

    # Hard negatives marked absent are ignored.
    none = float(info_nce(text, images, tf.constant(scale), hard_texts=hard,
                          has_hard=tf.zeros(6, tf.bool)))
    assert none == pytest.approx(plain, rel=1e-5)


def test_image_encoder_embedding_is_laid_out_on_a_grid():
    """Each 4x4 cell of the embedding sees only its part of the picture."""
    encoder = build_image_encoder((64, 64, 3), 128)
    cells = tf.keras.Model(encoder.input, encoder.get_layer("cells").output)
    blank = np.zeros((1, 64, 64, 3), np.float32)
    corner = blank.copy()
    corner[:, :12, :12] = 1.0  # a patch in the top-left corner
    change = np.abs(np.asarray(cells(corner)) - np.asarray(cells(blank))).reshape(4, 4, 8)
    assert change[0, 0].max() > 0  # the top-left cell sees the patch
    assert change[2:, :].max() == 0 and change[:, 2:].max() == 0  # the far cells do not
    with pytest.raises(ConfigError, match="multiple of 16"):
        build_image_encoder((64, 64, 3), 100)
    with pytest.raises(ConfigError, match="layout must be one of grid, dense"):
        build_image_encoder((64, 64, 3), 128, layout="sparse")
    # The earlier encoder mixes the whole map in a dense layer: every output sees the patch.
    dense = build_image_encoder((64, 64, 3), 128, layout="dense")
    projection = tf.keras.Model(dense.input, dense.get_layer("projection").output)
    moved = np.abs(np.asarray(projection(corner)) - np.asarray(projection(blank)))
    assert dense.output_shape == (None, 128) and np.count_nonzero(moved) > 100


def _with_plain_weights(overrides):
    """A SMALL model plus ``overrides``, and the plain SMALL model whose weights it copies.

    Layers the plain model lacks keep their initial weights; returns (plain, model).
    """
    plain = genzoo_core.create("stackgan", **SMALL)
    model = genzoo_core.create("stackgan", **{**SMALL, **overrides})
    for name in SPEC.components:
        known = {layer.name: layer for layer in getattr(plain, name).layers}
        for layer in getattr(model, name).layers:
            if layer.name in known:
                layer.set_weights(known[layer.name].get_weights())
    return plain, model


def test_grid_condition_reads_each_cell_of_the_embedding_in_its_place():
    """Zero-initialised cell paths change nothing at first; then each cell reaches its place."""
    plain, grid = _with_plain_weights({"grid_condition": True})
    # Zero-initialised: with the plain generator's weights it draws the same images.
    caption = "a big red box in the middle"
    np.testing.assert_array_equal(plain.sample(2, condition=caption, seed=0),
                                  grid.sample(2, condition=caption, seed=0))
    rng = np.random.default_rng(0)
    for name in ("stage1_discriminator", "stage2_discriminator"):
        size = getattr(grid, name).inputs[0].shape[1]
        pair = [rng.random((2, size, size, 3)).astype(np.float32),
                rng.standard_normal((2, 16)).astype(np.float32)]
        np.testing.assert_allclose(getattr(plain, name)(pair), getattr(grid, name)(pair),
                                   rtol=1e-6)
    generator = grid.stage1_generator
    feature_map = tf.keras.Model(generator.inputs,
                                 generator.get_layer("feature_map_and_text_cells").output)
    eps, z = np.zeros((1, 8), np.float32), np.zeros((1, 8), np.float32)
    embedding = np.zeros((1, 16), np.float32)
    embedding[0, 5] = 1.0  # 16-d embedding on a 4x4 grid, one number per cell: row 1, column 1
    before = np.asarray(feature_map([embedding, eps, z]))
    conv = generator.get_layer("text_cells_conv")
    kernel, bias = conv.get_weights()
    conv.set_weights([np.ones_like(kernel), bias])
    # What the cell path adds: the embedding's entry at its own place in the 4x4 map only.
    added = (np.asarray(feature_map([embedding, eps, z])) - before)[0].max(axis=-1)
    assert added[1, 1] > 0 and np.count_nonzero(added) == 1
    with pytest.raises(ConfigError, match="grid_condition reads the embedding as a 4x4 grid"):
        genzoo_core.create("stackgan", **{**SMALL, "embedding_dim": 20, "grid_condition": True})


def test_text_map_decodes_the_whole_embedding_through_a_hidden_layer():
    """Zero-initialised, it changes nothing; trained, every cell reads every entry, non-linearly.

    The sampled images go through both stages, so the first check covers Stage-II's map too.
    """
    plain, mapped = _with_plain_weights({"text_map_units": 32})
    caption = "a big red box in the middle"
    np.testing.assert_array_equal(plain.sample(2, condition=caption, seed=0),
                                  mapped.sample(2, condition=caption, seed=0))
    generator = mapped.stage1_generator
    # What the path adds to the 4x4 map (the map's other inputs also read the embedding).
    text_map = tf.keras.Model(generator.inputs, generator.get_layer("text_map").output)
    eps, z = np.zeros((1, 8), np.float32), np.zeros((1, 8), np.float32)
    dense = generator.get_layer("text_map_dense")
    kernel, bias = dense.get_weights()
    dense.set_weights([np.ones_like(kernel), bias])

    def added(embedding: np.ndarray) -> np.ndarray:
        return np.asarray(text_map([embedding[None], eps, z]))[0]

    one_entry = np.zeros(16, np.float32)
    one_entry[5] = 1.0
    # Unlike the cell path, one entry of the embedding reaches all 16 places of the map.
    assert np.count_nonzero(np.abs(added(one_entry)).max(axis=-1)) == 16
    # ReLU: the responses to e and -e do not cancel, as a linear read-out's would.
    assert np.abs(added(one_entry) + added(-one_entry)).max() > 1e-3
    # Stage-II gets its own map, enlarged from 4x4 to its 16x16 joint map.
    stage2 = mapped.stage2_generator
    assert stage2.get_layer("text_map").output.shape == (None, 4, 4, 8)
    assert stage2.get_layer("joint_and_text_map").output.shape == (None, 16, 16, 8)
    with pytest.raises(ConfigError, match="'text_map_units' must be an integer in \\[0,"):
        genzoo_core.create("stackgan", **{**SMALL, "text_map_units": -1})


def test_config_schema_refuses_bad_values_before_building(monkeypatch):
    """Huge widths, wrong types and misfitting filter lists are ConfigErrors naming the key,
    raised before any layer is built."""
    import genzoo_stackgan.model

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from a bad config")

    for name in ("build_text_encoder", "build_identity_encoder", "make_vectorizer",
                 "build_stage1_generator", "build_stage2_generator", "build_discriminator"):
        monkeypatch.setattr(genzoo_stackgan.model, name, refuse)
    for key, value in (("stage1_generator_filters", [4_000_000, 64, 32, 16]),
                       ("text_map_units", 10**9), ("embedding_dim", 10**9),
                       ("vocabulary", ["box"] * 20000), ("word_dim", "64"), ("stage", 1.0),
                       ("grid_condition", "yes"), ("image_shape", [64, 64, 4]),
                       ("stage2_generator_filters", [32, 16]),
                       ("stage1_generator_filters", [128, 64]),
                       ("stage1_generator_filters", [64, 32, 16, 8, 8, 8, 8])):
        with pytest.raises(ConfigError, match=key):
            genzoo_core.create("stackgan", **{key: value})
    with pytest.raises(ConfigError, match="grid_condition.*embedding_dim"):
        genzoo_core.create("stackgan", embedding_dim=120, grid_condition=True)
    assert SPEC.training_keys == {
        "kl_weight", "contrast_words", "contrast_fraction", "contrast_exchange",
        "matching_weight", "matching_scale", "reconstruction_weight", "learning_rate",
        "beta_1", "batch_size",
    }
    SPEC.check_config(SPEC.default_config)
    for entry in SPEC.weights:
        path = genzoo_core.resolve_weights(f"stackgan/{entry.name}")[1]
        SPEC.check_config(genzoo_core.read_header(path).config)


def test_stage_resolutions(small_model):
    assert small_model.stage1_generator.outputs[0].shape == (None, 32, 32, 3)
    assert small_model.stage2_generator.outputs[0].shape == (None, 64, 64, 3)
    assert small_model.stage2_generator.inputs[0].shape == (None, 32, 32, 3)
    low, high = small_model.sample_both(3, condition="a big red box in the middle", seed=0)
    assert low.shape == (3, 32, 32, 3) and high.shape == (3, 64, 64, 3)
    again = small_model.sample(3, condition="a big red box in the middle", seed=0)
    np.testing.assert_array_equal(high, again)
    np.testing.assert_array_equal(
        low, small_model.sample(3, condition="a big red box in the middle", seed=0, stage="I"))
    with pytest.raises(ConfigError, match="stage must be 'I'"):
        small_model.sample(3, seed=0, stage="III")
    with pytest.raises(ConfigError, match="image_shape"):
        genzoo_core.create("stackgan", image_shape=[48, 48, 3])


def test_default_captions_and_broadcast(small_model):
    by_default = small_model.sample(2, seed=3)
    assert by_default.shape == (2, 64, 64, 3)
    assert not np.array_equal(by_default, small_model.sample(2, seed=4))
    caption = "a small green triangle at the top right"
    one = small_model.sample(2, condition=caption, seed=3)
    np.testing.assert_array_equal(one, small_model.sample(2, condition=[caption] * 2, seed=3))


def test_bad_text_is_a_clear_error(small_model):
    with pytest.raises(ConfigError, match="empty"):
        small_model.sample(1, condition="   ", seed=0)
    with pytest.raises(ConfigError, match="xylophone, zebra"):
        small_model.sample(1, condition="Zebra xylophone!", seed=0)
    with pytest.raises(ConfigError, match="text"):
        small_model.sample(2, condition=[1, 2], seed=0)
    with pytest.raises(ConfigError, match="text"):
        small_model.sample(1, condition=7, seed=0)
    with pytest.raises(ConfigError, match="2 captions, got 3"):
        small_model.sample(2, condition=["a red disc in the middle"] * 3, seed=0)
    with pytest.warns(UserWarning, match="hexagonal"):
        small_model.sample(1, condition="a red hexagonal disc in the middle", seed=0)


def test_text_encoder_round_trips_through_hdf5(small_model, tmp_path):
    texts = ["a large blue square in the top left", "a tiny white ball at the center"]
    before = small_model.encode_text(texts)
    assert before.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(before, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(before[0], before[1])
    path = tmp_path / "stackgan.h5"
    small_model.save_weights(str(path))
    assert genzoo_core.read_header(path).config["vocabulary"] == captions.vocabulary()
    loaded = genzoo_core.load(str(path))
    np.testing.assert_allclose(loaded.encode_text(texts), before, rtol=1e-6, atol=1e-6)
    fresh = genzoo_core.create("stackgan", **SMALL)
    assert not np.allclose(fresh.encode_text(texts), before)


def test_embeddings_mode():
    model = genzoo_core.create("stackgan", **{**SMALL, "text_encoder": "embeddings"})
    vectors = np.random.default_rng(0).standard_normal((2, 16)).astype(np.float32)
    assert model.sample(2, condition=vectors, seed=0).shape == (2, 64, 64, 3)
    with pytest.raises(ConfigError, match="no default"):
        model.sample(2, seed=0)
    with pytest.raises(ConfigError, match=r"\(2, 16\)"):
        model.sample(2, condition=vectors[:, :5], seed=0)
    with pytest.raises(ConfigError, match="captions"):
        model.sample(2, condition="a red disc in the middle", seed=0)
    plain = CaptionedDataSource("no embeddings", np.zeros((2, 64, 64, 3), np.uint8),
                                [("a",), ("b",)])
    with pytest.raises(DataError, match="no text embeddings"):
        model.prepare_data(plain)


# -- training: stage I, then stage II with stage I frozen --------------------------------


def _weights(model):
    return {f"{name}/{v.path}": np.array(v.numpy())
            for name, component in model.components.items() for v in component.weights}


def test_two_stage_training_through_the_trainer(tmp_path):
    stage1 = genzoo_core.create("stackgan", **SMALL)
    data = stage1.example_data(16)
    prepared = stage1.prepare_data(data)
    assert prepared.embeddings.shape == prepared.contrast.shape == (16, 5, 16)
    # Each caption's contrast embedding is its contrast caption's, encoded.
    swapped = captions.contrast_caption(data.captions[0][0], stage1.contrast_words,
                                        random.Random(0))
    np.testing.assert_allclose(prepared.contrast[0, 0], stage1.encode_text(swapped)[0],
                               atol=1e-5)
    batch = next(iter(prepared.dataset(batch_size=4, seed=0)))
    assert batch["contrast_embeddings"].shape == batch["embeddings"].shape == (4, 16)
    before = _weights(stage1)
    history = Trainer(stage1, tmp_path / "one", batch_size=8, preview_count=4, verbose=0).fit(
        data, epochs=1, steps_per_epoch=1)
    assert set(stage1.optimizers) == {"stage1_generator", "stage1_discriminator"}
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    after = _weights(stage1)
    changed = {k.split("/")[0] for k in before if not np.array_equal(before[k], after[k])}
    assert changed == {"stage1_generator", "stage1_discriminator"}
    assert (tmp_path / "one" / "samples" / "epoch_0001.png").is_file()

    # Stage II starts from the stage-1 file; Stage-I and the text encoder stay frozen.
    stage2 = genzoo_core.create("stackgan", **{**SMALL, "stage": 2})
    stage2.load_weights(str(tmp_path / "one" / "model.h5"))
    before = _weights(stage2)
    assert all(np.array_equal(before[k], after[k]) for k in after)
    Trainer(stage2, tmp_path / "two", batch_size=8, preview_count=0, verbose=0).fit(
        data, epochs=1, steps_per_epoch=1)
    assert set(stage2.optimizers) == {"stage2_generator", "stage2_discriminator"}
    final = _weights(stage2)
    changed = {k.split("/")[0] for k in before if not np.array_equal(before[k], final[k])}
    assert changed == {"stage2_generator", "stage2_discriminator"}


def test_matching_loss_scores_contrast_captions_only_where_there_are_some():
    rng = np.random.default_rng(1)
    text, images, contrast = (_unit_rows(rng, 6, 5) for _ in range(3))
    log_scale = tf.constant(math.log(20.0))
    plain = float(info_nce(text, images, log_scale))
    # An all-zero contrast row means "no contrast caption": it must not count.
    assert float(matching_loss(images, text, np.zeros_like(contrast), 20.0)) == \
        pytest.approx(plain, rel=1e-5)
    partly = contrast.copy()
    partly[3:] = 0.0
    expected = float(info_nce(text, images, log_scale, hard_texts=partly,
                              has_hard=tf.constant([True] * 3 + [False] * 3)))
    assert float(matching_loss(images, text, partly, 20.0)) == pytest.approx(expected, rel=1e-5)
    assert expected > plain


def test_matching_loss_trains_with_a_frozen_unsaved_image_encoder(tmp_path):
    model = genzoo_core.create("stackgan", **{**SMALL, "matching_weight": 1.0})
    data = model.example_data(16)
    with pytest.raises(ConfigError, match="set_matching_encoder"):
        Trainer(model, tmp_path / "none", batch_size=8, preview_count=0, verbose=0).fit(
            data, epochs=1, steps_per_epoch=1)
    with pytest.raises(ConfigError, match=r"needs \(64, 64, 3\) -> 16"):
        model.set_matching_encoder(build_image_encoder((32, 32, 3), 16))
    with pytest.raises(ConfigError,
                       match=r"config key 'matching_weight' must be a number in \[0, "):
        genzoo_core.create("stackgan", **{**SMALL, "matching_weight": -1.0})

    model = genzoo_core.create("stackgan", **{**SMALL, "matching_weight": 1.0})
    encoder = build_image_encoder((64, 64, 3), 16)
    encoder.save_weights(str(tmp_path / "image_encoder.weights.h5"))
    model.set_matching_encoder(str(tmp_path / "image_encoder.weights.h5"))
    frozen = [np.array(v) for v in model.matching_encoder.weights]
    history = Trainer(model, tmp_path / "run", batch_size=8, preview_count=0, verbose=0).fit(
        data, epochs=1, steps_per_epoch=2)
    assert np.isfinite(history.history["match"][-1]) and history.history["match"][-1] > 0
    assert all(np.array_equal(a, np.array(b)) for a, b in
               zip(frozen, model.matching_encoder.weights))
    # A training aid: the weights file holds the model's components, not the encoder.
    assert genzoo_core.read_header(tmp_path / "run" / "model.h5").components == \
        tuple(sorted(SPEC.components))


def test_reconstruction_loss_pulls_samples_towards_their_captions_images(tmp_path):
    with pytest.raises(ConfigError,
                       match=r"config key 'reconstruction_weight' must be a number in \[0, "):
        genzoo_core.create("stackgan", **{**SMALL, "reconstruction_weight": -1.0})
    data = genzoo_core.create("stackgan", **SMALL).example_data(8)
    plain = Trainer(genzoo_core.create("stackgan", **SMALL), tmp_path / "plain", batch_size=8,
                    preview_count=0, verbose=0).fit(data, epochs=1, steps_per_epoch=1)
    assert "l1" not in plain.history

    # Weighted far above the adversarial term, the L1 to each caption's own image
    # (at Stage-I's 32x32) must fall well below that of the same run, same seeds,
    # with the term weighted next to nothing.
    final = {}
    for weight in (100.0, 1e-6):
        keras.utils.set_random_seed(0)
        model = genzoo_core.create("stackgan", **{**SMALL, "reconstruction_weight": weight,
                                                  "learning_rate": 1e-2})
        history = Trainer(model, tmp_path / f"l1-{weight}", batch_size=8, preview_count=0,
                          verbose=0).fit(data, epochs=6, steps_per_epoch=5)
        assert all(np.isfinite(history.history["l1"]))
        final[weight] = history.history["l1"][-1]
    assert final[100.0] < 0.75 * final[1e-6], final


# -- the pretrained weights -------------------------------------------------------------


def _occupied(images, position):
    """Fraction of bright pixels in the 12x12 window around a position's centre."""
    row, col = (int(v) for v in shapes.CENTRES[captions.POSITIONS.index(position)])
    window = images[:, row - 6 : row + 6, col - 6 : col + 6]
    return (window.max(axis=-1) > 0.3).mean(axis=(1, 2))


@pytest.fixture(scope="module")
def pretrained():
    if not SHIPPED:
        pytest.skip("no pretrained weights are shipped yet")
    return genzoo_core.load("stackgan/shapes")


def test_pretrained_weights_load_by_name_and_draw_the_stated_layout(pretrained):
    _, path = genzoo_core.resolve_weights("stackgan/shapes")  # verifies the sha256
    assert Path(path).is_file() and pretrained.stage == 2
    centre = pretrained.sample(8, condition="a large red circle in the centre", seed=0)
    assert np.sum(_occupied(centre, "centre") > 0.5) >= 6
    assert np.sum(_occupied(centre, "top left") < 0.1) >= 6
    corner = pretrained.sample(8, condition="a big blue box in the upper left corner", seed=0)
    assert np.sum(_occupied(corner, "top left") > 0.5) >= 6
    assert np.sum(_occupied(corner, "centre") < 0.1) >= 6


def test_pretrained_samples_have_the_stated_colour(pretrained):
    images = pretrained.sample(8, condition="a large red circle in the centre", seed=0)
    palette = np.array([shapes.RGB[c] for c in captions.COLOURS], np.float64) / 255.0
    centre = images[:, 28:36, 28:36].reshape(8, -1, 3).mean(axis=1)
    nearest = np.argmin(((centre[:, None] - palette[None]) ** 2).sum(-1), axis=1)
    assert np.sum(nearest == captions.COLOURS.index("red")) >= 6
