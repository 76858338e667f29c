"""genzoo-pix2pix: U-Net and PatchGAN, the loss, training on real maps pairs, loaders, weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import genzoo_core
from genzoo_core import (
    ConfigError,
    DataError,
    Trainer,
    load_paired_folder,
    metrics,
    read_image,
    sha256_file,
)
from genzoo_core.plugin import (
    DataSource,
    ModelContract,
    PairedDataSource,
    Translator,
    losses,
)
from genzoo_core.testing import require_data

SMALL = {"image_shape": [32, 32, 3], "generator_filters": 8, "discriminator_filters": 8}


def maps_folder() -> Path:
    require_data("pix2pix/maps/val")
    return require_data("pix2pix/maps/train").parent


@pytest.fixture(scope="module")
def maps_train_64() -> PairedDataSource:
    return load_paired_folder(maps_folder(), "train", image_size=64)


def write_image(path: Path, image: np.ndarray) -> Path:
    """Encode uint8 HWC as PNG or JPEG, by the file's suffix."""
    encode = tf.io.encode_png if path.suffix == ".png" else tf.io.encode_jpeg
    path.write_bytes(encode(tf.constant(image)).numpy())
    return path


# -- spec and architecture ------------------------------------------------------------


def test_spec():
    spec = genzoo_core.get_spec("pix2pix")
    assert spec.condition.value == "paired_image"
    assert sorted(c.value for c in spec.capabilities) == ["sample", "translate"]
    assert spec.components == ("generator", "discriminator")
    config = spec.default_config
    assert config["loss"] == "non-saturating" and config["l1_weight"] == 100.0
    assert (config["learning_rate"], config["beta_1"]) == (2e-4, 0.5)
    assert (config["dropout"], config["dropout_blocks"]) == (0.5, 3)
    model = genzoo_core.create("pix2pix", **SMALL)
    assert isinstance(model, ModelContract) and isinstance(model, Translator)


@pytest.mark.parametrize("size", [32, 64])
def test_unet_shapes_skips_and_dropout(size):
    model = genzoo_core.create("pix2pix", image_shape=[size, size, 3], generator_filters=4,
                               discriminator_filters=4)
    generator = model.generator
    depth = int(np.log2(size))  # encoder blocks down to 1x1
    assert generator.output.shape == (None, size, size, 3)
    assert generator.get_layer("to_image").activation.__name__ == "tanh"
    for i in range(depth):
        assert generator.get_layer(f"down_{i}").output.shape == (
            None, size >> (i + 1), size >> (i + 1), 4 * min(2**i, 8))
    # Each decoder block is concatenated with the encoder block of the same size.
    for i in range(depth - 1):
        assert generator.get_layer(f"skip_{i}").output.shape == (
            None, size >> (i + 1), size >> (i + 1), 2 * 4 * min(2**i, 8))
    dropouts = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dropout)]
    assert [d.name for d in dropouts] == [f"up_{i}_dropout" for i in (depth - 2, depth - 3,
                                                                       depth - 4)]
    assert all(d.rate == 0.5 for d in dropouts)
    # The first encoder block and the 1x1 bottleneck are not normalized.
    names = {layer.name for layer in generator.layers}
    assert "down_0_norm" not in names and f"down_{depth - 1}_norm" not in names
    assert "down_1_norm" in names
    x = np.random.default_rng(0).random((2, size, size, 3), dtype=np.float32)
    y = np.asarray(generator(x * 2 - 1, training=False))
    assert y.shape == (2, size, size, 3) and np.abs(y).max() <= 1.0


def test_patchgan_is_fully_convolutional():
    model = genzoo_core.create("pix2pix", **SMALL)
    discriminator = model.discriminator
    assert [tuple(i.shape) for i in discriminator.inputs] == [(None, None, None, 3)] * 2
    assert [discriminator.get_layer(f"conv_{i}").strides for i in range(4)] == [
        (2, 2), (2, 2), (2, 2), (1, 1)]
    assert [discriminator.get_layer(f"conv_{i}").filters for i in range(4)] == [8, 16, 32, 64]
    for size, patches in ((256, 30), (64, 6), (32, 2)):
        x = np.zeros((1, size, size, 3), np.float32)
        assert discriminator([x, x]).shape == (1, patches, patches, 1)


