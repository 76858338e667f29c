"""Optimizers with a weight average (Keras' ``use_ema``): the finished run holds the average."""

from __future__ import annotations

import keras
import numpy as np

from genzoo_core import Trainer
from genzoo_core.weights import read_header


def averaging_generator(model, monkeypatch) -> None:
    """Give the toy model's generator an Adam that keeps a weight average."""
    default = type(model).make_optimizers

    def make_optimizers(self):
        optimizers = default(self)
        optimizers["generator"] = keras.optimizers.Adam(1e-3, use_ema=True, ema_momentum=0.5,
                                                        name="generator")
        return optimizers

    monkeypatch.setattr(type(model), "make_optimizers", make_optimizers)


def test_the_finished_file_holds_the_average_and_the_checkpoint_the_raw_weights(
    toy_model, toy_data, tmp_path, monkeypatch
):
    averaging_generator(toy_model, monkeypatch)
    Trainer(toy_model, tmp_path, verbose=0, preview_count=0).fit(toy_data, epochs=2)
    optimizer = toy_model.optimizers["generator"]
    # the model ends as Keras' fit leaves it: its generator is the average
    averages = [v.numpy() for v in optimizer._model_variables_moving_average]
    assert all(np.allclose(a, v.numpy()) for a, v in
               zip(averages, toy_model.generator.trainable_variables, strict=True))
    assert read_header(tmp_path / "model.h5").metadata["averaged_weights"] == ["generator"]
    assert "averaged_weights" not in read_header(tmp_path / "checkpoint.h5").metadata


def test_finalize_weights_is_a_no_op_without_averages(toy_model):
    toy_model.compile()
    toy_model.build_optimizers()
    before = [w.copy() for w in toy_model.generator.get_weights()]
    assert toy_model.finalize_weights() == []
    assert all(np.array_equal(a, b) for a, b in
               zip(before, toy_model.generator.get_weights(), strict=True))
