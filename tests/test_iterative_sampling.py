"""Iterative samplers: sampling options, progress, and components only training needs.

A tiny "diffuser" stands in for a diffusion model: it declares the sampling
options ``steps`` and ``sampler``, runs its averaged network ``ema`` once per
step, and trains a network ``net`` that only training needs
(``component_use``). Every sample call records the options it was handed.
"""

from __future__ import annotations

import json
import time

import h5py
import numpy as np
import pytest
from conftest import one_error_line, run_cli

import genzoo_core
from genzoo_core.errors import ConfigError, WeightsError
from genzoo_core.recipes import RecipeError

PLUGIN = '''
from genzoo_core.plugin import ModelSpec, hookimpl, schema

SPEC = ModelSpec(
    name="zoo-test-diffuser",
    builder="zoo_test_diffuser.model:Diffuser",
    description="a tiny iterative sampler",
    components=("net", "ema"),
    condition="unconditional",
    capabilities=("sample",),
    default_config={"image_shape": [4, 4, 1], "learning_rate": 1e-2, "batch_size": 8},
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=64),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
    sample_options={"steps": schema.Int(min=1, max=100),
                    "sampler": schema.Choice("ddpm", "ddim")},
    component_use={"ema": "inference", "net": "training"},
)


@hookimpl
def genzoo_api_range():
    return ">=1.4,<2"


@hookimpl
def genzoo_register_models():
    return [SPEC]
'''

MODEL = '''
import keras
import numpy as np
import tensorflow as tf

from genzoo_core import GenzooError
from genzoo_core.plugin import GenerativeModel
from zoo_test_diffuser.plugin import SPEC

CALLS = []      # the options of every generate() call
RESTORED = []   # the names of every restore_components() call


def network(size, name):
    x = keras.Input((size,))
    return keras.Model(x, keras.layers.Dense(size, activation="sigmoid", name="out")(x),
                       name=name)


class Diffuser(GenerativeModel):
    spec = SPEC

    def __init__(self, config=None, **overrides):
        super().__init__(config, **overrides)
        self.size = int(np.prod(self.settings["image_shape"]))
        self.net = network(self.size, "net")
        self.ema = network(self.size, "ema")

    def make_optimizers(self):
        return {"net": keras.optimizers.Adam(self.settings["learning_rate"], name="net")}

    def train_step(self, batch):
        x = tf.reshape(tf.cast(batch["images"], tf.float32), (-1, self.size))
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self.net(x, training=True) - x))
        self.minimize(tape, loss, "net")
        for average, weight in zip(self.ema.weights, self.net.weights):
            average.assign(0.5 * average + 0.5 * weight)
        return {"loss": loss}

    def generate(self, n, *, condition, rng, **options):
        if condition is not None:
            raise GenzooError("zoo-test-diffuser is unconditional")
        CALLS.append(dict(options, n=n))
        steps = options.get("steps", 10)
        x = rng.uniform(size=(n, self.size)).astype("float32")
        for step in range(steps):
            x = np.asarray(self.ema(x, training=False))
            self.report_progress(step + 1, steps)
        return x.reshape((n, *self.settings["image_shape"]))

    def restore_components(self, missing):
        RESTORED.append(list(missing))
        if "net" in missing:
            self.net.set_weights(self.ema.get_weights())
'''

RECIPE = '''
name = "zoo-test-diffuser/toy"
dataset = "toy-data"

[train]
epochs = 1
batch_size = 8

[evaluate]
metrics = ["fid"]
n = 40
features = "toy-pixels"
sample_options = { steps = 2 }

[publish]
precision = "float32"
'''

NAME = "zoo-test-diffuser"


@pytest.fixture
def diffuser(make_plugin, toy_registry, monkeypatch):
    """(registry with the toy plugin and the diffuser, the diffuser's model module)."""
    import importlib

    from genzoo_core import registry as registry_module

    site = make_plugin("genzoo-zoo-test-diffuser", {
        "zoo_test_diffuser/__init__.py": "", "zoo_test_diffuser/plugin.py": PLUGIN,
        "zoo_test_diffuser/model.py": MODEL, "zoo_test_diffuser/recipes/toy.toml": RECIPE,
    }, {"diffuser": "zoo_test_diffuser.plugin"})
    registry = registry_module.Registry(path=[*toy_registry.path, str(site)])
    monkeypatch.setattr(registry_module, "_default", registry)
    return registry, importlib.import_module("zoo_test_diffuser.model")


