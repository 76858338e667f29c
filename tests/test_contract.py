"""The model contract and protocols, exercised on the toy model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

import genzoo_core
from genzoo_core import (
    Capability,
    Discriminator,
    GenerativeModel,
    Generator,
    GenzooError,
    LikelihoodModel,
    ModelContract,
    Translator,
)


def test_model_satisfies_the_contract(toy_model):
    assert isinstance(toy_model, ModelContract)
    assert isinstance(toy_model, GenerativeModel)
    assert not isinstance(toy_model, Translator) and not isinstance(toy_model, LikelihoodModel)
    assert toy_model.capabilities == frozenset({Capability.SAMPLE})
    assert list(toy_model.components) == ["generator", "discriminator"]
    assert isinstance(toy_model.components["generator"], Generator)
    assert isinstance(toy_model.components["discriminator"], Discriminator)
    assert not isinstance(object(), Generator)


def test_sample_shape_dtype_range_and_seed(toy_model):
    images = toy_model.sample(10, seed=3)
    assert images.shape == (10, 4, 4, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, toy_model.sample(10, seed=3))
    assert not np.array_equal(images, toy_model.sample(10, seed=4))
    assert not np.array_equal(toy_model.sample(10), toy_model.sample(10))
    # a batch of 300 crosses the 256-image batching boundary and stays seeded
    np.testing.assert_array_equal(toy_model.sample(300, seed=1)[:10], toy_model.sample(10, seed=1))


@pytest.mark.parametrize("n", [0, -1, 2.5, "3", True])
def test_sample_rejects_bad_counts(toy_model, n):
    with pytest.raises(GenzooError, match="positive integer"):
        toy_model.sample(n)


def test_config_is_json_and_rebuilds_the_architecture(toy_registry):
    model = genzoo_core.create("toygan", units=5)
    config = json.loads(json.dumps(model.config))
    rebuilt = genzoo_core.create("toygan", config)
    assert [v.shape for v in rebuilt.variables] == [v.shape for v in model.variables]
    config["units"] = 99
    assert model.config["units"] == 5  # a copy, not the live dict


def test_create_and_load_by_name_errors(toy_registry):
    with pytest.raises(genzoo_core.ConfigError, match="no config key"):
        genzoo_core.create("toygan", bogus=1)
    with pytest.raises(genzoo_core.UnknownNameError, match="ships no pretrained weights"):
        genzoo_core.load("toygan")
    with pytest.raises(genzoo_core.UnknownNameError, match="Did you mean: toygan"):
        genzoo_core.load("toygam/mnist")


def test_model_without_spec_is_refused():
    class NoSpec(GenerativeModel):
        pass

    with pytest.raises(TypeError, match="class attribute 'spec'"):
        NoSpec()


def test_uncompiled_model_says_so(toy_model):
    with pytest.raises(GenzooError, match="call model.compile"):
        toy_model.optimizers  # noqa: B018


def test_translator_inputs_are_checked_and_never_squashed():
    from genzoo_core import DataError, input_images, resized_images

    rng = np.random.default_rng(0)
    square = rng.random((2, 8, 8, 3), dtype=np.float32)
    assert input_images(square[0], 3, "t").shape == (1, 8, 8, 3)  # one image, a batch of one
    for bad, words in [(square * 255, "divide 8-bit"), ((square * 255).astype(np.uint8), "uint8"),
                       (square[..., :1], "3 channel"), (square * np.nan, "NaN"),
                       (square[:0], "no images")]:
        with pytest.raises(DataError, match=words):
            input_images(bad, 3, "t")
    assert resized_images(square, 4, 4, "t").shape == (2, 4, 4, 3)
    assert resized_images(square, 8, 8, "t") is square
    with pytest.raises(DataError, match="got 16x8, which resizing would distort.*left half"):
        resized_images(rng.random((1, 8, 16, 3), dtype=np.float32), 4, 4, "t")


# -- a weights file's header is read once per load -------------------------------------------


@pytest.fixture
def header_reads(monkeypatch):
    """Every file ``weights.read_header`` is asked to read, in order."""
    from genzoo_core import weights as weights_io

    reads = []
    original = weights_io.read_header

    def counting(path):
        reads.append(Path(path).name)
        return original(path)

    monkeypatch.setattr(weights_io, "read_header", counting)
    return reads


@pytest.fixture
def trained_on_toy(toy_model, tmp_path):
    """The untrained toy model saved as ``toy.h5``, recording the toy dataset."""
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path), metadata={"dataset": "toy-data:train"})
    return path


def test_loading_a_path_reads_its_header_once(trained_on_toy, header_reads):
    genzoo_core.load(str(trained_on_toy))
    assert header_reads == ["toy.h5"]


def test_the_cli_reads_a_files_header_once(trained_on_toy, header_reads, tmp_path, capsys):
    assert run_cli(["info", str(trained_on_toy)], None, capsys)[0] == 0
    assert header_reads == ["toy.h5"]
    header_reads.clear()
    argv = ["sample", str(trained_on_toy), "-n", "2", "-o", str(tmp_path / "grid.png")]
    assert run_cli(argv, None, capsys)[0] == 0
    assert header_reads == ["toy.h5"]


def test_evaluating_a_path_reads_its_header_once(trained_on_toy, header_reads):
    from genzoo_core.evaluation import evaluate

    report = evaluate(str(trained_on_toy), metrics="fid", n=64, features="toy-pixels",
                      verbose=0)
    assert report["settings"]["real"]["dataset"] == "toy-data:test"  # the recorded dataset
    assert header_reads == ["toy.h5"]


def test_resuming_reads_the_checkpoints_header_once(toy_registry, toy_data, tmp_path,
                                                    header_reads):
    from genzoo_core import Trainer

    out = tmp_path / "run"
    genzoo_core.train("toygan", toy_data, out, epochs=1, verbose=0, preview_count=0)
    header_reads.clear()
    genzoo_core.train("toygan", toy_data, out, epochs=2, verbose=0, preview_count=0)
    assert header_reads == ["checkpoint.h5"]  # read to build the model, then resumed from
    header_reads.clear()
    Trainer(genzoo_core.create("toygan"), out, verbose=0, preview_count=0).fit(toy_data, epochs=3)
    assert header_reads == ["checkpoint.h5"]