def test_patchgan_receptive_field_is_70x70():
    model = genzoo_core.create("pix2pix", **SMALL)
    size = 160
    x = tf.Variable(np.random.default_rng(0).normal(size=(1, size, size, 6)).astype(np.float32))
    with tf.GradientTape() as tape:
        # Inference mode: batch norm is then a per-position affine map, so the
        # field is that of the convolutions alone.
        logits = model.discriminator([x[..., :3], x[..., 3:]], training=False)
        centre = logits.shape[1] // 2
        patch = logits[0, centre, centre, 0]
    gradient = np.abs(tape.gradient(patch, x).numpy()[0]).sum(axis=-1)
    rows, cols = np.nonzero(gradient)
    assert rows.min() > 0 and cols.min() > 0  # the field lies inside the input
    assert rows.max() < size - 1 and cols.max() < size - 1
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)
    assert len(rows) == 70 * 70  # every pixel in the window matters


# -- loss and training ----------------------------------------------------------------


def test_l1_term_is_weighted_as_configured():
    rng = np.random.default_rng(0)
    batch = {"inputs": rng.random((2, 32, 32, 3), dtype=np.float32),
             "images": rng.random((2, 32, 32, 3), dtype=np.float32)}
    pieces = {}
    for weight in (100.0, 10.0):
        keras.utils.set_random_seed(0)  # the same initial weights for both models
        model = genzoo_core.create("pix2pix", **SMALL, l1_weight=weight)
        pieces[weight] = {k: float(v) for k, v in model.compute_losses(batch, False).items()}
    for weight, p in pieces.items():
        assert p["g_l1"] > 0 and p["g_adversarial"] > 0
        assert p["g_loss"] == pytest.approx(p["g_adversarial"] + weight * p["g_l1"], rel=1e-5)
    assert pieces[100.0]["g_l1"] == pytest.approx(pieces[10.0]["g_l1"])
    assert pieces[100.0]["g_loss"] > pieces[10.0]["g_loss"]
    keras.utils.set_random_seed(0)
    l1_only = genzoo_core.create("pix2pix", **SMALL, adversarial_weight=0.0)
    p = {k: float(v) for k, v in l1_only.compute_losses(batch, False).items()}
    assert p["g_loss"] == pytest.approx(100.0 * pieces[100.0]["g_l1"], rel=1e-5)
    assert p["d_loss"] == 0.0


def variables(model, component):
    return [np.array(v.numpy()) for v in getattr(model, component).trainable_weights]


def test_train_steps_on_real_maps_pairs(maps_train_64, tmp_path):
    keras.utils.set_random_seed(0)
    model = genzoo_core.create("pix2pix", **SMALL)  # 32x32: the 64x64 pairs are resized
    before = {c: variables(model, c) for c in model.components}
    trainer = Trainer(model, tmp_path, batch_size=2, preview_count=9, verbose=0)
    history = trainer.fit(maps_train_64.take(8), epochs=1)
    logs = history.history
    assert set(logs) >= {"d_loss", "g_loss", "g_adversarial", "g_l1"}
    assert all(np.isfinite(v[0]) for v in logs.values())
    # The G loss logged is the adversarial term plus 100 times the L1 term (epoch means).
    assert logs["g_loss"][0] == pytest.approx(
        logs["g_adversarial"][0] + 100 * logs["g_l1"][0], rel=1e-4)
    for component in model.components:
        after = variables(model, component)
        assert any(not np.array_equal(a, b) for a, b in zip(before[component], after))
    assert (tmp_path / "samples" / "epoch_0001.png").stat().st_size > 1000
    assert (tmp_path / "model.h5").exists()


def test_l1_only_leaves_the_discriminator_alone(maps_train_64, tmp_path):
    model = genzoo_core.create("pix2pix", **SMALL, adversarial_weight=0.0)
    before = {c: variables(model, c) for c in model.components}
    Trainer(model, tmp_path, batch_size=4, preview_count=0, verbose=0).fit(
        maps_train_64.take(8), epochs=1)
    after = {c: variables(model, c) for c in model.components}
    assert all(np.array_equal(a, b) for a, b in zip(before["discriminator"],
                                                     after["discriminator"]))
    assert any(not np.array_equal(a, b) for a, b in zip(before["generator"], after["generator"]))


