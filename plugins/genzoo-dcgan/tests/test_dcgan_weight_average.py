"""dcgan's generator_ema: the finished file holds the weight average, checkpoints the raw ones."""

from __future__ import annotations

import numpy as np
import pytest

import genzoo_core
from genzoo_core import Trainer, read_header
from genzoo_core.plugin import DataSource

TINY = {"generator_filters": 4, "discriminator_filters": 4}


def digits(n: int = 128) -> DataSource:
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)
    return DataSource("random", images)


def train(tmp_path, **config):
    model = genzoo_core.create("dcgan", **TINY, **config)
    trainer = Trainer(model, tmp_path, batch_size=32, verbose=0, preview_count=0)
    trainer.fit(digits(), epochs=2)
    return model


def generator_values(path) -> list[np.ndarray]:
    return genzoo_core.load(str(path)).generator.get_weights()


@pytest.mark.filterwarnings("ignore")
def test_the_finished_file_holds_the_average_and_the_checkpoint_the_raw_weights(tmp_path):
    model = train(tmp_path, generator_ema=0.5)
    final, raw = generator_values(tmp_path / "model.h5"), generator_values(
        tmp_path / "checkpoint.h5")
    assert any(not np.allclose(a, b) for a, b in zip(final, raw, strict=True))
    # the model object ends as the file: averaged, as Keras' fit leaves it
    assert all(np.allclose(a, b) for a, b in zip(final, model.generator.get_weights(),
                                                    strict=True))
    header = read_header(tmp_path / "model.h5")
    assert header.metadata["averaged_weights"] == ["generator"]


@pytest.mark.filterwarnings("ignore")
def test_without_an_average_the_finished_file_is_the_last_checkpoint(tmp_path):
    train(tmp_path)
    final, raw = generator_values(tmp_path / "model.h5"), generator_values(
        tmp_path / "checkpoint.h5")
    assert all(np.array_equal(a, b) for a, b in zip(final, raw, strict=True))
    assert "averaged_weights" not in read_header(
        tmp_path / "model.h5").metadata


def test_finalize_weights_applies_only_optimizers_that_average():
    model = genzoo_core.create("dcgan", **TINY, generator_ema=0.9)
    model.compile()
    model.build_optimizers()
    assert model.optimizers["generator"].use_ema
    assert not model.optimizers["discriminator"].use_ema
    before = model.discriminator.get_weights()
    assert model.finalize_weights() == ["generator"]
    assert all(np.array_equal(a, b) for a, b in zip(before, model.discriminator.get_weights(),
                                                     strict=True))