def variables(model):
    return {f"{c}/{v.path}": np.array(v.numpy()) for c, component in model.components.items()
            for v in component.weights}


# -- sample options -------------------------------------------------------------------


def test_declared_options_are_checked_and_only_those_set_are_passed(diffuser):
    registry, module = diffuser
    model = genzoo_core.create(NAME, registry=registry)
    images = model.sample(2, seed=0, steps=3)
    assert images.shape == (2, 4, 4, 1)
    assert module.CALLS[-1] == {"steps": 3, "n": 2}  # sampler unset: not passed
    model.sample(2, seed=0, sampler="ddim", steps=None)  # None: the model's default
    assert module.CALLS[-1] == {"sampler": "ddim", "n": 2}
    assert np.array_equal(model.sample(2, seed=0, steps=3), images)


@pytest.mark.parametrize("options, message", [
    ({"guidance": 2.0}, "'zoo-test-diffuser' has no sampling option(s) guidance (it takes "
                        "sampler, steps): drop guidance"),
    ({"steps": 0}, "sampling option 'steps' must be an integer in [1, 100], got 0"),
    ({"sampler": "euler"}, "sampling option 'sampler' must be one of 'ddpm', 'ddim'"),
])
def test_a_bad_option_is_refused_before_anything_is_drawn(diffuser, options, message):
    registry, module = diffuser
    model = genzoo_core.create(NAME, registry=registry)
    with pytest.raises(ConfigError) as error:
        model.sample(2, seed=0, **options)
    assert message in str(error.value)
    assert module.CALLS == []


def test_a_model_without_options_refuses_them(toy_model):
    with pytest.raises(ConfigError, match="it draws in one pass and takes none"):
        toy_model.sample(2, seed=0, steps=5)


# -- genzoo sample ----------------------------------------------------------------------


def test_cli_sample_passes_the_flags_and_shows_progress(diffuser, tmp_path, capsys):
    registry, module = diffuser
    weights = tmp_path / "d.h5"
    genzoo_core.create(NAME, registry=registry).save_weights(str(weights))
    grid = tmp_path / "grid.png"
    code, out, err = run_cli(["sample", str(weights), "-n", "4", "--steps", "3", "--sampler",
                              "ddim", "-o", str(grid)], registry, capsys)
    assert code == 0, err
    assert module.CALLS[-1] == {"steps": 3, "sampler": "ddim", "n": 4} and grid.is_file()
    assert f"drawing 4 images from {weights}" in out and "4/4" in out  # the progress bar
    code, out, err = run_cli(["sample", str(weights), "-n", "4", "-q", "-o", str(grid)],
                             registry, capsys)
    assert code == 0, err
    assert module.CALLS[-1] == {"n": 4}  # no flags: nothing passed
    assert "drawing" not in out and "4/4" not in out


def test_cli_sample_refuses_options_a_model_lacks_before_loading_it(toy_registry, weights,
                                                                    tmp_path, capsys,
                                                                    monkeypatch):
    import genzoo_core.api

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded before its options were checked")

    monkeypatch.setattr(genzoo_core.api, "_load_resolved", no_load)
    grid = tmp_path / "grid.png"
    code, _, err = run_cli(["sample", str(weights), "--steps", "5", "--eta", "0.5", "-o",
                            str(grid)], toy_registry, capsys)
    assert code == 1 and one_error_line(err), err
    assert "'toygan' has no --steps, --eta (it draws in one pass" in err
    assert "drop --steps, --eta" in err and not grid.exists()
    code, _, err = run_cli(["sample", str(weights), "--steps", "0"], toy_registry, capsys)
    assert code == 1 and one_error_line(err) and "--steps must be at least 1, got 0" in err


def test_cli_sample_names_the_flag_of_a_bad_value(diffuser, tmp_path, capsys):
    registry, module = diffuser
    weights = tmp_path / "d.h5"
    genzoo_core.create(NAME, registry=registry).save_weights(str(weights))
    code, _, err = run_cli(["sample", str(weights), "--steps", "500", "-o",
                            str(tmp_path / "g.png")], registry, capsys)
    assert code == 1 and one_error_line(err)
    assert "--steps must be an integer in [1, 100], got 500" in err and module.CALLS == []


# -- progress -----------------------------------------------------------------------------


