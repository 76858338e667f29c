"""Tests of genzoo_core.features: the registered extractors and the shipped classifiers."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from conftest import require_data

import genzoo_core
from genzoo_core import features
from genzoo_core.errors import DataError, UnknownNameError, WeightsError

SHIPPED = ("mnist-cnn", "fashion-mnist-cnn")


@pytest.fixture(scope="module")
def mnist_cnn():
    return genzoo_core.get_feature_extractor("mnist-cnn")


def test_registry_lists_the_builtin_extractors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    extractors = genzoo_core.Registry(path=[str(empty)]).feature_extractors
    assert {"inception-v3", *SHIPPED} <= set(extractors)
    assert extractors["inception-v3"].feature_dim == 2048
    for name in SHIPPED:
        spec = extractors[name]
        facts = features.shipped_extractors()[name]
        assert spec.image_shape == (28, 28, 1)
        assert spec.num_classes == 10
        assert spec.feature_dim == facts["feature_dim"]
        assert spec.sha256 == facts["sha256"]
        assert spec.metrics["test_accuracy"] == facts["test_accuracy"]


def test_manifest_matches_the_shipped_files():
    from genzoo_core._files import sha256_file

    manifest = features.shipped_extractors()
    assert set(SHIPPED) <= set(manifest)
    assert manifest["mnist-cnn"]["test_accuracy"] >= 0.993
    assert manifest["fashion-mnist-cnn"]["test_accuracy"] >= 0.92
    for name in SHIPPED:
        path = features.EXTRACTOR_DIR / manifest[name]["file"]
        assert path.stat().st_size < 2_000_000
        assert sha256_file(path) == manifest[name]["sha256"]


@pytest.mark.parametrize(
    ("name", "loader", "data_file", "minimum"),
    [
        ("mnist-cnn", "load_mnist", "mnist.npz", 0.99),
        (
            "fashion-mnist-cnn",
            "load_fashion_mnist",
            "fashion-mnist/t10k-images-idx3-ubyte.gz",
            0.90,
        ),
    ],
)
def test_shipped_classifier_on_real_test_images(name, loader, data_file, minimum):
    require_data(data_file)
    from genzoo_core import data

    test = getattr(data, loader)("test").take(2000)
    extractor = genzoo_core.get_feature_extractor(name)
    feats, probabilities = extractor.extract(test.images.astype(np.float32) / 255.0)
    assert feats.shape == (2000, extractor.feature_dim)
    assert extractor.feature_dim == features.shipped_extractors()[name]["feature_dim"]
    assert np.all(np.isfinite(feats))
    assert probabilities.shape == (2000, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    accuracy = np.mean(np.argmax(probabilities, axis=1) == test.labels)
    assert accuracy >= minimum, f"{name}: accuracy {accuracy:.4f} on 2,000 test images"


def test_extractor_features_do_not_depend_on_the_batch(mnist_cnn):
    images = np.random.default_rng(0).random((7, 28, 28, 1), dtype=np.float32)
    whole, _ = mnist_cnn.extract(images)
    single, _ = mnist_cnn.extract(images[3:4])
    np.testing.assert_allclose(single[0], whole[3], rtol=1e-4, atol=1e-5)


def test_wrong_image_shape_names_the_extractor(mnist_cnn):
    with pytest.raises(DataError, match="mnist-cnn"):
        mnist_cnn.extract(np.zeros((2, 32, 32, 3), np.float32))


@pytest.mark.parametrize(
    "bad",
    [
        np.full((2, 28, 28, 1), np.nan, np.float32),
        np.full((2, 28, 28, 1), 255.0, np.float32),
        np.full((2, 28, 28, 1), -0.5, np.float32),
    ],
    ids=["nan", "above-one", "negative"],
)
def test_invalid_pixel_values_are_refused(mnist_cnn, bad):
    with pytest.raises(DataError):
        mnist_cnn.extract(bad)


def test_tampered_weights_fail_the_sha256_check(tmp_path, monkeypatch):
    folder = tmp_path / "extractors"
    shutil.copytree(features.EXTRACTOR_DIR, folder)
    path = folder / features.shipped_extractors()["mnist-cnn"]["file"]
    data = bytearray(path.read_bytes())
    for offset in (len(data) // 2, len(data) - 100):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setattr(features, "EXTRACTOR_DIR", folder)
    monkeypatch.setattr(features, "MANIFEST", folder / "manifest.json")
    with pytest.raises(WeightsError, match="sha256"):
        genzoo_core.get_feature_extractor("mnist-cnn")


def test_missing_weights_file_is_a_weights_error(tmp_path, monkeypatch):
    folder = tmp_path / "extractors"
    shutil.copytree(features.EXTRACTOR_DIR, folder)
    (folder / features.shipped_extractors()["fashion-mnist-cnn"]["file"]).unlink()
    monkeypatch.setattr(features, "EXTRACTOR_DIR", folder)
    monkeypatch.setattr(features, "MANIFEST", folder / "manifest.json")
    with pytest.raises(WeightsError, match="missing"):
        features.fashion_mnist_cnn()


def test_untrained_inception_v3_takes_small_grey_images():
    extractor = features.inception_v3(weights=None)
    images = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    feats, probabilities = extractor.extract(images)
    assert feats.shape == (2, 2048)
    assert probabilities.shape == (2, 1000)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_inception_v3_offline_without_cached_weights(tmp_path, monkeypatch):
    import keras.src.backend.config as keras_config

    empty = tmp_path / "keras-home"
    empty.mkdir()
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(empty))
    monkeypatch.setenv("GENZOO_OFFLINE", "1")
    with pytest.raises(WeightsError, match=re.escape(features.INCEPTION_WEIGHTS)):
        genzoo_core.get_feature_extractor("inception-v3")


def test_unknown_extractor_suggests_a_close_match():
    with pytest.raises(UnknownNameError, match="Did you mean: .*mnist-cnn"):
        genzoo_core.get_feature_extractor("mnist-cn")
