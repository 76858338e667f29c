"""genzoo_core.evaluate / evaluate_folders and `genzoo eval`, with the toy extractor."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

import genzoo_core
from genzoo_core import ConfigError, DataError, PluginError, UnknownNameError, evaluation, metrics
from genzoo_core.cli import main
from genzoo_core.data import DataSource
from genzoo_core.evaluation import evaluate, evaluate_folders
from genzoo_core.hub import genzoo_home
from genzoo_core.plugin import Capability, Condition


def write_folder(folder, images):
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        (folder / f"{i:04d}.png").write_bytes(tf.io.encode_png(image).numpy())


def test_evaluate_reports_every_metric_and_setting(toy_model):
    real = DataSource("real", np.random.default_rng(5).integers(0, 256, (200, 4, 4, 1), np.uint8))
    report = evaluate(toy_model, real, metrics="fid,kid,is,pr", n=150, features="toy-pixels",
                      kid_subsets=10, kid_subset_size=50, verbose=0)
    values = report["metrics"]
    assert set(values) == {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall"}
    assert values["fid"] > 0 and 1.0 <= values["is"] <= 2.0
    settings = report["settings"]
    assert settings["n"] == 150 and settings["seed"] == 0 and settings["features"] == "toy-pixels"
    assert settings["features_sha256"] == "toy-pixels-v1"
    assert settings["kid_subsets"] == 10 and settings["kid_subset_size"] == 50
    assert settings["is_splits"] == 10 and settings["pr_k"] == 3
    assert settings["real"] == {"dataset": "real", "split": "test", "count": 150}
    # FID is exactly the metric on the features of these samples
    fake = np.concatenate([toy_model.sample(150, seed=int(
        np.random.default_rng(0).integers(0, 2**31 - 1, size=1)[0]))])
    expected = metrics.fid(real.images[:150].reshape(150, -1) / 255.0, fake.reshape(150, -1))
    assert values["fid"] == pytest.approx(expected, rel=1e-6)  # features are kept as float32
    again = evaluate(toy_model, real, metrics="fid,kid,is,pr", n=150, features="toy-pixels",
                     kid_subsets=10, kid_subset_size=50, verbose=0)
    assert again["metrics"] == values  # same seed, same numbers


def test_identical_folders_score_perfectly(tmp_path, toy_registry):
    images = np.random.default_rng(2).integers(0, 256, (40, 4, 4, 1), np.uint8)
    write_folder(tmp_path / "a", images)
    write_folder(tmp_path / "b", images)
    report = evaluate_folders(tmp_path / "a", tmp_path / "b", metrics="fid,pr",
                              features="toy-pixels", verbose=0)
    assert report["metrics"]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert report["metrics"]["precision"] == 1.0 and report["metrics"]["recall"] == 1.0
    assert report["settings"]["real_count"] == 40


def test_folders_of_different_sizes_are_refused(tmp_path, toy_registry):
    write_folder(tmp_path / "small", np.zeros((3, 4, 4, 1), np.uint8))
    write_folder(tmp_path / "big", np.zeros((3, 8, 8, 1), np.uint8))
    with pytest.raises(DataError, match="same size and channels"):
        evaluate_folders(tmp_path / "small", tmp_path / "big", features="toy-pixels", verbose=0)
    write_folder(tmp_path / "rgb", np.zeros((3, 4, 4, 3), np.uint8))
    with pytest.raises(DataError, match="same size and channels"):
        evaluate_folders(tmp_path / "small", tmp_path / "rgb", features="toy-pixels", verbose=0)


def test_real_features_are_cached_by_dataset_and_extractor(toy_model):
    from toyzoo.features import PixelFeatures

    PixelFeatures.calls = 0
    evaluate(toy_model, "toy-data", metrics="fid", n=100, features="toy-pixels", verbose=0)
    first = PixelFeatures.calls
    cached = list((genzoo_home() / "stats").glob("*.npz"))
    assert len(cached) == 1
    evaluate(toy_model, "toy-data", metrics="fid", n=100, features="toy-pixels", verbose=0)
    assert first == 2  # one real batch, one generated batch
    assert PixelFeatures.calls == first + 1  # the real side came from the cache
    evaluate(toy_model, "toy-data", metrics="fid", n=120, features="toy-pixels", verbose=0)
    assert len(list((genzoo_home() / "stats").glob("*.npz"))) == 2  # another count, another key


def test_label_accuracy_of_a_conditional_model(toy_registry):
    model = genzoo_core.create("toycgan")
    real = DataSource("real", np.random.default_rng(0).integers(0, 256, (64, 4, 4, 1), np.uint8))
    report = evaluate(model, real, metrics="fid", n=64, features="toy-pixels", verbose=0)
    assert report["metrics"]["label_accuracy"] == 1.0


def test_bad_requests(toy_model, toy_registry):
    real = DataSource("real", np.zeros((50, 4, 4, 1), np.uint8))
    with pytest.raises(ConfigError, match="fid"):
        evaluate(toy_model, real, metrics="fdi", n=10, features="toy-pixels", verbose=0)
    with pytest.raises(UnknownNameError, match="toy-pixels"):
        evaluate(toy_model, real, metrics="fid", n=10, features="toy-pixel", verbose=0)
    with pytest.raises(ConfigError, match="no log_prob"):
        evaluate(toy_model, real, metrics="nll", n=10, features="toy-pixels", verbose=0)
    with pytest.raises(ConfigError, match="at least 2"):
        evaluate(toy_model, real, metrics="fid", n=1, features="toy-pixels", verbose=0)
    with pytest.raises(ConfigError, match="say which real data"):
        evaluate(toy_model, None, metrics="fid", n=10, features="toy-pixels", verbose=0)
    # fewer samples than feature dimensions: FID's covariance is singular
    with pytest.raises(DataError, match="at least 17 samples"):
        evaluate(toy_model, real, metrics="fid", n=10, features="toy-pixels", verbose=0)
    wrong = DataSource("wide", np.zeros((50, 5, 5, 1), np.uint8))
    with pytest.raises(DataError, match="4x4x1"):
        evaluate(toy_model, wrong, metrics="fid", n=20, features="toy-pixels", verbose=0)


def test_nan_images_are_refused():
    from genzoo_core.features import check_images

    images = np.zeros((2, 4, 4, 1), np.float32)
    images[1, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        check_images(images)
    with pytest.raises(DataError, match=r"values in \[0, 1\]"):
        check_images(np.full((1, 4, 4, 1), 2.0))


def test_cli_eval_prints_a_table_and_writes_json(toy_model, toy_registry, tmp_path, capsys):
    weights = tmp_path / "toy.h5"
    toy_model.save_weights(str(weights), metadata={"dataset": "toy-data:train"})
    output = tmp_path / "report.json"
    code = main(["eval", str(weights), "--metrics", "fid,kid", "-n", "60", "--features",
                 "toy-pixels", "-o", str(output), "-q"], registry=toy_registry)
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["METRIC", "VALUE"] and lines[1].startswith("fid")
    assert "±" in lines[2]  # kid mean ± std
    report = json.loads(output.read_text())
    assert report["settings"]["real"]["dataset"] == "toy-data:test"  # from the weights' dataset
    assert report["settings"]["n"] == 60 and report["metrics"]["fid"] > 0
    code = main(["eval", "--real", str(tmp_path)], registry=toy_registry)
    assert code == 1 and "both --real DIR and --fake DIR" in capsys.readouterr().err



def test_cli_lists_feature_extractors(toy_registry, capsys):
    assert main(["features"], registry=toy_registry) == 0
    out = capsys.readouterr().out
    assert out.split()[:6] == ["EXTRACTOR", "INPUT", "DIM", "CLASSES", "FROM", "DESCRIPTION"]
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines()[1:]}
    assert rows["toy-pixels"] == ["4x4x1", "16", "2"]
    assert rows["inception-v3"] == ["any", "2048", "1000"]


def test_nll_from_a_models_log_prob(toy_registry):
    model = genzoo_core.create("toylik")
    images = np.random.default_rng(3).integers(0, 256, (40, 4, 4, 1), np.uint8)
    report = evaluate(model, DataSource("real", images), metrics="nll", n=30, verbose=0)
    per_image = images[:30].reshape(30, -1).sum(axis=1) / 255.0  # -log p(x) = sum(x)
    values = report["metrics"]
    assert values["nll_nats"] == pytest.approx(per_image.mean())
    assert values["nll_nats_std_error"] == pytest.approx(per_image.std(ddof=1) / np.sqrt(30))
    assert values["bits_per_dim"] == pytest.approx(per_image.mean() / (16 * np.log(2)))
    assert values["nll_count"] == 30


# -- metrics chosen by condition and capability; the genzoo_register_metrics hook ---------

METRIC_PLUGIN = '''
from genzoo_core.plugin import MetricSpec, hookimpl


@hookimpl
def genzoo_api_range():
    return ">=1.2,<2"


@hookimpl
def genzoo_register_metrics():
    return RETURNED


def mean_feature(context):
    return {f"mean_feature{s.suffix}": float(context.generated_features(s)[0].mean())
            for s in context.image_sets()}
'''


def metric_registry(make_plugin, tmp_path, returned):
    from genzoo_core.registry import Registry

    source = METRIC_PLUGIN.replace("RETURNED", returned)
    site = make_plugin("genzoo-scoring", {"zoo_test_scoring.py": source},
                       {"scoring": "zoo_test_scoring"})
    return Registry(path=[str(tmp_path / "toy-site"), str(site)])


def test_a_plugin_metric_is_registered_and_scored(toy_model, make_plugin, tmp_path):
    registry = metric_registry(make_plugin, tmp_path, '[MetricSpec(name="mean_feature", '
                               'scorer="zoo_test_scoring:mean_feature", default=False, '
                               'conditions=("unconditional",))]')
    assert registry.get_metric("mean_feature").distribution == "genzoo-scoring"
    assert "mean_feature" not in evaluation.default_metrics(toy_model, registry=registry)
    real = DataSource("real", np.zeros((40, 4, 4, 1), np.uint8))
    report = evaluate(toy_model, real, metrics="mean_feature,fid", n=30, seed=3,
                      features="toy-pixels", verbose=0, registry=registry)
    expected = toy_model.sample(30, seed=int(np.random.default_rng(3).integers(0, 2**31 - 1)))
    assert report["metrics"]["mean_feature"] == pytest.approx(float(expected.mean()), rel=1e-5)
    assert report["settings"]["metrics"] == ["mean_feature", "fid"]
    likelihood = genzoo_core.create("toylik")
    with pytest.raises(ConfigError, match="unknown metric 'mean_featur'.*mean_feature"):
        evaluate(likelihood, real, metrics="mean_featur", verbose=0, registry=registry)


@pytest.mark.parametrize("returned, message", [
    ("None", "genzoo_register_metrics() returned None"),
    ('[MetricSpec(name="fid", scorer="zoo_test_scoring:mean_feature")]', "reserves"),
    ('[MetricSpec(name="bad-name", scorer="zoo_test_scoring:mean_feature")]', "invalid"),
])
def test_a_bad_metric_hook_refuses_its_plugin_alone(toy_registry, make_plugin, tmp_path,
                                                    returned, message):
    registry = metric_registry(make_plugin, tmp_path, returned)
    [record] = [p for p in registry.plugins if p.name == "scoring"]
    assert record.status == "failed" and message in record.error
    assert "genzoo_register_metrics" in record.error
    assert "fid" in registry.metrics and "toygan" in registry.models  # the rest still works


def test_default_metrics_follow_condition_and_capability(toy_registry):
    def defaults(name, classifiers=None):
        return evaluation.default_metrics(genzoo_core.get_spec(name), classifiers=classifiers)

    assert defaults("toygan") == ["fid", "kid", "is", "pr"]
    assert defaults("toylik") == ["fid", "kid", "is", "pr", "nll"]
    assert defaults("toycgan") == ["fid", "kid", "is", "pr"]  # no labels classifier named
    assert defaults("toycgan", {"labels": "toy-pixels"})[-1] == "label_accuracy"
    specs = toy_registry.metrics
    assert specs["l1"].applies_to(Condition.PAIRED_IMAGE, {Capability.TRANSLATE})
    assert not specs["l1"].applies_to(Condition.UNPAIRED_DOMAINS, {Capability.TRANSLATE})
    assert specs["domain_accuracy"].classifiers == ("domain",)
    assert specs["attribute_accuracy"].conditions == (Condition.TEXT,)


def test_a_metric_that_does_not_fit_the_model_is_refused(toy_model):
    real = DataSource("real", np.zeros((40, 4, 4, 1), np.uint8))
    with pytest.raises(ConfigError, match="'toygan' has no translate, so it has no ssim"):
        evaluate(toy_model, real, metrics="ssim", n=20, features="toy-pixels", verbose=0)
    with pytest.raises(ConfigError, match="attribute_accuracy scores models of text"):
        evaluate(toy_model, real, metrics="attribute_accuracy", n=20, features="toy-pixels",
                 verbose=0)


def test_nll_defaults_to_a_prefix_and_full_scores_the_split(toy_registry, monkeypatch, capsys):
    model = genzoo_core.create("toylik")
    images = np.random.default_rng(3).integers(0, 256, (40, 4, 4, 1), np.uint8)
    monkeypatch.setattr(evaluation.run, "NLL_COUNT", 25)
    report = evaluate(model, DataSource("real", images), metrics="nll")
    assert report["metrics"]["nll_count"] == 25
    assert report["settings"]["nll"] == {"dataset": "real", "split": "test", "count": 25,
                                         "of": 40}
    out = capsys.readouterr().out
    assert "NLL on the first 25 of the 40 test images" in out and "--full" in out
    assert "25/25" in out  # the progress bar of the log_prob loop
    report = evaluate(model, DataSource("real", images), metrics="nll", full=True, verbose=0)
    assert report["metrics"]["nll_count"] == 40 and report["settings"]["full"] is True
    per_image = images.reshape(40, -1).sum(axis=1) / 255.0
    assert report["metrics"]["nll_nats"] == pytest.approx(per_image.mean())


def test_dataset_spec_names_its_scoring_networks():
    from genzoo_core.plugin import DatasetSpec

    spec = DatasetSpec("d", "m:f", features="toy-pixels", classifiers={"labels": "toy-pixels"})
    assert spec.classifiers == {"labels": "toy-pixels"} and spec.features == "toy-pixels"
    with pytest.raises(PluginError, match="classifiers must map"):
        DatasetSpec("d", "m:f", classifiers=["toy-pixels"])
    with pytest.raises(PluginError, match="features must be a string"):
        DatasetSpec("d", "m:f", features=3)
    with pytest.raises(PluginError, match="not a registered name"):
        DatasetSpec("d", "m:f", classifiers={"labels": "Bad Name"}).validate()
    with pytest.raises(PluginError, match="purpose"):
        DatasetSpec("d", "m:f", classifiers={"Bad purpose": "toy-pixels"}).validate()


def test_the_core_datasets_name_their_extractors():
    from genzoo_core import _builtin

    specs = {s.name: s for s in _builtin.genzoo_register_datasets()}
    assert specs["mnist"].features == "mnist-cnn"
    assert specs["mnist"].classifiers == {"labels": "mnist-cnn"}
    assert specs["binarized-mnist"].compare_with == "mnist"
    assert specs["fashion-mnist"].classifiers == {"labels": "fashion-mnist-cnn"}


def test_image_stats_are_channel_and_gradient_moments():
    from genzoo_core.features import image_stats

    images = np.zeros((2, 6, 6, 1), np.float32)
    images[1, :, ::2] = 1.0  # stripes: mean 0.5, and every horizontal step changes by 1
    features, probabilities = image_stats().extract(images)
    assert probabilities is None and features.shape == (2, 12)
    assert features[0] == pytest.approx(np.zeros(12))
    assert features[1, :3] == pytest.approx([0.5] * 3) and features[1, 3:6] == pytest.approx(
        [0.5] * 3)
    assert features[1, 6:9] == pytest.approx([0.5] * 3)  # (|dx| = 1 + |dy| = 0) / 2


def test_nll_n_sets_the_nll_count_apart_from_the_samples(toy_registry):
    model = genzoo_core.create("toylik")
    images = np.random.default_rng(4).integers(0, 256, (40, 4, 4, 1), np.uint8)
    report = evaluate(model, DataSource("real", images), metrics="nll", n=30, nll_n=12,
                      verbose=0)
    assert report["metrics"]["nll_count"] == 12
    per_image = images[:12].reshape(12, -1).sum(axis=1) / 255.0
    assert report["metrics"]["nll_nats"] == pytest.approx(per_image.mean())
    # Without nll_n, n sets both, as before.
    assert evaluate(model, DataSource("real", images), metrics="nll", n=30,
                    verbose=0)["metrics"]["nll_count"] == 30
    with pytest.raises(ConfigError, match="nll_n must be an integer of at least 2"):
        evaluate(model, DataSource("real", images), metrics="nll", nll_n=1, verbose=0)