class Bars:
    """Stands in for keras.utils.Progbar: records every bar and its updates."""

    made: list = []

    def __init__(self, target, verbose=1, **kwargs):
        self.target, self.updates = target, []
        Bars.made.append(self)

    def update(self, current, values=None, finalize=None):
        self.updates.append(current)


@pytest.fixture
def bars(monkeypatch):
    import keras

    Bars.made = []
    monkeypatch.setattr(keras.utils, "Progbar", Bars)
    return Bars.made


def test_the_bar_moves_within_a_sample_call_as_steps_finish(diffuser, bars, capsys):
    from genzoo_core.progress import sampling_progress

    registry, _ = diffuser
    model = genzoo_core.create(NAME, registry=registry)
    with sampling_progress(8, "drawing"):
        model.sample(8, seed=0, steps=4)
    (bar,) = bars
    assert bar.target == 8 and bar.updates == [2, 4, 6, 8, 8]  # each step, then the call
    assert capsys.readouterr().out == "drawing\n"


# -- evaluate -----------------------------------------------------------------------------


def real_data():
    from genzoo_core.data import DataSource

    return DataSource("real", np.random.default_rng(5).integers(0, 256, (60, 4, 4, 1),
                                                                np.uint8))


def test_evaluate_passes_and_records_the_sample_options(diffuser, bars, capsys):
    registry, module = diffuser
    model = genzoo_core.create(NAME, registry=registry)
    report = evaluate_model(model, registry, sample_options={"steps": 4}, verbose=1)
    assert report["settings"]["sample_options"] == {"steps": 4}
    assert module.CALLS == [{"steps": 4, "n": 50}]
    # One bar for the generated images, moving within the single chunk as its steps finish.
    assert capsys.readouterr().out.count("generated") == 1
    generated = bars[-1]
    assert generated.target == 50 and generated.updates[:4] == [12, 25, 37, 50]


def evaluate_model(model, registry, **options):
    from genzoo_core.evaluation import evaluate

    return evaluate(model, real_data(), metrics="fid", n=50, features="toy-pixels",
                    registry=registry, **options)


def test_evaluate_refuses_undeclared_options_before_loading(diffuser, tmp_path, monkeypatch):
    import genzoo_core.api

    registry, module = diffuser
    weights = tmp_path / "d.h5"
    genzoo_core.create(NAME, registry=registry).save_weights(str(weights))
    monkeypatch.setattr(genzoo_core.api, "_load_resolved", lambda *a: pytest.fail("loaded"))
    with pytest.raises(ConfigError, match="no sampling option.* guidance"):
        evaluate_model(str(weights), registry, sample_options={"guidance": 1.0}, verbose=0)
    with pytest.raises(ConfigError, match="sample_options must be a table"):
        evaluate_model(str(weights), registry, sample_options=3, verbose=0)
    assert module.CALLS == []


def test_evaluate_without_options_records_none(toy_model, toy_registry):
    report = evaluate_model(toy_model, toy_registry, verbose=0)
    assert "sample_options" not in report["settings"]


def test_cli_eval_passes_the_flags_and_refuses_them_for_a_one_pass_model(
        diffuser, weights, tmp_path, capsys):
    registry, module = diffuser
    path = tmp_path / "d.h5"
    genzoo_core.create(NAME, registry=registry).save_weights(
        str(path), metadata={"dataset": "toy-data:train"})
    report = tmp_path / "eval.json"
    code, _, err = run_cli(["eval", str(path), "--metrics", "fid", "-n", "30", "--features",
                            "toy-pixels", "--steps", "2", "-o", str(report), "-q"],
                           registry, capsys)
    assert code == 0, err
    assert json.loads(report.read_text())["settings"]["sample_options"] == {"steps": 2}
    assert module.CALLS == [{"steps": 2, "n": 30}]
    code, _, err = run_cli(["eval", str(weights), "--metrics", "fid", "--guidance", "2",
                            "-o", str(report)], registry, capsys)
    assert code == 1 and one_error_line(err)
    assert "'toygan' has no --guidance" in err and "drop --guidance" in err


def test_a_recipe_gives_sample_options_as_a_table():
    from genzoo_core.recipes import recipe_from_dict

    data = {"name": "gan/toy", "dataset": "toy-data", "train": {"epochs": 1}}
    recipe = recipe_from_dict({**data, "evaluate": {"sample_options": {"steps": 50}}})
    assert recipe.evaluate["sample_options"] == {"steps": 50}
    with pytest.raises(RecipeError, match="sample_options must be a table"):
        recipe_from_dict({**data, "evaluate": {"sample_options": 50}})


