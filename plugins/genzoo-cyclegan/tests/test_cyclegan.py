"""genzoo-cyclegan: architecture, losses, history pool, schedule, data, training, weights."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from genzoo_cyclegan.model import (
    HistoryPool,
    LinearDecay,
    build_discriminator,
    build_generator,
)

import genzoo_core
from genzoo_core import ConfigError, DataError, Trainer
from genzoo_core.plugin import DataSource, UnpairedDataSource
from genzoo_core.testing import require_data

TINY = {"image_shape": [8, 8, 3], "generator_filters": 2, "residual_blocks": 1,
        "discriminator_filters": 2}
SMALL = {"image_shape": [32, 32, 3], "generator_filters": 4, "residual_blocks": 1,
         "discriminator_filters": 4, "batch_size": 2}
# Cycle-reconstruction L1 (pixels in [0, 1]) on real test images: the shipped
# weights measure 0.11 (testA) and 0.10 (testB) over all 40 of a domain
# (results/summer2winter.json); an untrained model of the same config 0.34 and 0.31.
MAX_PRETRAINED_CYCLE_L1 = 0.2
SHIPPED = [entry.name for entry in genzoo_core.get_spec("cyclegan").weights]


def summer2winter_folder() -> Path:
    return require_data("cyclegan/summer2winter_yosemite/trainA").parent


# -- architecture ---------------------------------------------------------------------


def test_resnet_generator_keeps_the_size_and_uses_instance_norm():
    generator = build_generator([32, 32, 3], filters=4, residual_blocks=2, name="g")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    y = np.asarray(generator(x))
    assert y.shape == (2, 32, 32, 3)
    assert y.min() >= -1.0 and y.max() <= 1.0  # tanh output
    widths = [layer.filters for layer in generator.layers
              if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]
    # c7s1-4, d8, d16, 2 residual blocks of two 16-wide convolutions, u8, u4, c7s1-3
    assert widths == [4, 8, 16, 16, 16, 16, 16, 8, 4, 3]
    norms = [layer for layer in generator.layers if "norm" in layer.name]
    assert len(norms) == 9
    # groups=-1 becomes one group per channel when the layer is built: instance norm.
    assert all(isinstance(n, keras.layers.GroupNormalization) and n.groups == n.gamma.shape[0]
               for n in norms)
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in generator.layers)


def test_patchgan_scores_70x70_patches():
    discriminator = build_discriminator([128, 128, 3], filters=2, slope=0.2, name="d")
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 3)), tf.float32)
    assert discriminator(x).shape == (1, 16, 16, 1)  # three stride-2 layers, then stride 1
    norms = [layer for layer in discriminator.layers if "norm" in layer.name]
    assert len(norms) == 3  # not on the first layer
    assert all(isinstance(n, keras.layers.GroupNormalization) and n.groups == n.gamma.shape[0]
               for n in norms)
    slopes = [layer.negative_slope for layer in discriminator.layers
              if isinstance(layer, keras.layers.LeakyReLU)]
    assert slopes == [0.2] * 4
    # The receptive field of one score, from the output back to the input.
    field = 1
    for layer in reversed([c for c in discriminator.layers
                           if isinstance(c, keras.layers.Conv2D)]):
        field = (field - 1) * layer.strides[0] + layer.kernel_size[0]
    assert field == 70


def test_config_is_checked():
    with pytest.raises(ConfigError, match="square"):
        genzoo_core.create("cyclegan", image_shape=[32, 48, 3])
    with pytest.raises(ConfigError, match="divisible by 4"):
        genzoo_core.create("cyclegan", image_shape=[30, 30, 3])
    with pytest.raises(ConfigError, match="decay_epochs"):
        genzoo_core.create("cyclegan", epochs=10, decay_epochs=20)


def test_config_schema_refuses_bad_values_before_building(monkeypatch):
    """Huge widths and wrong types are ConfigErrors naming the key; no layer is built."""
    import genzoo_cyclegan.model

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from a bad config")

    for name in ("build_generator", "build_discriminator", "HistoryPool"):
        monkeypatch.setattr(genzoo_cyclegan.model, name, refuse)
    for key, value in (("generator_filters", 4_000_000), ("residual_blocks", 10**9),
                       ("pool_size", 10**9), ("image_shape", [64, 64, 400]),
                       ("image_shape", [64, 64, 5]), ("discriminator_filters", "32"),
                       ("cycle_weight", "10"), ("epochs", 200.5)):
        with pytest.raises(ConfigError, match=key):
            genzoo_core.create("cyclegan", **{key: value})
    spec = genzoo_core.get_spec("cyclegan")
    assert spec.training_keys == {"cycle_weight", "identity_weight", "pool_size",
                                  "learning_rate", "beta_1", "epochs", "decay_epochs",
                                  "batch_size"}
    spec.check_config(spec.default_config)
    for entry in spec.weights:
        path = genzoo_core.resolve_weights(f"cyclegan/{entry.name}")[1]
        spec.check_config(genzoo_core.read_header(path).config)


# -- losses ---------------------------------------------------------------------------


def test_loss_pieces_match_a_hand_computation():
    keras.utils.set_random_seed(3)
    model = genzoo_core.create("cyclegan", TINY)
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32)
    b = rng.uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32)
    pieces = {k: float(v) for k, v in model.generator_losses(a, b).items()
              if k not in ("fake_a", "fake_b")}

    def g_ab(x):
        return np.asarray(model.generator_ab(x), np.float64)

    def g_ba(x):
        return np.asarray(model.generator_ba(x), np.float64)

    def d_a(x):
        return np.asarray(model.discriminator_a(x), np.float64)

    def d_b(x):
        return np.asarray(model.discriminator_b(x), np.float64)

    fake_b, fake_a = g_ab(a), g_ba(b)
    expected = {
        "adversarial_ab": np.mean((d_b(fake_b) - 1) ** 2),  # the paper's LSGAN generator
        "adversarial_ba": np.mean((d_a(fake_a) - 1) ** 2),
        "cycle_a": 10 * np.mean(np.abs(a - g_ba(fake_b))),  # lambda = 10
        "cycle_b": 10 * np.mean(np.abs(b - g_ab(fake_a))),
        "identity_a": 5 * np.mean(np.abs(a - g_ba(a))),  # 0.5 lambda
        "identity_b": 5 * np.mean(np.abs(b - g_ab(b))),
    }
    expected["total"] = sum(expected.values())
    assert pieces.keys() == expected.keys()
    for key, value in expected.items():
        assert pieces[key] == pytest.approx(value, rel=1e-4), key

    fake_a = fake_a.astype(np.float32)
    fake_b = fake_b.astype(np.float32)
    d = {k: float(v) for k, v in model.discriminator_losses(a, b, fake_a, fake_b).items()}
    assert d["a"] == pytest.approx(
        0.5 * np.mean((d_a(a) - 1) ** 2) + 0.5 * np.mean(d_a(fake_a) ** 2), rel=1e-4)
    assert d["b"] == pytest.approx(
        0.5 * np.mean((d_b(b) - 1) ** 2) + 0.5 * np.mean(d_b(fake_b) ** 2), rel=1e-4)

    no_identity = genzoo_core.create("cyclegan", {**TINY, "identity_weight": 0.0})
    terms = no_identity.generator_losses(a, b)
    assert float(terms["identity_a"]) == float(terms["identity_b"]) == 0.0


# -- the history pool -------------------------------------------------------------------


def labelled(ids) -> np.ndarray:
    """Images whose every pixel is their id, so images can be told apart after the pool."""
    return np.broadcast_to(np.asarray(ids, np.float32)[:, None, None, None],
                           (len(ids), 2, 2, 1)).copy()


def ids_of(images) -> list[int]:
    images = np.asarray(images)
    assert np.all(images == images[:, :1, :1, :1])  # images pass through whole
    return [int(round(v)) for v in images[:, 0, 0, 0]]


def test_history_pool_fills_then_replays_without_losing_images():
    pool = HistoryPool(50, [2, 2, 1], seed=0)
    push = tf.function(pool)  # as inside the compiled train step
    for start in range(0, 50, 10):  # filling: every image comes straight back
        batch = list(range(start, start + 10))
        assert ids_of(push(labelled(batch))) == batch
    assert int(pool.count.numpy()) == 50
    assert sorted(ids_of(pool.images.numpy())) == list(range(50))

    replayed = 0
    for start in range(50, 250, 10):
        before = ids_of(pool.images.numpy())
        batch = list(range(start, start + 10))
        out = ids_of(push(labelled(batch)))
        after = ids_of(pool.images.numpy())
        # Nothing is lost or invented: what went in is what came out plus what stayed.
        assert Counter(before) + Counter(batch) == Counter(after) + Counter(out)
        for new, returned in zip(batch, out):
            assert returned <= new  # itself, or an image pushed before it
        replayed += sum(r != n for r, n in zip(out, batch))
        assert int(pool.count.numpy()) == 50
    assert 60 <= replayed <= 140  # about half of 200

    twin = HistoryPool(50, [2, 2, 1], seed=0)
    other = HistoryPool(50, [2, 2, 1], seed=1)
    pushes = [labelled(range(s, s + 10)) for s in range(0, 80, 10)]
    runs = [[ids_of(p(x)) for x in pushes] for p in (HistoryPool(50, [2, 2, 1], seed=0),
                                                      twin, other)]
    assert runs[0] == runs[1]  # seeded
    assert runs[0] != runs[2]


def test_history_pool_of_size_zero_passes_images_through():
    pool = HistoryPool(0, [2, 2, 1], seed=0)
    x = labelled(range(5))
    np.testing.assert_array_equal(pool(x), x)


# -- the learning-rate schedule ---------------------------------------------------------


def test_learning_rate_is_constant_then_decays_linearly_to_zero():
    schedule = LinearDecay(2e-4, epochs=10, decay_epochs=5)
    assert float(schedule(1000)) == pytest.approx(2e-4)  # epoch length unknown: constant
    schedule.examples_per_epoch.assign(102)
    schedule.batch_size.assign(4)  # 25 steps per epoch (the last partial batch dropped)
    steps = np.arange(0, 301)
    rates = np.array([float(schedule(s)) for s in steps])
    np.testing.assert_allclose(rates[:126], 2e-4, rtol=1e-6)  # epochs 0..5
    decay = (steps[125:251] - 125) / 125  # epochs 5..10
    np.testing.assert_allclose(rates[125:251], 2e-4 * (1 - decay), rtol=1e-5, atol=1e-12)
    assert float(schedule(187.5)) == pytest.approx(1e-4)
    np.testing.assert_array_equal(rates[250:], 0.0)


# -- data ----------------------------------------------------------------------------


def test_unpaired_loader_reads_the_real_folders():
    folder = summer2winter_folder()
    train = genzoo_core.load_unpaired_folders(folder, "train")
    test = genzoo_core.load_unpaired_folders(folder, "test")
    assert train.images_a.shape == (150, 256, 256, 3) and train.images_b.shape[0] == 150
    assert test.images_a.shape == (40, 256, 256, 3) and test.images_b.shape[0] == 40
    assert train.images_a.dtype == np.uint8
    assert train.jitter and train.mirror and not test.jitter
    batch = next(iter(train.take(4).resized(32).dataset(shuffle=True, seed=0, batch_size=4)))
    assert batch["images_a"].shape == (4, 32, 32, 3)
    assert 0.0 <= float(tf.reduce_min(batch["images_b"])) <= float(
        tf.reduce_max(batch["images_b"])) <= 1.0


def write_image(path: Path, image: np.ndarray) -> None:
    encode = tf.io.encode_png if path.suffix == ".png" else tf.io.encode_jpeg
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(image).numpy())


def good_folders(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for domain in ("trainA", "trainB"):
        for i in range(2):
            write_image(root / domain / f"{i}.jpg", rng.integers(0, 256, (16, 16, 3), np.uint8))
    return root


def test_unpaired_loader_reads_good_folders(tmp_path):
    data = genzoo_core.load_unpaired_folders(good_folders(tmp_path), "train")
    assert data.images_a.shape == data.images_b.shape == (2, 16, 16, 3)


@pytest.mark.parametrize("problem", ["missing trainB", "empty folder", "greyscale",
                                     "mismatched sizes", "not a jpeg"])
def test_unpaired_loader_names_what_is_wrong(tmp_path, problem):
    root = good_folders(tmp_path)
    if problem == "missing trainB":
        shutil.rmtree(root / "trainB")
        culprit = "trainB"
    elif problem == "empty folder":
        for file in (root / "trainB").iterdir():
            file.unlink()
        culprit = str(root / "trainB")
    elif problem == "greyscale":
        write_image(root / "trainB" / "grey.png", np.zeros((16, 16, 1), np.uint8))
        culprit = "grey.png"
    elif problem == "mismatched sizes":
        write_image(root / "trainA" / "9.jpg", np.zeros((20, 16, 3), np.uint8))
        culprit = "9.jpg"
    else:
        (root / "trainA" / "broken.jpg").write_bytes(b"these bytes are not a JPEG")
        culprit = "broken.jpg"
    with pytest.raises(DataError, match=culprit):
        genzoo_core.load_unpaired_folders(root, "train")


def test_prepare_data_resizes_and_refuses_other_data():
    model = genzoo_core.create("cyclegan", SMALL)
    rng = np.random.default_rng(0)
    data = UnpairedDataSource("random", *(rng.integers(0, 256, (3, 48, 48, 3), np.uint8)
                                          for _ in range(2)))
    assert model.prepare_data(data).image_shape == (32, 32, 3)
    with pytest.raises(DataError, match="two unpaired image domains"):
        model.prepare_data(DataSource("images", data.images_a))
    grey = UnpairedDataSource("grey", *(np.zeros((2, 32, 32, 1), np.uint8) for _ in range(2)))
    with pytest.raises(DataError, match="1-channel"):
        model.prepare_data(grey)


# -- training on real images --------------------------------------------------------------


def test_train_steps_on_real_images_follow_the_schedule_and_resume(tmp_path):
    folder = summer2winter_folder()
    data = genzoo_core.load_unpaired_folders(folder, "train").take(4)  # 256x256, resized
    config = {**SMALL, "epochs": 4, "decay_epochs": 2}
    keras.utils.set_random_seed(0)
    model = genzoo_core.create("cyclegan", config)
    before = [np.array(v.numpy()) for v in model.trainable_variables]
    history = Trainer(model, tmp_path, preview_count=16, verbose=0).fit(data, epochs=3)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert {"g_loss", "cycle_loss", "identity_loss", "d_a_loss", "d_b_loss"} <= logs.keys()
    assert all(np.isfinite(v) for v in logs.values())
    after = [v.numpy() for v in model.trainable_variables]
    changed = [not np.array_equal(x, y) for x, y in zip(before, after)]
    assert all(changed)  # both generators and both discriminators were updated
    assert (tmp_path / "samples" / "epoch_0003.png").is_file()

    schedule = model.learning_rate_schedule
    assert int(schedule.examples_per_epoch.numpy()) == 4
    assert int(schedule.batch_size.numpy()) == 2
    assert int(model.optimizers["generators"].iterations.numpy()) == 6
    # After 3 of 4 epochs, with the decay over the last 2: half the rate.
    assert float(model.optimizers["generators"].learning_rate) == pytest.approx(1e-4)

    # A resumed run restores the optimizer steps, and with them the schedule.
    resumed = genzoo_core.create("cyclegan", config)
    assert Trainer(resumed, tmp_path, preview_count=0, verbose=0).restore() == 3
    resumed.prepare_data(data)  # the Trainer does this before training on
    assert int(resumed.optimizers["discriminators"].iterations.numpy()) == 6
    assert float(resumed.optimizers["discriminators"].learning_rate) == pytest.approx(1e-4)


# -- translation and sampling -------------------------------------------------------------


def test_translate_and_sample_contract():
    model = genzoo_core.create("cyclegan", SMALL)
    rng = np.random.default_rng(0)
    x = rng.random((3, 50, 50, 3), dtype=np.float32)  # square, of another size: resized
    for direction in ("AtoB", "BtoA"):
        y = model.translate(x, direction=direction)
        assert y.shape == (3, 32, 32, 3) and y.dtype == np.float32
        assert 0.0 <= y.min() and y.max() <= 1.0
    assert not np.allclose(model.translate(x, "AtoB"), model.translate(x, "BtoA"))
    np.testing.assert_allclose(model.sample(2, condition=x, seed=5),
                               model.translate(x[:2], "AtoB"), atol=1e-6)
    with pytest.raises(ConfigError, match="direction"):
        model.translate(x, direction="AtoC")
    with pytest.raises(ConfigError, match="pass input images"):
        model.sample(2)
    with pytest.raises(ConfigError, match="at least n=4"):
        model.sample(4, condition=x)
    with pytest.raises(DataError, match="got 70x50, which resizing would distort"):
        model.translate(rng.random((1, 50, 70, 3), dtype=np.float32))  # never squashed
    with pytest.raises(DataError, match="divide 8-bit images by 255"):
        model.translate(x * 255)  # never clipped to white
    with pytest.raises(DataError, match="got dtype uint8"):
        model.translate((x * 255).astype(np.uint8))


# -- the pretrained weights ---------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_pretrained_weights_translate_real_test_images(name):
    folder = summer2winter_folder()
    spec = genzoo_core.get_spec("cyclegan")
    entry = next(e for e in spec.weights if e.name == name)
    _, path = genzoo_core.resolve_weights(f"cyclegan/{name}")
    assert genzoo_core.sha256_file(path) == entry.sha256
    model = genzoo_core.load(f"cyclegan/{name}")
    test = genzoo_core.load_unpaired_folders(folder, "test")
    a = test.images_a[:8].astype(np.float32) / 255.0  # 256x256, resized by translate
    b = test.images_b[:8].astype(np.float32) / 255.0
    size = model.config["image_shape"][0]
    fake_b, fake_a = model.translate(a, "AtoB"), model.translate(b, "BtoA")
    assert fake_b.shape == fake_a.shape == (8, size, size, 3)
    small_a = test.resized(size).images_a[:8].astype(np.float32) / 255.0
    small_b = test.resized(size).images_b[:8].astype(np.float32) / 255.0
    cycle = [np.abs(small_a - model.translate(fake_b, "BtoA")).mean(),
             np.abs(small_b - model.translate(fake_a, "AtoB")).mean()]
    assert max(cycle) < MAX_PRETRAINED_CYCLE_L1
    keras.utils.set_random_seed(0)
    untrained = genzoo_core.create("cyclegan", model.config)
    untrained_cycle = np.abs(
        small_a - untrained.translate(untrained.translate(small_a, "AtoB"), "BtoA")
    ).mean()
    assert untrained_cycle > MAX_PRETRAINED_CYCLE_L1


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_cli_translates_a_real_test_image(tmp_path, direction):
    folder = summer2winter_folder()
    if not SHIPPED:
        pytest.skip("no pretrained cyclegan weights are declared")
    source = sorted((folder / ("testA" if direction == "AtoB" else "testB")).iterdir())[0]
    out = tmp_path / "translated.png"
    subprocess.run(
        [sys.executable, "-m", "genzoo_core", "sample", f"cyclegan/{SHIPPED[0]}",
         "--input", str(source), "--direction", direction, "-o", str(out)],
        check=True, timeout=300,
    )
    written = genzoo_core.read_image(out).astype(np.float32)
    model = genzoo_core.load(f"cyclegan/{SHIPPED[0]}")
    image = genzoo_core.read_image(source).astype(np.float32) / 255.0
    expected = model.translate(image[None], direction=direction)[0] * 255.0
    other = "BtoA" if direction == "AtoB" else "AtoB"
    assert written.shape == expected.shape == (64, 64, 3)
    assert np.abs(written - expected).max() <= 1.0  # the PNG rounds to 8 bits
    assert np.abs(written - model.translate(image[None], direction=other)[0] * 255).mean() > 5


def test_domain_accuracy_reports_the_untranslated_photos_as_its_baseline():
    """domain_baseline_ab is the share of the untranslated test photos called the target."""
    folder = summer2winter_folder()
    n = 6
    report = genzoo_core.evaluate("cyclegan/summer2winter", "summer2winter",
                                  metrics=["domain_accuracy"], n=n, verbose=0)
    metrics = report["metrics"]
    model = genzoo_core.load("cyclegan/summer2winter")
    size = model.config["image_shape"][0]
    test = genzoo_core.load_unpaired_folders(folder, "test").resized(size)
    classifier = genzoo_core.get_feature_extractor(report["settings"]["classifiers"]["domain"])
    for suffix, images, target in (("_ab", test.images_a, 1), ("_ba", test.images_b, 0)):
        _, probabilities = classifier.extract(images[:n].astype(np.float32) / 255.0)
        expected = float(np.mean(np.asarray(probabilities).argmax(axis=1) == target))
        assert metrics[f"domain_baseline{suffix}"] == pytest.approx(expected)
        assert 0.0 <= metrics[f"domain_accuracy{suffix}"] <= 1.0
