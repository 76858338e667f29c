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
        assert f.attrs["format_version"] == weights_io.FORMAT_VERSION == 2
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

    from genzoo_core import weights_format

    monkeypatch.setattr(weights_format, "_component_variables", explode)
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


# -- hostile files: each is refused before anything changes ---------------------------


def saved(model, tmp_path, name="toy.h5"):
    path = tmp_path / name
    model.save_weights(str(path))
    return path


def saved_checkpoint(model, tmp_path):
    """``model`` with its optimizer state and an epoch, as the trainer saves a checkpoint."""
    path = tmp_path / "ckpt.h5"
    model.compile()
    model.build_optimizers()
    weights_io.save_weights(model, path, optimizers=model.optimizers, training_state={"epoch": 1})
    return path


def rewrite_dataset(path, key, value):
    """Replace one stored variable with ``value`` (keeping its 'path' attribute)."""
    with h5py.File(path, "r+") as f:
        attrs = dict(f[key].attrs)
        del f[key]
        f.create_dataset(key, data=value, fletcher32=True)
        f[key].attrs.update({k: v for k, v in attrs.items() if k == "path"})


def write_format_1(path):
    """Rewrite a file as format 1 wrote it: no checksums, format_version 1."""
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 1
        keys = []
        f.visititems(lambda k, o: keys.append(k) if isinstance(o, h5py.Dataset) else None)
        for key in keys:
            value, attrs = f[key][()], dict(f[key].attrs)
            del f[key]
            f.create_dataset(key, data=value)
            f[key].attrs["path"] = attrs["path"]


