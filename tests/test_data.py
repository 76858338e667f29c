"""Data loaders on the real datasets in GENZOO_DATA, and on broken inputs made here."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import require_data

import genzoo_core
from genzoo_core import DataError, Trainer, UnknownNameError, read_header
from genzoo_core.data import (
    SOURCE_TYPES,
    CaptionedDataSource,
    DataSource,
    DataSourceProtocol,
    PairedDataSource,
    UnpairedDataSource,
    check_data_source,
    is_data_source,
    load_captioned_folder,
    load_data,
    load_fashion_mnist,
    load_mnist,
    load_paired_folder,
    load_unpaired_folders,
)
from genzoo_core.spec import Condition

MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def test_mnist_from_genzoo_data():
    require_data("mnist.npz")
    train, test = load_mnist("train"), load_mnist("test")
    assert train.images.shape == (60000, 28, 28, 1) and train.images.dtype == np.uint8
    assert test.images.shape == (10000, 28, 28, 1)
    assert sorted(np.unique(train.labels)) == list(range(10)) and train.num_classes == 10
    batch = next(iter(train.dataset().batch(5)))
    assert batch["images"].dtype == tf.float32 and batch["labels"].shape == (5,)
    assert 0.0 <= float(tf.reduce_min(batch["images"])) <= float(tf.reduce_max(batch["images"]))
    assert float(tf.reduce_max(batch["images"])) <= 1.0


def test_fashion_mnist_from_idx_files():
    require_data("fashion-mnist/train-images-idx3-ubyte.gz")
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    assert train.images.shape == (60000, 28, 28, 1) and len(test) == 10000
    assert np.bincount(train.labels).tolist() == [6000] * 10  # Fashion-MNIST is balanced


def test_mnist_through_keras_cache_offline(tmp_path):
    """Without GENZOO_DATA, keras.datasets reads its cache (seeded here, so no download)."""
    source = require_data("mnist.npz")
    assert hashlib.sha256(source.read_bytes()).hexdigest() == MNIST_SHA256
    keras_home = tmp_path / "keras"
    (keras_home / "datasets").mkdir(parents=True)
    os.symlink(source, keras_home / "datasets" / "mnist.npz")
    env = {k: v for k, v in os.environ.items() if k != "GENZOO_DATA"}
    env.update(KERAS_HOME=str(keras_home), TF_CPP_MIN_LOG_LEVEL="2")
    code = "from genzoo_core.data import load_mnist; print(load_mnist('test').images.shape)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(10000, 28, 28, 1)" in result.stdout
    assert "Downloading" not in result.stdout + result.stderr


def test_named_and_path_lookup(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (10, 6, 6, 3), dtype=np.uint8)
    np.savez(tmp_path / "set.npz", x_train=images, y_train=np.arange(10) % 3)
    data = load_data(str(tmp_path / "set.npz"))
    assert data.image_shape == (6, 6, 3) and data.num_classes == 3
    assert data.condition.value == "class_label"
    with pytest.raises(DataError, match="no array 'x_test'"):
        load_data(str(tmp_path / "set.npz"), "test")
    np.savez(tmp_path / "floats.npz", x_train=images.astype(np.float32))
    with pytest.raises(DataError, match="must be uint8"):
        load_data(str(tmp_path / "floats.npz"))
    with pytest.raises(DataError, match="unknown split"):
        load_mnist("validation")


def write_png(path, array):
    path.write_bytes(tf.io.encode_png(array).numpy())


def test_image_folder(tmp_path):
    folder = tmp_path / "faces"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(3):
        write_png(folder / f"{i}.png", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    write_png(folder / "sub" / "x.png", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    data = load_data(str(folder))
    assert data.images.shape == (4, 8, 8, 3) and data.labels is None
    write_png(folder / "odd.png", rng.integers(0, 256, (9, 8, 3), dtype=np.uint8))
    with pytest.raises(DataError, match="odd.png is \\(9, 8, 3\\).*same size"):
        load_data(str(folder))


def test_broken_image_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_data(str(tmp_path / "empty"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(DataError, match="cannot decode image .*broken.jpg"):
        load_data(str(bad))


def test_truncated_idx_file(tmp_path, monkeypatch):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    header = bytes([0, 0, 8, 3]) + (100).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + bytes(1000))
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(100))
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path))
    with pytest.raises(DataError, match="truncated"):
        load_fashion_mnist("train")


def test_datasource_checks():
    with pytest.raises(DataError, match="empty"):
        DataSource("e", np.zeros((0, 2, 2, 1), np.uint8))
    with pytest.raises(DataError, match="3 images but 2 labels"):
        DataSource("l", np.zeros((3, 2, 2, 1), np.uint8), np.zeros(2))
    with pytest.raises(DataError, match="uint8 NHWC"):
        DataSource("f", np.zeros((3, 2, 2, 1), np.float32))
    assert DataSource("g", np.zeros((3, 2, 2), np.uint8)).image_shape == (2, 2, 1)


def test_binarize_is_a_seeded_bernoulli_draw_of_the_intensity():
    from genzoo_core.data import binarize

    grey = np.full((200, 28, 28, 1), 64, np.uint8)
    grey[:, :, :14] = 0
    grey[:, :, 14:20] = 255
    bits = binarize(grey, seed=0)
    assert set(np.unique(bits)) == {0, 255}
    np.testing.assert_array_equal(bits, binarize(grey, seed=0))
    assert not np.array_equal(bits, binarize(grey, seed=1))
    assert (bits[:, :, :14] == 0).all() and (bits[:, :, 14:20] == 255).all()
    ones = (bits[:, :, 20:] == 255).mean()
    assert abs(ones - 64 / 255) < 0.01, ones  # 200*28*8 draws: std error ~0.002


def test_binarized_mnist_fixes_the_test_bits_and_redraws_the_train_bits():
    require_data("mnist.npz")
    from genzoo_core.data import BINARIZATION_SEED, binarize, load_binarized_mnist

    test = load_data("binarized-mnist", "test")
    assert test.name == "binarized-mnist:test" and not test.dynamic_binarization
    np.testing.assert_array_equal(test.images,
                                  binarize(load_mnist("test").images, BINARIZATION_SEED))
    np.testing.assert_array_equal(test.images, load_binarized_mnist("test").images)
    train = load_binarized_mnist("train").take(256)
    assert train.dynamic_binarization and train.images.max() == 255
    first, second = (next(iter(train.dataset(batch_size=256)))["images"].numpy()
                     for _ in range(2))
    assert set(np.unique(first)) == {0.0, 1.0}
    assert not np.array_equal(first, second)
    # the bits average out to the grey intensities
    mean_grey = train.images.astype(np.float64).mean() / 255
    assert abs(first.mean() - mean_grey) < 0.01


# -- image-to-image layouts ----------------------------------------------------------


def write_jpeg(path, array):
    path.write_bytes(tf.io.encode_jpeg(array, quality=95).numpy())


def make_pairs(folder, n=3, height=16, seed=0):
    """pix2pix side-by-side pairs: the left half dark, the right half bright."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        left = rng.integers(0, 60, (height, height, 3), dtype=np.uint8)
        right = rng.integers(190, 256, (height, height, 3), dtype=np.uint8)
        write_png(folder / f"{i + 1}.png", np.concatenate([left, right], axis=1))