def test_prepare_data_resizes_pairs_and_refuses_other_data():
    model = genzoo_core.create("pix2pix", **SMALL)
    rng = np.random.default_rng(0)
    pairs = PairedDataSource("pairs", rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8),
                             rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8))
    prepared = model.prepare_data(pairs)
    assert prepared.image_shape == (32, 32, 3) and len(prepared) == 3
    preview = model.preview(64, seed=0)  # rows of input, output, target
    assert preview.shape == (9, 32, 32, 3)
    np.testing.assert_allclose(preview[2], prepared.targets[0] / 255.0, atol=1e-6)
    with pytest.raises(DataError, match="aligned image pairs"):
        model.prepare_data(DataSource("digits", pairs.inputs))
    grey = PairedDataSource("grey", pairs.inputs[..., :1], pairs.targets[..., :1])
    with pytest.raises(DataError, match="1-channel"):
        model.prepare_data(grey)


# -- translate and sample -------------------------------------------------------------


def test_translate_and_sample_check_their_inputs():
    model = genzoo_core.create("pix2pix", **SMALL)
    rng = np.random.default_rng(0)
    photos = rng.random((3, 50, 50, 3), dtype=np.float32)
    out = model.translate(photos)  # any size of the model's shape in, the model's size out
    assert out.shape == (3, 32, 32, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_array_equal(out, model.translate(photos))  # dropout is off
    resized = tf.image.resize(photos, (32, 32), antialias=True).numpy().clip(0, 1)
    np.testing.assert_allclose(out, model.translate(resized), atol=1e-5)
    sampled = model.sample(2, condition=photos, seed=3)
    np.testing.assert_allclose(sampled, out[:2], atol=1e-6)
    np.testing.assert_array_equal(sampled, model.sample(2, condition=photos, seed=3))
    with pytest.raises(ConfigError, match="condition=images"):
        model.sample(2)
    with pytest.raises(ConfigError, match="holds only 3"):
        model.sample(4, condition=photos)
    with pytest.raises(DataError, match=r"x\[None\]"):
        model.translate(photos[0])
    with pytest.raises(DataError, match="1 channel"):
        model.translate(photos[..., :1])
    with pytest.raises(DataError, match="255"):
        model.translate((photos * 255).astype(np.uint8))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        model.translate(photos * 255)
    with pytest.raises(ConfigError, match="one way"):
        model.translate(photos, direction="BtoA")
    wide = rng.random((2, 50, 70, 3), dtype=np.float32)
    for call in (lambda: model.translate(wide), lambda: model.sample(2, condition=wide)):
        with pytest.raises(DataError, match="got 70x50, which resizing would distort"):
            call()  # never a silent squash
    with pytest.raises(DataError, match=r"side-by-side A\|B pair: take its left half"):
        model.translate(rng.random((1, 40, 80, 3), dtype=np.float32))
    with pytest.raises(ConfigError, match="power-of-two"):
        genzoo_core.create("pix2pix", image_shape=[48, 48, 3])


def test_config_schema_refuses_bad_values_before_building(monkeypatch):
    """Huge widths and wrong types are ConfigErrors naming the key; no layer is built."""
    import genzoo_pix2pix.model

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from a bad config")

    monkeypatch.setattr(genzoo_pix2pix.model, "build_generator", refuse)
    monkeypatch.setattr(genzoo_pix2pix.model, "build_discriminator", refuse)
    for key, value in (("generator_filters", 4_000_000), ("discriminator_filters", 10**9),
                       ("image_shape", [4096, 4096, 3]), ("image_shape", [96, 96, 3]),
                       ("l1_weight", "100"), ("dropout_blocks", 3.0),
                       ("loss", "wasserstein-gp"), ("adversarial_weight", -1.0)):
        with pytest.raises(ConfigError, match=key):
            genzoo_core.create("pix2pix", **{key: value})
    spec = genzoo_core.get_spec("pix2pix")
    assert set(spec.config_schema["loss"].choices) == {
        name for name, loss in losses.GAN_LOSSES.items()
        if not loss.gradient_penalty_weight
    }
    assert spec.training_keys == {"loss", "adversarial_weight", "l1_weight", "learning_rate",
                                  "beta_1", "batch_size"}
    spec.check_config(spec.default_config)
    for entry in spec.weights:
        path = genzoo_core.resolve_weights(f"pix2pix/{entry.name}")[1]
        spec.check_config(genzoo_core.read_header(path).config)


# -- loaders --------------------------------------------------------------------------


def test_loaders_on_the_real_maps_folders():
    folder = maps_folder()
    train = load_paired_folder(folder, "train", image_size=64)
    val = load_paired_folder(folder, "val", image_size=64)
    assert (len(train), len(val)) == (150, 50)
    assert train.inputs.shape == train.targets.shape == (150, 64, 64, 3)
    assert val.image_shape == (64, 64, 3) and val.direction == "AtoB"
    assert (train.jitter, train.mirror, val.jitter, val.mirror) == (True, True, False, False)
    # A (left) is the aerial photo, B (right) the map, which is much brighter.
    assert val.targets.mean() > val.inputs.mean() + 40
    swapped = load_paired_folder(folder, "val", image_size=64, direction="BtoA")
    assert swapped.direction == "BtoA"
    np.testing.assert_array_equal(swapped.inputs, val.targets)
    np.testing.assert_array_equal(swapped.targets, val.inputs)
    registered = genzoo_core.load_data("maps", "test")  # maps is scored on val/
    assert registered.image_shape == (256, 256, 3) and len(registered) == 50
    batch = next(iter(train.take(4).dataset(batch_size=4)))
    assert batch["inputs"].shape == batch["images"].shape == (4, 64, 64, 3)
    assert 0.0 <= float(tf.reduce_min(batch["images"])) <= float(
        tf.reduce_max(batch["images"])) <= 1.0


def pair(height: int = 16, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, 2 * height, channels),
                                             dtype=np.uint8)