@pytest.mark.parametrize("bad, message", [
    ("abc", "format_version 'abc'"),
    (0, "format_version 0"),
    (1.5, "format_version 1.5"),
    (99, "format 99, newer than"),
])
def test_unreadable_format_versions_are_refused_with_the_versions_this_core_reads(
    toy_model, tmp_path, bad, message
):
    path = saved(toy_model, tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = bad
    with pytest.raises(WeightsError, match=message) as info:
        weights_io.read_header(path)
    assert "formats 1 to 2" in str(info.value)


@pytest.mark.parametrize("config, message", [
    ("[1, 2]", "'config' attribute is a JSON list, not an object"),
    ("{not json", "'config' attribute is not valid JSON"),
    ('"text"', "JSON str, not an object"),
])
def test_malformed_config_metadata_is_one_clear_error(toy_model, tmp_path, config, message):
    path = saved(toy_model, tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["config"] = config
    with pytest.raises(WeightsError, match=message):
        weights_io.read_header(path)


def test_config_values_the_schema_refuses_name_the_key(toy_registry, toy_model, tmp_path):
    path = saved(toy_model, tmp_path)
    for key, value, words in [
        ("latent_dim", "three", "'latent_dim' must be an integer"),
        ("learning_rate", -1, "'learning_rate' must be a number in (0, 1]"),
    ]:
        with h5py.File(path, "r+") as f:
            config = json.loads(f.attrs["config"])
            f.attrs["config"] = json.dumps({**config, key: value})
        with pytest.raises(genzoo_core.GenzooError) as info:
            genzoo_core.load(str(path))
        assert words in str(info.value) and str(path) in str(info.value)
        saved(toy_model, tmp_path)


def test_a_config_the_model_cannot_build_is_one_error_naming_the_file(
    toy_registry, toy_model, tmp_path
):
    path = saved(toy_model, tmp_path)
    with h5py.File(path, "r+") as f:  # a negative size the toy's schema leaves to the model
        f.attrs["config"] = json.dumps({**json.loads(f.attrs["config"]), "units": -16})
    with pytest.raises(WeightsError) as info:
        genzoo_core.load(str(path))
    assert str(path) in str(info.value) and "units" in str(info.value)


def test_a_config_edited_to_huge_widths_is_refused_before_the_model_is_built(
    toy_registry, toy_model, tmp_path, monkeypatch
):
    from genzoo_core import api

    def never(*args, **kwargs):
        raise AssertionError("a model was built from the edited config")

    monkeypatch.setattr(api, "build_model", never)
    path = saved(toy_model, tmp_path)
    for units, words in [
        (10**9, "config key 'units' must be an integer in (-inf, 4096]"),  # the schema's bound
        # within the bound, but not what the file holds: the abstract build tells
        (4096, "generator/hidden/kernel: file has shape (3, 8), model has (3, 4096)"),
    ]:
        with h5py.File(path, "r+") as f:
            f.attrs["config"] = json.dumps({**json.loads(f.attrs["config"]), "units": units})
        with pytest.raises(WeightsError) as info:
            genzoo_core.load(str(path))
        assert words in str(info.value)
    assert "does not fit the 'toygan' model its own config describes" in str(info.value)


@pytest.mark.parametrize("value, words", [
    (np.array([["a"] * 8] * 3, dtype="S1"), "file stores bytes8"),
    (np.full((3, 8), np.nan, "float32"), "NaN or infinite"),
    (np.full((3, 8), np.inf, "float32"), "NaN or infinite"),
    (np.ones((3, 8), "complex64"), "file stores complex64"),
    (np.ones((3, 8), "int32"), "file stores int32"),
    (np.ones((3, 7), "float32"), "file has shape (3, 7)"),
])
def test_bad_variables_are_refused_and_nothing_is_assigned(toy_model, tmp_path, value, words):
    path = saved(toy_model, tmp_path)
    other = genzoo_core.create("toygan")
    rewrite_dataset(path, "components/generator/hidden/kernel", value)
    before = all_weights(other)
    with pytest.raises(WeightsError) as info:
        other.load_weights(str(path))
    assert words.replace("bytes8", "bytes") in str(info.value) or words in str(info.value)
    for key, array in before.items():  # every variable, before and after the bad one
        np.testing.assert_array_equal(array, all_weights(other)[key], err_msg=key)


def test_an_assignment_that_fails_midway_puts_back_what_it_had_assigned(
    toy_model, tmp_path, monkeypatch
):
    path = saved(toy_model, tmp_path)
    other = genzoo_core.create("toygan")
    before = all_weights(other)
    victim = other.discriminator.get_layer("logit").kernel
    original = type(victim).assign

    def assign(self, value):
        if self is victim:
            raise RuntimeError("device lost")
        return original(self, value)

    monkeypatch.setattr(type(victim), "assign", assign)
    with pytest.raises(WeightsError, match="the model is unchanged"):
        other.load_weights(str(path))
    monkeypatch.setattr(type(victim), "assign", original)
    for key, array in before.items():
        np.testing.assert_array_equal(array, all_weights(other)[key], err_msg=key)


def test_every_variable_carries_a_checksum(toy_model, tmp_path):
    path = saved_checkpoint(toy_model, tmp_path)
    with h5py.File(path, "r") as f:
        datasets = []
        f.visititems(lambda k, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
        assert any(d.ndim == 0 for d in datasets)  # the optimizers' iteration counters
        for dataset in datasets:
            assert dataset.fletcher32 or weights_io.CRC_ATTR in dataset.attrs, dataset.name


def flip_byte(path, dataset_key, offset=3):
    with h5py.File(path, "r") as f:
        dataset = f[dataset_key]
        start = (dataset.id.get_chunk_info(0).byte_offset if dataset.chunks
                 else dataset.id.get_offset())
    with open(path, "r+b") as f:
        f.seek(start + offset)
        byte = f.read(1)[0]
        f.seek(start + offset)
        f.write(bytes([byte ^ 0x40]))


def test_a_damaged_byte_in_a_weight_array_is_detected(toy_model, tmp_path):
    path = saved(toy_model, tmp_path)
    flip_byte(path, "components/generator/hidden/kernel")
    other = genzoo_core.create("toygan")
    before = all_weights(other)
    with pytest.raises(WeightsError, match="generator/hidden/kernel fails its checksum"):
        other.load_weights(str(path))
    for key, array in before.items():
        np.testing.assert_array_equal(array, all_weights(other)[key], err_msg=key)


def test_a_damaged_scalar_fails_its_crc(toy_model, tmp_path):
    path = saved_checkpoint(toy_model, tmp_path)
    with h5py.File(path, "r+") as f:
        key = next(k for k in f["optimizers/generator"] if f["optimizers/generator"][k].ndim == 0)
        f[f"optimizers/generator/{key}"][()] = 12345
    other = genzoo_core.create("toygan")
    other.compile()
    other.build_optimizers()
    with pytest.raises(WeightsError, match="fails its crc32 checksum"):
        weights_io.load_weights(other, path, optimizers=other.optimizers)


def test_format_1_files_still_load_and_format_2_files_need_their_checksums(
    toy_model, tmp_path
):
    path = saved(toy_model, tmp_path)
    write_format_1(path)
    other = genzoo_core.create("toygan")
    header = weights_io.load_weights(other, path)
    assert header.format_version == 1
    np.testing.assert_array_equal(other.sample(4, seed=0), toy_model.sample(4, seed=0))
    with h5py.File(path, "r+") as f:  # a format-2 label on checksum-less variables
        f.attrs["format_version"] = 2
    with pytest.raises(WeightsError, match="has no checksum"):
        genzoo_core.create("toygan").load_weights(str(path))


def test_a_dataset_declared_larger_than_what_it_holds_is_refused_unread(toy_model, tmp_path):
    path = saved(toy_model, tmp_path)
    with h5py.File(path, "r+") as f:
        del f["components/generator/hidden/kernel"]
        # declared but never written: HDF5 would hand back fill values
        f.create_dataset("components/generator/hidden/kernel", shape=(3, 8), dtype="f4",
                         fletcher32=True)
    with pytest.raises(WeightsError, match="declares 96 bytes but holds 0"):
        genzoo_core.create("toygan").load_weights(str(path))
