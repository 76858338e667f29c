"""The HDF5 weights file: round trip, plain-h5py readability, and every bad input."""

from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest

import genzoo_core
from genzoo_core import WeightsError
from genzoo_core import weights as weights_io


def all_weights(model):
    """Every parameter (Dropout's RNG state is not one, and is not saved)."""
    return {v.path: v.numpy().copy() for v in model.variables
            if v.name != "seed_generator_state"}


def test_round_trip_is_exact_and_carries_metadata(toy_model, tmp_path):
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path), metadata={
        "dataset": "toy:train", "training_command": "genzoo train toygan", "metrics": {"fid": 1.5},
    })
    other = genzoo_core.create("toygan")
    assert any(not np.array_equal(a, b) for a, b in zip(
        all_weights(toy_model).values(), all_weights(other).values()))
    other.load_weights(str(path))
    for (key, a), b in zip(all_weights(toy_model).items(), all_weights(other).values()):
        np.testing.assert_array_equal(a, b, err_msg=key)
    header = weights_io.read_header(path)
    assert header.model == "toygan" and header.config == toy_model.config
    assert header.metadata["dataset"] == "toy:train"
    assert header.metadata["training_command"] == "genzoo train toygan"
    assert header.metadata["metrics"] == {"fid": 1.5}
    assert header.metadata["plugin"] == "genzoo-toy"
    assert header.metadata["plugin_version"] == "0.0.1"
    for key in ("api_version", "keras_version", "tensorflow_version", "core_version", "created"):
        assert header.metadata[key]


def test_file_is_readable_with_plain_h5py(toy_model, tmp_path):
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path))
    with h5py.File(path, "r") as f:
        assert f.attrs["genzoo_format"] == "genzoo-weights"
        assert f.attrs["format_version"] == 1
        assert json.loads(f.attrs["config"])["latent_dim"] == 3
        kernel = f["components/generator/hidden/kernel"]
        assert kernel.attrs["path"].endswith("hidden/kernel")
        np.testing.assert_array_equal(kernel[()], toy_model.generator.get_layer("hidden").kernel)
        assert set(f["components"]) == {"generator", "discriminator"}
        # arrays and strings only: nothing pickled, no code
        def check(name, obj):
            if isinstance(obj, h5py.Dataset):
                assert obj.dtype.kind in "fiu", name
        f.visititems(check)


def test_load_by_path_rebuilds_from_the_stored_config(toy_registry, tmp_path):
    model = genzoo_core.create("toygan", units=5)
    path = tmp_path / "small.h5"
    model.save_weights(str(path))
    loaded = genzoo_core.load(str(path))
    assert loaded.config["units"] == 5
    np.testing.assert_array_equal(loaded.sample(4, seed=1), model.sample(4, seed=1))


def test_mismatched_architecture_says_what_differs(toy_registry, tmp_path):
    path = tmp_path / "wide.h5"
    genzoo_core.create("toygan", units=16).save_weights(str(path))
    narrow = genzoo_core.create("toygan", units=8)
    before = all_weights(narrow)
    with pytest.raises(WeightsError) as info:
        narrow.load_weights(str(path))
    message = str(info.value)
    assert "generator/hidden/kernel: file has shape (3, 16), model has (3, 8)" in message
    assert "units: file 16 vs model 8" in message
    # nothing was assigned
    for a, b in zip(before.values(), all_weights(narrow).values()):
        np.testing.assert_array_equal(a, b)


def test_file_of_another_model_is_named(toy_model, tmp_path):
    path = tmp_path / "other.h5"
    toy_model.save_weights(str(path))
    with h5py.File(path, "r+") as f:
        f.attrs["model"] = "dcgan"
        f.attrs["plugin"] = "genzoo-dcgan"
    with pytest.raises(WeightsError, match="model 'dcgan' \\(genzoo-dcgan\\), not 'toygan'"):
        toy_model.load_weights(str(path))


def test_truncated_file_is_a_clear_error(toy_model, tmp_path):
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="truncated or corrupt|damaged"):
        toy_model.load_weights(str(path))
    with pytest.raises(WeightsError, match="truncated or corrupt|damaged"):
        weights_io.read_header(path)