def test_paired_folder_reads_halves_in_either_direction(tmp_path):
    make_pairs(tmp_path / "pairs" / "train", n=3)
    make_pairs(tmp_path / "pairs" / "val", n=2, seed=1)
    train = load_paired_folder(tmp_path / "pairs", "train", image_size=8)
    assert train.inputs.shape == train.targets.shape == (3, 8, 8, 3)
    assert train.inputs.max() < 100 < train.targets.min()  # A = left, B = right
    assert train.jitter and train.mirror and train.files == ("1.png", "2.png", "3.png")
    test = load_paired_folder(tmp_path / "pairs", "test", image_size=8)  # no test/: val/
    assert len(test) == 2 and not test.jitter and not test.mirror
    backwards = load_paired_folder(tmp_path / "pairs", "train", image_size=8, direction="BtoA")
    np.testing.assert_array_equal(backwards.inputs, train.targets)
    assert backwards.direction == "BtoA" and backwards.reversed().direction == "AtoB"
    # A folder of pairs works as well as the dataset root; load_data picks the layout.
    assert len(load_paired_folder(tmp_path / "pairs" / "val")) == 2
    assert isinstance(load_data(str(tmp_path / "pairs"), condition="paired_image"),
                      PairedDataSource)
    native = load_paired_folder(tmp_path / "pairs")  # image_size=None keeps 16x16
    assert native.image_shape == (16, 16, 3) and native.resized(8).image_shape == (8, 8, 3)