@pytest.mark.parametrize("case", ["not side by side", "greyscale", "mismatched sizes",
                                  "empty", "not a jpeg"])
def test_loader_names_the_broken_file(tmp_path, case):
    folder = tmp_path / "train"
    folder.mkdir()
    write_image(folder / "1.jpg", pair())
    culprit = folder / "2.jpg"
    if case == "not side by side":
        write_image(culprit, pair()[:, :16])
        message = "twice as wide"
    elif case == "greyscale":
        culprit = write_image(folder / "2.png", pair(channels=1))
        message = "1 channel"
    elif case == "mismatched sizes":
        write_image(culprit, pair(height=20))
        message = "same size"
    elif case == "empty":
        (folder / "1.jpg").unlink()
        culprit, message = folder, "holds no images"
    else:
        culprit.write_bytes(b"these bytes are not a JPEG")
        message = "cannot read"
    with pytest.raises(DataError, match=message) as error:
        load_paired_folder(tmp_path, "train", image_size=16)
    assert str(culprit) in str(error.value)


def test_loader_reads_a_good_folder(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    image = pair()
    write_image(folder / "a.png", image)
    write_image(folder / "b.png", image[:, ::-1])
    data = load_paired_folder(tmp_path, "train", image_size=16)
    assert len(data) == 2 and data.files == ("a.png", "b.png")
    np.testing.assert_array_equal(data.inputs[0], image[:, :16])
    np.testing.assert_array_equal(data.targets[0], image[:, 16:])


# -- the pretrained weights -----------------------------------------------------------

SHIPPED = [entry.name for entry in genzoo_core.get_spec("pix2pix").weights]


def val_photos(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` val files, full size: photos (left) and maps (right), in [0, 1]."""
    files = sorted((maps_folder() / "val").glob("*.jpg"), key=lambda p: int(p.stem))[:n]
    images = np.stack([read_image(f) for f in files]).astype(np.float32) / 255.0
    half = images.shape[2] // 2
    return images[:, :, :half], images[:, :, half:]


@pytest.mark.skipif("maps" not in SHIPPED, reason="pix2pix/maps weights are not shipped")
def test_pretrained_maps_translates_real_photos():
    spec = genzoo_core.get_spec("pix2pix")
    _, path = genzoo_core.resolve_weights("pix2pix/maps")
    assert sha256_file(path) == spec.get_weights("maps").sha256
    model = genzoo_core.load("pix2pix/maps")
    assert model.config["adversarial_weight"] == 1.0  # the GAN, not the L1-only baseline
    photos, maps = val_photos(6)
    output = model.translate(photos)  # 600x600 photos, resized to the model's size
    size = model.image_shape[0]
    assert output.shape == (6, size, size, 3)
    targets = tf.image.resize(maps, (size, size), antialias=True).numpy().clip(0, 1)
    inputs = tf.image.resize(photos, (size, size), antialias=True).numpy().clip(0, 1)
    ours = metrics.mean_absolute_error(output, targets).mean()
    identity = metrics.mean_absolute_error(inputs, targets).mean()
    assert ours < 0.2 * identity, (ours, identity)
    untrained = genzoo_core.create("pix2pix")  # the same bar fails without training
    assert metrics.mean_absolute_error(untrained.translate(photos), targets).mean() > 0.2 * identity


def run_genzoo(*args: str) -> subprocess.CompletedProcess:
    genzoo = Path(sys.executable).parent / "genzoo"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([str(genzoo), *args], capture_output=True, text=True, env=env,
                          timeout=180)


@pytest.mark.skipif("maps" not in SHIPPED, reason="pix2pix/maps weights are not shipped")
def test_cli_translates_a_photo_and_a_folder(tmp_path):
    photos, _ = val_photos(2)
    inputs = tmp_path / "photos"
    inputs.mkdir()
    for i, photo in enumerate(photos):
        write_image(inputs / f"{i}.png", np.round(photo * 255).astype(np.uint8))
    output = tmp_path / "map.png"
    result = run_genzoo("sample", "pix2pix/maps", "--input", str(inputs / "0.png"), "-o",
                        str(output))
    assert result.returncode == 0, result.stderr
    size = genzoo_core.get_spec("pix2pix").default_config["image_shape"][0]
    assert read_image(output).shape == (size, size, 3)
    result = run_genzoo("sample", "pix2pix/maps", "--input", str(inputs), "-o",
                        str(tmp_path / "maps"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["0.png", "1.png"]
    # The map is brighter than the photo it came from.
    assert read_image(output).mean() > 255 * photos[0].mean() + 40


def test_inference_dropout_is_seeded_noise():
    model = genzoo_core.create("pix2pix", **SMALL, inference_dropout=True)
    photos = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    first = model.sample(2, condition=photos, seed=0)
    np.testing.assert_array_equal(first, model.sample(2, condition=photos, seed=0))
    assert not np.allclose(first, model.sample(2, condition=photos, seed=1), atol=1e-4)
    assert not np.allclose(first, model.translate(photos), atol=1e-4)  # translate: no noise
    np.testing.assert_array_equal(model.translate(photos), model.translate(photos))


def test_inference_dropout_masks_run_the_generator_own_layers():
    """The masked U-Net shares the generator's weights; keep-all masks are no dropout."""
    from genzoo_pix2pix.model import build_generator, dropout_mask_shapes

    model = genzoo_core.create("pix2pix", **SMALL, inference_dropout=True)
    c = model.settings
    shapes = dropout_mask_shapes([32, 32, 3], 8, 3)
    assert shapes == [(2, 2, 64), (4, 4, 32), (8, 8, 16)]  # widths 8, 16, 32, 64, 64
    assert shapes == [tuple(model.generator.get_layer(f"up_{i}_norm").output.shape[1:])
                      for i in (3, 2, 1)]
    masked = build_generator([32, 32, 3], 8, 0.5, 3, c["leaky_relu_slope"],
                             masked_from=model.generator)
    assert len(masked.weights) == len(model.generator.weights) > 0
    assert all(any(w is v for v in model.generator.weights) for w in masked.weights)
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32) * 2 - 1
    keep_all = [np.ones((2, *shape), np.float32) for shape in shapes]
    np.testing.assert_allclose(masked([x, *keep_all]), model.generator(x, training=False),
                               atol=1e-6)
    dropped = [keep_all[0], keep_all[1], np.zeros((2, *shapes[2]), np.float32)]
    assert not np.allclose(masked([x, *dropped]), model.generator(x, training=False), atol=1e-3)
    # sample's masks keep about half the units: its images lie near, not on, translate's
    photos = (x + 1) / 2
    sampled = model.sample(2, condition=photos, seed=0)
    assert 1e-4 < np.abs(sampled - model.translate(photos)).mean() < 0.5
