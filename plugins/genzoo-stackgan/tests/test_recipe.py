"""The recipe of stackgan/shapes: its text-encoder model, its config and its init steps."""

from __future__ import annotations

import numpy as np
import pytest
from genzoo_stackgan import captions
from genzoo_stackgan.plugin import SPEC, TEXT_ENCODER_SPEC

import genzoo_core
from genzoo_core import ConfigError, Trainer, get_recipe

SHIPPED = "stackgan/shapes"
ARCHITECTURE = {"word_dim": 8, "text_units": 8, "embedding_dim": 16}
SMALL = {
    **ARCHITECTURE, "condition_dim": 8, "latent_dim": 8,
    "stage1_generator_filters": [16, 8, 8, 8], "stage1_discriminator_filters": [8, 8, 8],
    "stage2_generator_filters": [8, 8, 8], "stage2_residual_blocks": 1,
    "stage2_discriminator_filters": [8, 8, 8, 8],
}


def _values(model, component):
    return [np.array(w) for w in model.components[component].weights]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def recipe():
    return get_recipe(SHIPPED)


@pytest.fixture(scope="module")
def encoders():
    return genzoo_core.create("stackgan-text-encoder", **ARCHITECTURE)


def test_text_encoder_model_trains_a_step_with_a_finite_loss(encoders, tmp_path):
    data = encoders.example_data(16)
    prepared = encoders.prepare_data(data)
    assert prepared.ids.shape == prepared.hard_ids.shape == (16, 5, 32)
    assert prepared.scenes.shape == (16,)
    # Every caption has a hard negative here (each names a colour), and it differs from it.
    assert np.all(prepared.hard_ids.any(axis=-1))
    assert not np.array_equal(prepared.ids, prepared.hard_ids)
    batch = next(iter(prepared.dataset(batch_size=4, seed=0)))
    assert set(batch) == {"images", "ids", "hard_ids", "scenes"}
    assert float(batch["images"].numpy().max()) <= 1.0

    before = {c: _values(encoders, c) for c in encoders.components}
    history = Trainer(encoders, tmp_path / "run", batch_size=8, preview_count=0,
                      verbose=0).fit(data, epochs=1, steps_per_epoch=1)
    loss = history.history["loss"][-1]
    assert np.isfinite(loss) and loss > 0
    assert set(encoders.optimizers) == {"contrastive"}
    for component in ("text_encoder", "image_encoder", "logit_scale"):
        assert not _same(before[component], _values(encoders, component)), component
    # The temperature is a component, so it is saved with the encoders and resumes.
    header = genzoo_core.read_header(tmp_path / "run" / "model.h5")
    assert sorted(header.components) == sorted(TEXT_ENCODER_SPEC.components)


def test_with_the_text_encoder_frozen_only_the_image_encoder_learns(tmp_path):
    model = genzoo_core.create("stackgan-text-encoder",
                               **{**ARCHITECTURE, "train_text_encoder": False})
    before = {c: _values(model, c) for c in model.components}
    Trainer(model, tmp_path, batch_size=8, preview_count=0, verbose=0).fit(
        model.example_data(16), epochs=1, steps_per_epoch=1)
    assert _same(before["text_encoder"], _values(model, "text_encoder"))
    assert not _same(before["image_encoder"], _values(model, "image_encoder"))


def test_text_encoder_model_is_an_auxiliary_network_that_draws_nothing(encoders):
    assert encoders.spec.auxiliary == "stackgan" and not encoders.capabilities
    with pytest.raises(genzoo_core.GenzooError, match="auxiliary network of 'stackgan'"):
        encoders.sample(1, condition="a large red circle in the centre", seed=0)
    embedded = encoders.encode_text(["a large red circle in the centre"])
    assert embedded.shape == (1, encoders.config["embedding_dim"])
    np.testing.assert_allclose(np.linalg.norm(embedded, axis=1), 1.0, rtol=1e-5)