def test_paired_jitter_crops_and_flips_input_and_target_alike():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    source = PairedDataSource("same", images, images.copy(), jitter=True, mirror=True)
    tf.random.set_seed(0)
    seen_changes = 0
    for _ in range(2):  # two epochs, different random crops
        for example in source.dataset(shuffle=True, seed=0, batch_size=3):
            inputs, targets = example["inputs"].numpy(), example["images"].numpy()
            assert inputs.shape == (3, 16, 16, 3)
            np.testing.assert_allclose(inputs, targets, atol=1e-6)  # the same jitter
            originals = images.astype(np.float32) / 255.0
            seen_changes += not any(np.allclose(x, o, atol=1e-6) for x in inputs
                                    for o in originals)
    assert seen_changes > 0  # the jitter does change the images
    plain = PairedDataSource("plain", images, images)  # no jitter: the images themselves
    first = next(iter(plain.dataset(batch_size=6)))["inputs"].numpy()
    np.testing.assert_allclose(first, images / 255.0, atol=1e-6)


def test_unpaired_source_shuffles_domains_independently():
    a = np.stack([np.full((8, 8, 3), i, np.uint8) for i in range(5)])
    b = np.stack([np.full((8, 8, 3), 100 + i, np.uint8) for i in range(3)])
    source = UnpairedDataSource("ab", a, b)
    assert len(source) == 5 and source.condition.value == "unpaired_domains"
    examples = list(source.dataset(shuffle=True, seed=0))
    assert len(examples) == 5
    seen_a = sorted(round(float(e["images_a"][0, 0, 0]) * 255) for e in examples)
    seen_b = [round(float(e["images_b"][0, 0, 0]) * 255) - 100 for e in examples]
    assert seen_a == [0, 1, 2, 3, 4]  # every A image once per epoch
    assert set(seen_b) == {0, 1, 2}  # the smaller domain repeats
    with pytest.raises(DataError, match="domain B is empty"):
        UnpairedDataSource("x", a, b[:0])
    with pytest.raises(DataError, match="both must share one size"):
        UnpairedDataSource("x", a, np.zeros((2, 4, 4, 3), np.uint8))


def test_unpaired_folders_and_their_errors(tmp_path):
    root = tmp_path / "horse2zebra"
    rng = np.random.default_rng(0)
    for folder, count in (("trainA", 3), ("trainB", 2), ("testA", 1), ("testB", 1)):
        (root / folder).mkdir(parents=True)
        for i in range(count):
            write_jpeg(root / folder / f"{i}.jpg", rng.integers(0, 256, (12, 12, 3), np.uint8))
    data = load_data(str(root))  # a folder with trainA/ is read as two domains
    assert isinstance(data, UnpairedDataSource) and data.images_a.shape == (3, 12, 12, 3)
    assert len(data) == 3 and data.jitter
    test = load_unpaired_folders(root, "test", image_size=8)
    assert test.images_b.shape == (1, 8, 8, 3) and not test.jitter
    write_png(root / "trainB" / "grey.png", np.zeros((12, 12, 1), np.uint8))
    with pytest.raises(DataError, match="grey.png has 1 channel"):
        load_unpaired_folders(root)
    (root / "trainB" / "grey.png").unlink()
    write_jpeg(root / "trainB" / "big.jpg", np.zeros((20, 12, 3), np.uint8))
    with pytest.raises(DataError, match="big.jpg is 12x20 but 0.jpg is 12x12"):
        load_unpaired_folders(root)
    (root / "trainB" / "big.jpg").write_bytes(b"\xff\xd8\xff truncated")
    with pytest.raises(DataError, match="cannot read .*big.jpg as an image"):
        load_unpaired_folders(root)
    for file in (root / "trainB").iterdir():
        file.unlink()
    with pytest.raises(DataError, match="trainB holds no images"):
        load_unpaired_folders(root)
    (root / "trainB").rmdir()
    with pytest.raises(DataError, match="no trainB/ folder"):
        load_unpaired_folders(root)