def test_not_an_hdf5_file_and_not_a_genzoo_file(toy_model, tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_text("hello")
    with pytest.raises(WeightsError, match="not an HDF5 file"):
        toy_model.load_weights(str(junk))
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(WeightsError, match="not a genzoo weights file"):
        toy_model.load_weights(str(plain))
    with pytest.raises(WeightsError, match="does not exist"):
        toy_model.load_weights(str(tmp_path / "missing.h5"))


def test_newer_format_asks_for_an_upgrade(toy_model, tmp_path):
    path = tmp_path / "future.h5"
    toy_model.save_weights(str(path))
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(WeightsError, match="pip install -U genzoo-core"):
        weights_io.read_header(path)


def test_missing_component_and_variable(toy_model, tmp_path):
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path))
    with h5py.File(path, "r+") as f:
        del f["components/generator/hidden/bias"]
    with pytest.raises(WeightsError, match="generator/hidden/bias: in the model, not in the file"):
        toy_model.load_weights(str(path))
    with h5py.File(path, "r+") as f:
        del f["components/discriminator"]
    with pytest.raises(WeightsError, match="components \\['generator'\\], the model has"):
        toy_model.load_weights(str(path))


def test_interrupted_save_leaves_previous_file_and_no_temp(toy_model, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    path = folder / "toy.h5"
    toy_model.save_weights(str(path))
    original = path.read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(weights_io, "_component_variables", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        toy_model.save_weights(str(path))
    assert path.read_bytes() == original
    assert sorted(os.listdir(folder)) == ["toy.h5"]


def test_float16_precision_halves_the_file_and_measures_close(toy_model, tmp_path):
    full, half = tmp_path / "full.h5", tmp_path / "half.h5"
    toy_model.save_weights(str(full))
    toy_model.save_weights(str(half), precision="float16")
    with h5py.File(half, "r") as f:
        assert f["components/generator/hidden/kernel"].dtype == np.float16
        assert f.attrs["precision"] == "float16"
    restored = genzoo_core.load(str(half))
    assert restored.generator.get_layer("hidden").kernel.dtype == "float32"
    difference = np.abs(restored.sample(16, seed=0) - toy_model.sample(16, seed=0)).max()
    assert 0 < difference < 1e-2
    with pytest.raises(WeightsError, match="precision must be one of"):
        toy_model.save_weights(str(full), precision="int8")


def test_duplicate_variable_paths_are_refused(toy_model, tmp_path):
    import keras

    class Twice:
        name = "generator"
        variables = [toy_model.generator.variables[0], toy_model.generator.variables[0]]

    with pytest.raises(WeightsError, match="explicit, unique name"):
        weights_io._component_variables("generator", Twice())
    assert keras  # the real components have unique paths (round trip above)


def test_overwrite_false_refuses(toy_model, tmp_path):
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path))
    with pytest.raises(genzoo_core.GenzooError, match="overwrite=True"):
        toy_model.save_weights(str(path), overwrite=False)


def test_seed_generator_state_is_not_a_parameter(toy_model, tmp_path):
    """Dropout's SeedGenerator variables get new automatic names in every instance."""
    seed_paths = [v.path for v in toy_model.variables if v.name == "seed_generator_state"]
    assert seed_paths  # the toy discriminator has a Dropout layer
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path))
    with h5py.File(path, "r") as f:
        stored = []
        f.visit(stored.append)
    assert not any("seed_generator" in key for key in stored)
    second = genzoo_core.create("toygan")  # its seed generators are numbered differently
    assert [v.path for v in second.variables if v.name == "seed_generator_state"] != seed_paths
    second.load_weights(str(path))
    np.testing.assert_array_equal(second.sample(4, seed=0), toy_model.sample(4, seed=0))


def test_stored_seed_generator_state_is_ignored_on_load(toy_model, tmp_path):
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path))
    with h5py.File(path, "r+") as f:  # as files written by genzoo-core before 0.1.0 final
        f["components/discriminator/seed_generator_99/seed_generator_state"] = np.zeros(2)
    genzoo_core.create("toygan").load_weights(str(path))