def test_recipe_spells_out_the_shipped_files_config(recipe):
    assert [s.name for s in recipe.stages] == ["text-encoder", "stage1", "stage2"]
    assert [s.model for s in recipe.stages] == ["stackgan-text-encoder", "stackgan", "stackgan"]
    assert [s.epochs for s in recipe.stages] == [40, 20, 10]
    assert all(s.dataset == "shapes" for s in recipe.stages)
    _, path = genzoo_core.resolve_weights(SHIPPED)
    stored = genzoo_core.read_header(path).config
    text, stage1, stage2 = recipe.stages
    assert dict(stage2.config) == stored
    assert dict(stage1.config) == {**stored, "stage": 1}
    # The text encoder it trains has stackgan's layers, so init can copy it.
    built = TEXT_ENCODER_SPEC.resolve_config(text.config)
    for key in ("vocabulary", "max_caption_words", "word_dim", "text_units", "embedding_dim"):
        assert built[key] == stored[key], key
    assert built["contrast_words"] == stored["contrast_words"] == captions.contrast_word_groups()
    assert built["hard_negatives"] is True and built["image_layout"] == "grid"
    assert built["train_text_encoder"] is True
    assert recipe.evaluate == {"metrics": ["fid", "pr", "attribute_accuracy"], "n": 2000,
                               "split": "test", "seed": 0}
    assert "continued earlier runs" in recipe.notes


def _init_map(recipe, stage, source):
    (found,) = [i for i in recipe.stages[stage].init if i.stage == source]
    return dict(found.components) or None


def test_init_copies_the_text_encoder_and_the_matching_encoder(recipe, encoders):
    stage1 = genzoo_core.create("stackgan", **{**SMALL, "matching_weight": 1.0})
    assert not _same(_values(stage1, "text_encoder"), _values(encoders, "text_encoder"))
    assert stage1.matching_encoder is None
    left = stage1.initialize_from(encoders, _init_map(recipe, 1, "text-encoder"))
    assert left == []
    assert _same(_values(stage1, "text_encoder"), _values(encoders, "text_encoder"))
    assert _same([np.array(w) for w in stage1.matching_encoder.weights],
                 _values(encoders, "image_encoder"))
    assert not stage1.matching_encoder.trainable
    assert stage1.matching_encoder is not encoders.image_encoder  # a copy

    # Stage 2: every component of stage 1, and the matching encoder again.
    stage2 = genzoo_core.create("stackgan", **{**SMALL, "matching_weight": 1.0, "stage": 2})
    assert stage2.initialize_from(stage1, _init_map(recipe, 2, "stage1")) == []
    for component in SPEC.components:
        assert _same(_values(stage2, component), _values(stage1, component)), component
    assert stage2.matching_encoder is None
    stage2.initialize_from(encoders, _init_map(recipe, 2, "text-encoder"))
    assert _same([np.array(w) for w in stage2.matching_encoder.weights],
                 _values(encoders, "image_encoder"))


def test_a_stage_without_its_matching_encoder_says_how_to_get_one(tmp_path):
    model = genzoo_core.create("stackgan", **{**SMALL, "matching_weight": 1.0})
    with pytest.raises(ConfigError, match="matching_encoder = .image_encoder."):
        Trainer(model, tmp_path, batch_size=8, preview_count=0, verbose=0).fit(
            model.example_data(16), epochs=1, steps_per_epoch=1)
    with pytest.raises(ConfigError, match="has no component 'nothing'"):
        model.initialize_from(genzoo_core.create("stackgan-text-encoder", **ARCHITECTURE),
                              {"matching_encoder": "nothing"})


def test_the_shipped_file_still_loads():
    model = genzoo_core.load(SHIPPED)
    assert model.stage == 2 and model.matching_encoder is None
    assert tuple(model.components) == SPEC.components
    _, path = genzoo_core.resolve_weights(SHIPPED)
    assert sorted(genzoo_core.read_header(path).components) == sorted(SPEC.components)
    assert model.sample(1, condition="a large red circle in the centre", seed=0).shape == \
        (1, 64, 64, 3)