def test_paired_folder_errors_name_the_file(tmp_path):
    folder = tmp_path / "train"
    make_pairs(folder, n=2)
    write_png(folder / "square.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(DataError, match="square.png is 16x16: .*twice as wide"):
        load_paired_folder(tmp_path)
    write_png(folder / "square.png", np.zeros((8, 16, 3), np.uint8))
    with pytest.raises(DataError, match="square.png is 16x8 but 1.png is 32x16"):
        load_paired_folder(tmp_path)
    write_png(folder / "square.png", np.zeros((16, 32, 4), np.uint8))
    with pytest.raises(DataError, match="square.png has 4 channel"):
        load_paired_folder(tmp_path)
    with pytest.raises(DataError, match="direction must be"):
        load_paired_folder(tmp_path, direction="sideways")
    with pytest.raises(DataError, match="no val/ folder"):
        load_paired_folder(tmp_path, "val")
    with pytest.raises(DataError, match="image_size must be"):
        load_paired_folder(tmp_path, image_size=2)


@pytest.mark.parametrize(("name", "distribution"), [
    ("maps", "genzoo-pix2pix"), ("summer2winter", "genzoo-cyclegan"),
])
def test_a_plugins_dataset_without_its_plugin_names_what_to_install(name, distribution):
    """The core registers no maps or summer2winter: their plugins declare them."""
    with pytest.raises(UnknownNameError) as info:
        load_data(name, "test")
    assert str(info.value) == (f"dataset '{name}' comes with the {distribution} plugin, which "
                               f"is not installed: pip install {distribution}")


# -- captioned images ----------------------------------------------------------------


def test_captioned_source_draws_each_images_captions():
    images = np.stack([np.full((8, 8, 3), i, np.uint8) for i in range(4)])
    captions = [("a0", "a1"), ("b0",), ("c0", "c1", "c2"), ("d0", "d1")]
    source = CaptionedDataSource("toy", images, captions)
    assert source.condition.value == "text" and len(source) == 4
    dataset = source.dataset(shuffle=True, seed=0)
    drawn: dict[int, set[str]] = {i: set() for i in range(4)}
    for _ in range(30):  # many epochs: every caption of every image turns up
        for example in dataset:
            index = round(float(example["images"][0, 0, 0]) * 255)
            drawn[index].add(example["captions"].numpy().decode())
    assert drawn == {i: set(c) for i, c in enumerate(captions)}
    embedded = CaptionedDataSource(
        "e", images, [(f"{i}a", f"{i}b") for i in range(4)],
        np.arange(24, dtype=np.float32).reshape(4, 2, 3),
    )
    for example in embedded.dataset(seed=1):
        caption = example["captions"].numpy().decode()
        row = int(caption[0]) * 2 + (caption[1] == "b")  # that caption's embedding
        np.testing.assert_array_equal(example["embeddings"], np.arange(3) + 3 * row)
    with pytest.raises(DataError, match="needs at least one non-empty caption"):
        CaptionedDataSource("bad", images, [("a",), (), ("c",), ("d",)])
    with pytest.raises(DataError, match="4 images but 3 caption lists"):
        CaptionedDataSource("bad", images, captions[:3])
    with pytest.raises(DataError, match="embeddings must have shape"):
        source.with_embeddings(np.zeros((4, 2, 3), np.float32))  # caption counts differ


def write_captioned(root, names, size=8, embeddings=False):
    rng = np.random.default_rng(0)
    for name in names:
        (root / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "text" / name).parent.mkdir(parents=True, exist_ok=True)
        write_png(root / "images" / f"{name}.png", rng.integers(0, 256, (size, size, 3), np.uint8))
        (root / "text" / f"{name}.txt").write_text(f"a bird called {name}\nanother {name}\n")
        if embeddings:
            (root / "embeddings" / name).parent.mkdir(parents=True, exist_ok=True)
            np.save(root / "embeddings" / f"{name}.npy", rng.random((2, 5)).astype(np.float32))


def test_captioned_folder_in_the_cub_layout(tmp_path):
    root = tmp_path / "birds"
    names = ["001.Albatross/a1", "001.Albatross/a2", "002.Auklet/b1"]
    write_captioned(root, names, embeddings=True)
    (root / "train.txt").write_text("001.Albatross/a1\n002.Auklet/b1\n")
    (root / "test.txt").write_text("001.Albatross/a2\n")
    train = load_data(str(root))  # a folder with text/ is read as captioned images
    assert isinstance(train, CaptionedDataSource) and len(train) == 2
    assert train.captions[1] == ("a bird called 002.Auklet/b1", "another 002.Auklet/b1")
    assert train.embeddings.shape == (2, 2, 5)
    test = load_captioned_folder(root, "test", image_size=16)
    assert test.images.shape == (1, 16, 16, 3)
    np.save(root / "embeddings" / "002.Auklet" / "b1.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(DataError, match="b1.npy has shape \\(3, 5\\); expected \\(2, dim\\)"):
        load_captioned_folder(root)
    (root / "embeddings" / "002.Auklet" / "b1.npy").unlink()
    with pytest.raises(DataError, match="cannot read .*b1.npy"):
        load_captioned_folder(root)
    (root / "text" / "001.Albatross" / "a1.txt").write_text("\n  \n")
    with pytest.raises(DataError, match="a1.txt holds no captions"):
        load_captioned_folder(root)
    (root / "text" / "001.Albatross" / "a1.txt").unlink()
    with pytest.raises(DataError, match="a1.txt is missing"):
        load_captioned_folder(root)
    with pytest.raises(DataError, match="has no images/ folder"):
        load_captioned_folder(tmp_path)


def test_captioned_folder_without_split_files(tmp_path):
    write_captioned(tmp_path, ["2", "10", "1"])
    train = load_captioned_folder(tmp_path)
    assert [c[0] for c in train.captions] == ["a bird called 1", "a bird called 2",
                                              "a bird called 10"]
    with pytest.raises(DataError, match="no test.txt"):
        load_captioned_folder(tmp_path, "test")
    write_png(tmp_path / "images" / "10.png", np.zeros((9, 8, 3), np.uint8))
    with pytest.raises(DataError, match="10.png is 8x9 but 1.png is 8x8: pass image_size"):
        load_captioned_folder(tmp_path)


# -- bad arrays: every one a DataError naming the data and what to do ----------------------


def save_npz(tmp_path, name="set.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def test_npz_with_empty_images_or_bad_labels(tmp_path):
    images = np.zeros((6, 4, 4, 1), np.uint8)
    with pytest.raises(DataError, match=r"empty.npz: x_train holds no images"):
        load_data(save_npz(tmp_path, "empty.npz", x_train=images[:0], y_train=np.zeros(0, int)))
    with pytest.raises(DataError, match=r"neg.npz: label -1 is outside.*y_train.*renumber"):
        load_data(save_npz(tmp_path, "neg.npz", x_train=images, y_train=np.array([0, 1, -1] * 2)))
    with pytest.raises(DataError, match=r"float.npz: y_train holds 0.5.*whole numbers"):
        load_data(save_npz(tmp_path, "float.npz", x_train=images, y_train=np.full(6, 0.5)))
    with pytest.raises(DataError, match=r"nan.npz: y_train holds NaN"):
        load_data(save_npz(tmp_path, "nan.npz", x_train=images,
                           y_train=np.array([0, 1, np.nan, 0, 1, 0])))
    with pytest.raises(DataError, match=r"str.npz: y_train must be integer class labels"):
        load_data(save_npz(tmp_path, "str.npz", x_train=images, y_train=np.array(["a"] * 6)))
    with pytest.raises(DataError, match=r"short.npz: 6 images but 5 labels"):
        load_data(save_npz(tmp_path, "short.npz", x_train=images, y_train=np.zeros(5, int)))
    with pytest.raises(DataError, match=r"onehot.npz: y_train has shape \(6, 3\).*argmax"):
        load_data(save_npz(tmp_path, "onehot.npz", x_train=images,
                           y_train=np.eye(3)[np.arange(6) % 3]))
    # Whole-number float labels and Keras' (n, 1) label columns are fine.
    data = load_data(save_npz(tmp_path, "ok.npz", x_train=images,
                              y_train=(np.arange(6) % 3).astype(np.float32)[:, None]))
    assert data.labels.tolist() == [0, 1, 2, 0, 1, 2] and data.labels.dtype.kind == "i"
    assert data.num_classes == 3


def test_npz_with_images_of_the_wrong_kind(tmp_path):
    with pytest.raises(DataError, match=r"unit.npz: x_train.*float32 in \[0, 1\].*\* 255"):
        load_data(save_npz(tmp_path, "unit.npz", x_train=np.full((4, 4, 4, 1), 0.5, np.float32)))
    with pytest.raises(DataError, match=r"nan.npz: x_train must be uint8.*holds NaN"):
        load_data(save_npz(tmp_path, "nan.npz", x_train=np.full((4, 4, 4, 1), np.nan)))
    with pytest.raises(DataError,
                       match=r"wide.npz: x_train must be uint8.*int64 with values up to 1000"):
        load_data(save_npz(tmp_path, "wide.npz", x_train=np.full((4, 4, 4, 1), 1000)))
    with pytest.raises(DataError, match=r"flat.npz: x_train has shape \(4, 16\).*NHWC"):
        load_data(save_npz(tmp_path, "flat.npz", x_train=np.zeros((4, 16), np.uint8)))
    with pytest.raises(DataError, match=r"zero.npz: x_train has shape \(4, 0, 4, 1\).*empty"):
        load_data(save_npz(tmp_path, "zero.npz", x_train=np.zeros((4, 0, 4, 1), np.uint8)))
    with pytest.raises(DataError,
                       match=r"ints.npz: x_train must be uint8.*int64.*astype\(np.uint8\)"):
        load_data(save_npz(tmp_path, "ints.npz", x_train=np.full((4, 4, 4, 1), 7)))


def test_datasource_checks_its_labels_and_shape():
    images = np.zeros((4, 2, 2, 1), np.uint8)
    with pytest.raises(DataError, match=r"l: label 5 is outside \[0, 3\)"):
        DataSource("l", images, np.array([0, 1, 2, 5]), 3)
    with pytest.raises(DataError, match=r"n: label -1 is outside"):
        DataSource("n", images, np.array([0, -1, 1, 1]))
    with pytest.raises(DataError, match=r"f: labels must be integer class labels, got float64"):
        DataSource("f", images, np.array([0.0, 1.0, 0.5, 1.0]))
    assert DataSource("c", images, np.array([0, 2, 1, 1])).num_classes == 3
    with pytest.raises(DataError, match=r"z: images have shape \(4, 2, 0, 1\)"):
        DataSource("z", np.zeros((4, 2, 0, 1), np.uint8))
    with pytest.raises(DataError, match=r"d: images have shape \(4, 2, 2, 1, 1\)"):
        DataSource("d", np.zeros((4, 2, 2, 1, 1), np.uint8))


def test_a_conditional_model_refuses_labels_it_has_no_class_for(toy_registry, tmp_path):
    import genzoo_core
    from genzoo_core import Trainer

    model = genzoo_core.create("toycgan")  # num_classes 2
    images = np.zeros((16, 4, 4, 1), np.uint8)
    wide = DataSource("wide", images, np.arange(16) % 4, 4)
    with pytest.raises(DataError, match=r"wide has 4 classes.*num_classes=2.*num_classes=4"):
        Trainer(model, tmp_path / "run", verbose=0).fit(wide, epochs=1)
    assert not (tmp_path / "run").exists()


class GeneratedSource:
    """A data source written outside the core, with no core base class: 4x4 grey images."""

    name = "generated"
    condition = Condition.UNCONDITIONAL
    image_shape = (4, 4, 1)

    def __init__(self, count: int) -> None:
        self.images = np.random.default_rng(0).random((count, 4, 4, 1), dtype=np.float32)
        self.calls: list[dict] = []

    def __len__(self) -> int:
        return len(self.images)

    def dataset(self, *, shuffle=False, seed=None, batch_size=None):
        self.calls.append({"shuffle": shuffle, "seed": seed, "batch_size": batch_size})
        dataset = tf.data.Dataset.from_tensor_slices({"images": self.images})
        return dataset.batch(batch_size, drop_remainder=True) if batch_size else dataset


class NoImageShape:
    """Like GeneratedSource, but without ``image_shape``."""

    name = "no image shape"
    condition = Condition.UNCONDITIONAL

    def __len__(self) -> int:
        return 16

    def dataset(self, *, shuffle=False, seed=None, batch_size=None):
        raise AssertionError("an incomplete source must be refused before it is read")


def test_a_source_from_outside_the_core_trains(toy_registry, toy_model, tmp_path):
    source = GeneratedSource(32)
    assert not isinstance(source, (DataSource, PairedDataSource, UnpairedDataSource,
                                   CaptionedDataSource))
    assert isinstance(source, DataSourceProtocol) and is_data_source(source)
    assert isinstance(source, SOURCE_TYPES)  # the deprecated alias is the protocol check
    Trainer(toy_model, tmp_path / "run", batch_size=8, verbose=0, preview_count=0).fit(
        source, epochs=1
    )
    assert source.calls == [{"shuffle": True, "seed": 0, "batch_size": 8}]
    assert int(toy_model.optimizers["generator"].iterations.numpy()) == 32 // 8  # len(source)
    genzoo_core.train("toygan", source, tmp_path / "api", epochs=1, batch_size=8,
                      registry=toy_registry, verbose=0, preview_count=0)
    assert read_header(tmp_path / "api" / "model.h5").metadata["dataset"] == "generated"


def test_an_object_lacking_a_member_is_refused_by_name(toy_model, tmp_path):
    incomplete = NoImageShape()
    assert not isinstance(incomplete, DataSourceProtocol)
    message = ("NoImageShape is not a data source: it lacks 'image_shape'. A data source has "
               "name, __len__, condition, image_shape, dataset")
    with pytest.raises(DataError, match=re.escape(message)):
        check_data_source(incomplete)
    with pytest.raises(DataError, match=re.escape(message)):
        is_data_source(incomplete)
    with pytest.raises(DataError, match=re.escape(message)):
        Trainer(toy_model, tmp_path / "run", batch_size=8, verbose=0).fit(incomplete, epochs=1)
    assert not (tmp_path / "run" / "model.h5").exists()
    # A tf.data.Dataset, a name and a path are no sources, and no incomplete ones either.
    for other in (tf.data.Dataset.range(4), "mnist", tmp_path):
        assert not is_data_source(other)
    assert check_data_source(DataSource("d", np.zeros((2, 4, 4, 1), np.uint8))).name == "d"


@pytest.mark.parametrize("kind", ["binarized", "paired", "unpaired"])
def test_random_draws_of_the_data_change_every_pass_even_under_a_global_seed(kind):
    """Dynamic binarization and jitter are re-drawn each epoch after set_random_seed.

    A recipe run seeds Keras, NumPy and TensorFlow globally; random ops inside a
    tf.data map would then repeat their draws on every pass over the data.
    """
    import keras

    from genzoo_core.data import DataSource, PairedDataSource, UnpairedDataSource

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    if kind == "binarized":
        source = DataSource("grey", images[..., :1], dynamic_binarization=True)
    elif kind == "paired":
        source = PairedDataSource("pairs", images, images[::-1], jitter=True, mirror=True)
    else:
        source = UnpairedDataSource("domains", images, images[::-1], jitter=True, mirror=True)

    def one_pass(dataset):
        return [np.concatenate([np.ravel(v) for v in batch.values()])
                for batch in dataset.as_numpy_iterator()]

    keras.utils.set_random_seed(7)
    dataset = source.dataset(batch_size=4, seed=3)
    first, second = one_pass(dataset), one_pass(dataset)
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))
    # ... and a seed still makes the sequence of passes reproducible
    again = source.dataset(batch_size=4, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(first, one_pass(again)))