# -- components only training needs -------------------------------------------------------


def test_a_file_records_each_components_use_and_may_leave_out_training(diffuser, tmp_path):
    registry, module = diffuser
    model = genzoo_core.create(NAME, registry=registry)
    full, inference = tmp_path / "full.h5", tmp_path / "inference.h5"
    model.save_weights(str(full))
    model.save_weights(str(inference), leave_out_training=True)
    header = genzoo_core.read_header(full)
    assert set(header.components) == {"net", "ema"} and header.left_out == ()
    assert header.component_use == {"net": "training", "ema": "inference"}
    header = genzoo_core.read_header(inference)
    assert header.components == ("ema",) and header.left_out == ("net",)
    assert header.metadata["left_out_components"] == ["net"]
    assert full.stat().st_size > inference.stat().st_size

    loaded = genzoo_core.load(str(inference), registry=registry)
    assert module.RESTORED == [["net"]]
    assert np.array_equal(loaded.sample(2, seed=1), model.sample(2, seed=1))
    for a, b in zip(loaded.net.get_weights(), model.ema.get_weights()):
        np.testing.assert_array_equal(a, b)  # fine-tuning starts from the average
    genzoo_core.load(str(full), registry=registry)
    assert module.RESTORED == [["net"]]  # nothing was missing


def test_a_file_lacking_what_sampling_needs_is_refused(diffuser, tmp_path):
    registry, module = diffuser
    path = tmp_path / "no-ema.h5"
    genzoo_core.create(NAME, registry=registry).save_weights(str(path))
    with h5py.File(path, "a") as f:
        del f["components/ema"]
    with pytest.raises(WeightsError, match=r"lacks ema, which sampling needs"):
        genzoo_core.load(str(path), registry=registry)
    assert module.RESTORED == []


def test_a_failed_restore_leaves_the_model_unchanged(diffuser, tmp_path, monkeypatch):
    registry, module = diffuser
    path = tmp_path / "inference.h5"
    genzoo_core.create(NAME, registry=registry).save_weights(str(path),
                                                             leave_out_training=True)
    model = genzoo_core.create(NAME, registry=registry)
    before = variables(model)

    def broken(missing):
        model.net.set_weights([w * 0 for w in model.net.get_weights()])
        raise RuntimeError("no average to copy")

    monkeypatch.setattr(model, "restore_components", broken)
    with pytest.raises(WeightsError, match="restore_components.*no average to copy.*unchanged"):
        model.load_weights(str(path))
    after = variables(model)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_checkpoints_and_model_h5_keep_every_component(diffuser, tmp_path):
    registry, _ = diffuser
    out = tmp_path / "run"
    genzoo_core.train(NAME, "toy-data", out, epochs=1, steps_per_epoch=2, registry=registry,
                      verbose=0, preview_count=0)
    for name in ("checkpoint.h5", "model.h5"):
        header = genzoo_core.read_header(out / name)
        assert set(header.components) == {"net", "ema"} and header.left_out == ()


def test_publish_leaves_training_components_out_and_scores_with_the_recipes_options(
        diffuser, tmp_path, capsys):
    from genzoo_core.publishing import publish

    registry, module = diffuser
    out = tmp_path / "run"
    genzoo_core.train(NAME, "toy-data", out, epochs=1, steps_per_epoch=2, registry=registry,
                      verbose=0, preview_count=0)
    site = registry.path[-1]
    module.CALLS.clear()
    done = publish(out, f"{NAME}/toy", into=site, registry=registry, verbose=1)
    printed = capsys.readouterr().out
    assert "leaving out the training-only component(s) net" in printed
    header = genzoo_core.read_header(done.path)
    assert header.components == ("ema",) and header.left_out == ("net",)
    assert {"steps": 2, "n": 40} in module.CALLS  # the recipe's [evaluate] sample_options
    manifest = json.loads((done.path.parent / "manifest.json").read_text())
    assert manifest["weights"][0]["evaluation"]["sample_options"] == {"steps": 2}

    kept = publish(out, f"{NAME}/toy", into=site, registry=registry, verbose=0,
                   evaluate=False, keep_training=True)
    assert set(genzoo_core.read_header(kept.path).components) == {"net", "ema"}


# -- the per-epoch preview ------------------------------------------------------------------


class SlowPreview:
    """A stand-in model whose preview takes ``seconds``."""

    def __init__(self, seconds):
        self.seconds = seconds

    def preview(self, n, *, seed):
        time.sleep(self.seconds)
        return np.zeros((n, 4, 4, 1), np.float32)


def test_a_slow_preview_is_timed_and_warned_about_once(tmp_path, capsys):
    from genzoo_core.callbacks import SampleGrid

    grid = SampleGrid(tmp_path, n=4)
    grid.set_model(SlowPreview(0.05))
    fast_epoch = {"seconds": 100.0}
    grid.on_epoch_end(0, fast_epoch)
    assert 0.05 <= fast_epoch["preview_seconds"] < 5 and capsys.readouterr().err == ""
    for epoch in (1, 2):
        grid.on_epoch_end(epoch, {"seconds": 0.1})
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: the epoch 2 preview grid took")
    assert "override SlowPreview.preview() to draw it with fewer steps" in err
    assert len(grid.seconds) == 3 and (tmp_path / "epoch_0003.png").is_file()
    quiet = SampleGrid(tmp_path, n=4, verbose=0)
    quiet.set_model(SlowPreview(0.05))
    quiet.on_epoch_end(0, {"seconds": 0.1})
    assert capsys.readouterr().err == "" and quiet.warned


def test_a_run_records_each_previews_seconds(toy_model, toy_data, tmp_path):
    from genzoo_core.trainer import Trainer

    out = tmp_path / "run"
    Trainer(toy_model, out, verbose=0, preview_count=4).fit(toy_data, epochs=2)
    header, *rows = (out / "log.csv").read_text().splitlines()
    assert header.split(",")[-1] == "preview_seconds" and len(rows) == 2
    metadata = genzoo_core.read_header(out / "model.h5").metadata
    assert len(metadata["preview_seconds"]) == 2
    assert "preview_seconds" not in metadata["metrics"]


# -- the conformance kit ------------------------------------------------------------------


def test_the_kit_checks_options_and_component_use(diffuser):
    from genzoo_core import testing

    registry, module = diffuser
    options = testing.KitOptions(registry=registry)
    testing.check_sampling_options(NAME, options)
    assert {"steps": 1, "n": 2} in module.CALLS and {"steps": 1, "sampler": "ddpm", "n": 2} \
        in module.CALLS  # the cheapest steps, the first choice
    testing.check_component_use(NAME, options)
    assert module.RESTORED == [["net"]]


def test_the_kit_fails_a_model_that_ignores_its_declared_options(diffuser, monkeypatch):
    from genzoo_core import testing

    registry, module = diffuser

    def one_pass(self, n, *, condition, rng):  # declares steps, but takes no options
        return np.zeros((n, 4, 4, 1), np.float32)

    monkeypatch.setattr(module.Diffuser, "generate", one_pass)
    with pytest.raises(AssertionError, match="steps=1"):
        testing.check_sampling_options(NAME, testing.KitOptions(registry=registry))


def test_the_kit_fails_a_model_that_samples_from_a_training_only_component(diffuser,
                                                                           monkeypatch):
    from dataclasses import replace

    from genzoo_core import testing

    registry, module = diffuser
    wrong = replace(registry.get_model(NAME), component_use={"ema": "training"})
    monkeypatch.setattr(module.Diffuser, "spec", wrong)
    monkeypatch.setitem(registry.load()._models, NAME, wrong)
    with pytest.raises(AssertionError, match="samples other images for the same seed"):
        testing.check_component_use(NAME, testing.KitOptions(registry=registry))


def test_info_shows_the_options_and_what_a_file_left_out(diffuser, tmp_path, capsys):
    registry, _ = diffuser
    code, out, _ = run_cli(["info", NAME], registry, capsys)
    info = json.loads(out)
    assert info["sample_options"] == {"steps": "an integer in [1, 100]",
                                      "sampler": "one of 'ddpm', 'ddim'"}
    assert info["component_use"] == {"ema": "inference", "net": "training"}
    path = tmp_path / "inference.h5"
    genzoo_core.create(NAME, registry=registry).save_weights(str(path), leave_out_training=True)
    code, out, _ = run_cli(["info", str(path)], registry, capsys)
    info = json.loads(out)
    assert info["left_out_components"] == ["net"] and info["component_use"] == {"ema": "inference"}
