"""Recipes: reading and checking them, running every stage, publishing the result.

A throw-away plugin ``recipetoy`` (a toy GAN subclass, so its recipes live in
its own package) is installed beside the toy plugin, whose ``toy-data`` dataset
and ``toy-pixels`` extractor the recipes use.
"""

from __future__ import annotations

import csv
import json
import textwrap

import numpy as np
import pytest
from conftest import TOY, one_error_line, run_cli, write_distribution

from genzoo_core.errors import GenzooError
from genzoo_core.recipes import (
    LearningRateSchedule,
    RecipeError,
    get_recipe,
    recipe_from_dict,
)

PLUGIN = '''
from genzoo_core.plugin import ModelSpec, hookimpl, published_weights, schema

SPEC = ModelSpec(
    name="rtoy",
    builder="recipetoy.model:RecipeToy",
    description="a toy GAN with recipes",
    components=("generator", "discriminator"),
    condition="unconditional",
    capabilities=("sample",),
    default_config={"image_shape": [4, 4, 1], "latent_dim": 3, "units": 8,
                    "learning_rate": 1e-2, "batch_size": 8, "loss": "non-saturating"},
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=64),
        "latent_dim": schema.Int(min=1, max=64),
        "units": schema.Int(min=1, max=4096),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
        "loss": schema.Str(training=True),
    },
    weights=published_weights(__package__, "rtoy"),
)


@hookimpl
def genzoo_api_range():
    return ">=1.2,<2"


@hookimpl
def genzoo_register_models():
    return [SPEC]
'''

MODEL = '''
from toyzoo.model import ToyGAN


class RecipeToy(ToyGAN):
    """The toy GAN, in a package of its own."""
'''

RECIPE = '''
name = "rtoy/toy"
description = "two stages on the toy data"
dataset = "toy-data"

[config]
units = 8

[train]
batch_size = 8
seed = 3

[[stages]]
name = "warmup"
epochs = 1

[[stages]]
name = "main"
epochs = 3
learning_rate_schedule = { kind = "linear-decay", start_epoch = 1 }
init = [{ stage = "warmup" }]

[evaluate]
metrics = ["fid"]
n = 40
features = "toy-pixels"

[publish]
precision = "auto"
tolerance = 1.0
'''


@pytest.fixture
def recipe_registry(tmp_path, monkeypatch):
    """The toy plugin plus ``recipetoy`` (with ``recipes/toy.toml``), installed as default."""
    from genzoo_core import registry as registry_module

    site = tmp_path / "recipe-site"
    write_distribution(site, "genzoo-toy", "0.0.1", {"toy": "toyzoo.plugin"}, {})
    write_distribution(site, "genzoo-recipetoy", "0.1.0", {"recipetoy": "recipetoy.plugin"}, {
        "recipetoy/__init__.py": "", "recipetoy/plugin.py": PLUGIN,
        "recipetoy/model.py": MODEL, "recipetoy/recipes/toy.toml": RECIPE,
    })
    monkeypatch.syspath_prepend(str(TOY))
    monkeypatch.syspath_prepend(str(site))
    for name in [n for n in list(__import__("sys").modules) if n.startswith("recipetoy")]:
        del __import__("sys").modules[name]
    registry = registry_module.Registry(path=[str(site)])
    monkeypatch.setattr(registry_module, "_default", registry)
    return registry


# -- reading and checking ----------------------------------------------------------


def base(**changes):
    data = {"name": "rtoy/toy", "dataset": "toy-data", "train": {"epochs": 2}}
    data.update(changes)
    return data


@pytest.mark.parametrize("data, message", [
    ({"dataset": "toy-data"}, 'needs name = "MODEL/WEIGHTS"'),
    (base(name="rtoy"), 'needs name = "MODEL/WEIGHTS"'),
    (base(speed=3), "unknown key(s) 'speed'"),
    (base(train={"epochs": 0}), "epochs must be an integer >= 1"),
    (base(train={"epochs": 2, "precision": "float8"}), "precision must be one of float32"),
    (base(train={"epochs": 2, "learning_rate_schedule": {"kind": "zigzag"}}),
     "kind must be one of"),
    (base(dataset=None), 'needs dataset = "NAME"'),
    (base(stages=[{"name": "a", "init": [{"stage": "b"}]}, {"name": "b"}]),
     "init names stage 'b', which is not an earlier stage"),
    (base(stages=[{"name": "a"}, {"name": "a"}]), "two stages are named 'a'"),
    (base(stages=[{"name": "a", "model": "other"}]), "the last stage must train 'rtoy'"),
    (base(publish={"precision": "int8"}), "precision must be one of auto"),
    (base(recipe_format=2), "recipe_format 2 is not 1"),
])
def test_a_malformed_recipe_is_one_error_naming_what_is_wrong(data, message):
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(RecipeError) as info:
        recipe_from_dict(data, "toy.toml")
    assert message in str(info.value)


def test_a_recipe_round_trips_through_its_stored_form():
    recipe = recipe_from_dict(base(
        config={"units": 4},
        stages=[{"name": "a", "epochs": 1},
                {"name": "b", "init": [{"stage": "a", "components": ["generator"]}],
                 "learning_rate_schedule": "cosine"}]))
    again = recipe_from_dict(json.loads(recipe.to_json()))
    assert again == recipe
    assert again.stages[1].init[0].components == {"generator": "generator"}
    assert again.stages[0].config == {"units": 4}


def test_overrides_change_single_values_and_are_recorded():
    recipe = recipe_from_dict(base(stages=[
        {"name": "aux", "model": "other", "config": {"width": 2}}, {"name": "main"}]))
    changed = recipe.with_overrides(config={"units": 2}, epochs=1, steps_per_epoch=5)
    assert [s.epochs for s in changed.stages] == [1, 1]
    assert [s.steps_per_epoch for s in changed.stages] == [5, 5]
    assert changed.stages[0].config == {"width": 2}  # another model's stage keeps its config
    assert changed.stages[1].config == {"units": 2}
    assert changed.overrides == {"config": {"units": 2}, "epochs": 1, "steps_per_epoch": 5}
    assert recipe.with_overrides() is recipe


@pytest.mark.parametrize("schedule, epochs, expected", [
    ({"kind": "constant"}, 4, [1, 1, 1, 1]),
    ({"kind": "step", "every": 2, "factor": 0.5}, 5, [1, 1, 0.5, 0.5, 0.25]),
    ({"kind": "linear-decay", "start_epoch": 2}, 5, [1, 1, 0.75, 0.5, 0.25]),
    ({"kind": "cosine"}, 3, [1, 0.75, 0.25]),
])
def test_learning_rate_schedules_give_the_documented_factors(schedule, epochs, expected):
    parsed = LearningRateSchedule.parse(schedule)
    factors = [parsed.multiplier(e, epochs) for e in range(epochs)]
    np.testing.assert_allclose(factors, expected, atol=1e-9)


def test_a_recipe_file_that_does_not_parse_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "rtoy/toy"\n[train\n')
    with pytest.raises(RecipeError) as info:
        get_recipe(str(path))
    assert "broken.toml is not valid TOML" in str(info.value)


# -- finding and running -----------------------------------------------------------


def test_info_shows_the_recipe_of_a_model(recipe_registry, capsys):
    code, out, _ = run_cli(["info", "rtoy"], recipe_registry, capsys)
    assert code == 0
    assert json.loads(out)["recipes"] == ["rtoy/toy"]
    assert get_recipe("rtoy/toy").stages[1].init[0].stage == "warmup"


def test_an_unknown_recipe_lists_the_models_recipes(recipe_registry, capsys, tmp_path):
    code, _, err = run_cli(["train", "--recipe", "rtoy/other", "--out", str(tmp_path / "r")],
                           recipe_registry, capsys)
    assert code == 1 and one_error_line(err)
    assert "no recipe 'rtoy/other'" in err and "rtoy/toy" in err


def test_a_recipe_run_trains_every_stage_and_the_weights_say_how(recipe_registry, capsys,
                                                                tmp_path):
    from genzoo_core.weights import read_header

    out = tmp_path / "run"
    code, printed, err = run_cli(["train", "--recipe", "rtoy/toy", "--out", str(out), "-q"],
                                 recipe_registry, capsys)
    assert code == 0, err
    assert f"genzoo publish {out} --as rtoy/toy" in printed
    warmup, main = read_header(out / "warmup" / "model.h5"), read_header(out / "main" / "model.h5")
    assert warmup.metadata["recipe_stage"] == "warmup"
    meta = main.metadata
    assert meta["recipe"]["name"] == "rtoy/toy" and meta["recipe_stage"] == "main"
    assert len(meta["epoch_seconds"]) == 3 and all(s > 0 for s in meta["epoch_seconds"])
    assert [s["name"] for s in meta["earlier_stages"]] == ["warmup"]
    assert len(meta["earlier_stages"][0]["epoch_seconds"]) == 1
    with open(out / "main" / "log.csv", encoding="utf-8") as f:
        factors = [float(row["lr_factor"]) for row in csv.DictReader(f)]
    assert factors == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert json.loads((out / "recipe.json").read_text())["name"] == "rtoy/toy"

    # Again: every stage is complete, nothing retrains.
    code, printed, _ = run_cli(["train", "--recipe", "rtoy/toy", "--out", str(out)],
                               recipe_registry, capsys)
    assert code == 0 and "stage 'warmup' already complete" in printed
    assert "stage 'main' already complete" in printed
    assert read_header(out / "main" / "model.h5").metadata["epoch_seconds"] == \
        meta["epoch_seconds"]


def test_a_stage_starts_from_the_earlier_stages_weights(recipe_registry):
    import genzoo_core

    earlier = genzoo_core.create("rtoy")
    later = genzoo_core.create("rtoy")
    assert not np.allclose(earlier.generator.get_weights()[0], later.generator.get_weights()[0])
    left = later.initialize_from(earlier, {"generator": "generator"})
    for a, b in zip(earlier.generator.get_weights(), later.generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(earlier.discriminator.get_weights()[0],
                           later.discriminator.get_weights()[0])
    assert left == []
    wider = genzoo_core.create("rtoy", units=16)
    left = wider.initialize_from(earlier)
    assert left and all("/" in name for name in left)  # the layers whose shapes differ
    with pytest.raises(GenzooError, match="has no component 'encoder'"):
        later.initialize_from(earlier, {"encoder": "generator"})


def test_overrides_are_recorded_in_the_weights(recipe_registry, capsys, tmp_path):
    from genzoo_core.weights import read_header

    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--recipe", "rtoy/toy", "--out", str(out), "--epochs", "1",
                            "--config", "learning_rate=0.005", "-q"], recipe_registry, capsys)
    assert code == 0, err
    header = read_header(out / "main" / "model.h5")
    assert header.metadata["recipe"]["overrides"] == {"config": {"learning_rate": 0.005},
                                                      "epochs": 1}
    assert header.config["learning_rate"] == 0.005


def test_jit_reaches_every_stage_of_a_recipe(recipe_registry, capsys, tmp_path):
    from genzoo_core.weights import read_header

    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--recipe", "rtoy/toy", "--out", str(out), "--epochs", "1",
                            "--jit", "off", "-q"], recipe_registry, capsys)
    assert code == 0, err
    for stage in ("warmup", "main"):  # "explicit": not the test session's GENZOO_JIT=off
        assert read_header(out / stage / "model.h5").metadata["jit_compile"] == {
            "choice": False, "source": "explicit"}


def test_a_folder_of_another_recipe_is_refused(recipe_registry, capsys, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "recipe.json").write_text(json.dumps({"name": "other/weights"}))
    code, _, err = run_cli(["train", "--recipe", "rtoy/toy", "--out", str(out)],
                           recipe_registry, capsys)
    assert code == 1 and one_error_line(err) and "run of recipe 'other/weights'" in err


@pytest.mark.parametrize("argv, message", [
    (["train", "rtoy", "--recipe", "rtoy/toy"], "drop the model name"),
    (["train", "rtoy", "--epochs", "1"], "needs --data"),
    (["train", "rtoy", "--data", "toy-data", "--epochs", "1", "--seed", "2"],
     "--seed goes with --recipe"),
])
def test_train_says_which_options_go_together(recipe_registry, capsys, tmp_path, argv, message):
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "r")], recipe_registry, capsys)
    assert code == 1 and one_error_line(err) and message in err


# -- publishing --------------------------------------------------------------------


@pytest.fixture
def finished_run(recipe_registry, capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--recipe", "rtoy/toy", "--out", str(out), "-q"],
                           recipe_registry, capsys)
    assert code == 0, err
    return out


def package_of(registry):
    from genzoo_core.manifest import package_dir

    return package_dir("recipetoy")


def fresh_registry(registry):
    """A new registry over the same site, so the spec re-reads the manifest."""
    import sys

    from genzoo_core.registry import Registry

    for name in [n for n in sys.modules if n.startswith("recipetoy")]:
        del sys.modules[name]
    return Registry(path=registry.path)


def test_publish_writes_checks_scores_and_records_the_weights(recipe_registry, finished_run,
                                                              capsys, tmp_path):
    import genzoo_core
    from genzoo_core._files import sha256_file

    package = package_of(recipe_registry)
    card = package.parent / "README.md"
    card.write_text("# rtoy\n\nA toy.\n")
    results = tmp_path / "docs" / "results.md"
    results.parent.mkdir()
    results.write_text("# Results\n")
    code, printed, err = run_cli(["publish", str(finished_run), "--as", "rtoy/toy", "--into",
                                  str(package.parent), "--results", str(results)],
                                 recipe_registry, capsys)
    assert code == 0, err
    target = package / "weights" / "toy.h5"
    manifest = json.loads((package / "weights" / "manifest.json").read_text())
    (entry,) = manifest["weights"]
    assert entry["sha256"] == sha256_file(target) and entry["size"] == target.stat().st_size
    assert entry["precision"] == "float16" and entry["float16_deviation"] <= 1.0
    assert entry["recipe"] == "rtoy/toy" and "fid" in entry["metrics"]
    assert entry["evaluation"]["n"] == 40
    # No temporary file is left beside them.
    assert sorted(p.name for p in (package / "weights").iterdir()) == ["manifest.json", "toy.h5"]
    assert "<!-- results:rtoy/toy -->" in card.read_text() and "| fid |" in card.read_text()
    assert "`rtoy/toy`" in results.read_text()
    assert (results.parent / "images" / "rtoy-toy.png").is_file()

    # The plugin's spec reads the manifest: the weights load by name, sha256 checked.
    registry = fresh_registry(recipe_registry)
    (weights,) = registry.get_model("rtoy").weights
    assert weights.sha256 == entry["sha256"] and weights.metrics["fid"] == entry["metrics"]["fid"]
    model = genzoo_core.load("rtoy/toy", registry=registry)
    assert model.sample(2, seed=0).shape == (2, 4, 4, 1)
    stored = genzoo_core.read_header(target).metadata
    assert stored["recipe"]["name"] == "rtoy/toy" and stored["precision"] == "float16"
    run = genzoo_core.read_header(finished_run / "main" / "model.h5").metadata
    assert stored["jit_compile"] == run["jit_compile"]  # how its epoch_seconds were timed


def test_publish_keeps_float32_where_float16_moves_samples_too_far(recipe_registry, capsys,
                                                                   tmp_path):
    package = package_of(recipe_registry)
    recipe_file = package / "recipes" / "toy.toml"
    recipe_file.write_text(RECIPE.replace("tolerance = 1.0", "tolerance = 0.0"))
    out = tmp_path / "plain"  # a plain run stores no recipe: the plugin's applies
    code, _, err = run_cli(["train", "rtoy", "--data", "toy-data", "--epochs", "1", "--out",
                            str(out), "-q"], recipe_registry, capsys)
    assert code == 0, err
    code, printed, err = run_cli(["publish", str(out), "--as", "rtoy/toy", "--into",
                                  str(package.parent), "--no-eval"], recipe_registry, capsys)
    assert code == 0, err
    (entry,) = json.loads((package / "weights" / "manifest.json").read_text())["weights"]
    assert entry["precision"] == "float32" and entry["float16_deviation"] > 0.0
    assert entry["metrics"] == {}


def test_a_failed_publish_leaves_the_plugin_as_it_was(recipe_registry, finished_run, capsys):
    package = package_of(recipe_registry)
    code, _, err = run_cli(["publish", str(finished_run), "--as", "rtoy/toy", "--into",
                            str(package.parent), "-n", "5"], recipe_registry, capsys)
    assert code == 1 and one_error_line(err)
    assert not (package / "weights").exists() or list((package / "weights").iterdir()) == []


@pytest.mark.parametrize("setup, argv, message", [
    ("unfinished", [], "holds no finished run"),
    ("", ["--as", "gan/toy"], "holds 'rtoy' weights, not 'gan'"),
    ("", ["--as", "rtoy"], "--as needs MODEL/WEIGHTS"),
    ("", ["--into", "elsewhere"], "no package folder 'recipetoy'"),
])
def test_publish_refuses_what_it_cannot_publish(recipe_registry, finished_run, capsys,
                                                 tmp_path, setup, argv, message):
    if setup == "unfinished":
        (finished_run / "main" / "model.h5").unlink()
    argv = [a if a != "elsewhere" else str(tmp_path) for a in argv]
    if "--as" not in argv:
        argv = ["--as", "rtoy/toy", *argv]
    code, _, err = run_cli(["publish", str(finished_run), *argv, "--no-eval"],
                           recipe_registry, capsys)
    assert code == 1 and one_error_line(err) and message in err


def test_a_damaged_manifest_fails_its_plugin_with_one_line_naming_the_file(recipe_registry,
                                                                          capsys):
    package = package_of(recipe_registry)
    (package / "weights").mkdir()
    (package / "weights" / "manifest.json").write_text("{not json")
    registry = fresh_registry(recipe_registry)
    code, _, err = run_cli(["info", "rtoy"], registry, capsys)
    assert code == 1 and one_error_line(err)
    assert "manifest.json cannot be read" in err


def test_make_results_text_comes_from_the_manifests():
    from genzoo_core.results import card_block, render_results

    entry = {"model": "m", "name": "w", "file": "weights/w.h5", "sha256": "ab" * 32,
             "size": 2_000_000, "precision": "float16", "float16_deviation": 1e-3,
             "recipe": "m/w", "epochs": 5, "train_seconds": 600.0, "kind": "images",
             "metrics": {"fid": 12.345, "kid": 1.5, "kid_std": 0.25},
             "evaluation": {"n": 1000, "split": "test"}}
    block = card_block(entry)
    assert "| fid | 12.35 |" in block and "| kid | 1.5 ± 0.25 |" in block
    assert "± 0.043" in card_block({**entry, "metrics": {"is": 7.8, "is_std": 0.04321}})
    assert "10.0 CPU min" in block and "genzoo train --recipe m/w" in block
    page = render_results([entry])
    assert "| `m/w` | n 1000, split test | 12.35 | 1.5 ± 0.25 |" in page
    assert textwrap.dedent(page).startswith("# Results")


def test_publish_with_a_url_records_a_download_instead_of_a_packaged_file(recipe_registry,
                                                                          finished_run, capsys):
    package = package_of(recipe_registry)
    url = "https://example.org/rtoy-toy.h5"
    code, printed, err = run_cli(["publish", str(finished_run), "--as", "rtoy/toy", "--into",
                                  str(package.parent), "--no-eval", "--url", url],
                                 recipe_registry, capsys)
    assert code == 0, err
    assert f"to {url} before releasing" in printed
    (weights,) = fresh_registry(recipe_registry).get_model("rtoy").weights
    assert weights.url == url and weights.file is None
    assert weights.size == (package / "weights" / "toy.h5").stat().st_size


def test_info_reads_a_recipe_file(recipe_registry, capsys, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(RECIPE.replace('name = "rtoy/toy"', 'name = "rtoy/mine"'))
    code, out, err = run_cli(["info", str(path)], recipe_registry, capsys)
    assert code == 0, err
    shown = json.loads(out)
    assert shown["name"] == "rtoy/mine" and [s["name"] for s in shown["stages"]] == \
        ["warmup", "main"]


def test_the_recipe_names_are_public():
    import genzoo_core

    assert genzoo_core.get_recipe is get_recipe
    assert issubclass(genzoo_core.RecipeError, genzoo_core.ConfigError)
    import genzoo_core.publishing  # importing the module does not shadow the function

    assert genzoo_core.publish is genzoo_core.publishing.publish
    assert callable(genzoo_core.run_recipe)


def test_two_models_weights_of_one_name_get_their_own_files(recipe_registry, finished_run,
                                                            capsys):
    from genzoo_core.manifest import record

    package = package_of(recipe_registry)
    # Another model of the plugin already published a 'toy' weight as weights/toy.h5.
    (package / "weights").mkdir()
    (package / "weights" / "toy.h5").write_bytes(b"another model's file")
    record(package / "weights" / "manifest.json",
           {"model": "other", "name": "toy", "file": "weights/toy.h5", "sha256": "0" * 64})
    code, _, err = run_cli(["publish", str(finished_run), "--as", "rtoy/toy", "--into",
                            str(package.parent), "--no-eval"], recipe_registry, capsys)
    assert code == 0, err
    assert (package / "weights" / "toy.h5").read_bytes() == b"another model's file"
    entries = json.loads((package / "weights" / "manifest.json").read_text())["weights"]
    assert [e["file"] for e in entries] == ["weights/toy.h5", "weights/rtoy-toy.h5"]
    # Publishing it again replaces its own file, under the same name.
    code, _, err = run_cli(["publish", str(finished_run), "--as", "rtoy/toy", "--into",
                            str(package.parent), "--no-eval"], recipe_registry, capsys)
    assert code == 0, err
    entries = json.loads((package / "weights" / "manifest.json").read_text())["weights"]
    assert [e["file"] for e in entries] == ["weights/toy.h5", "weights/rtoy-toy.h5"]


def test_the_kit_checks_that_a_recipe_spells_out_its_files_config(recipe_registry,
                                                                 finished_run, capsys):
    from genzoo_core.testing import check_recipe

    package = package_of(recipe_registry)
    code, _, err = run_cli(["publish", str(finished_run), "--as", "rtoy/toy", "--into",
                            str(package.parent), "--no-eval"], recipe_registry, capsys)
    assert code == 0, err
    registry = fresh_registry(recipe_registry)
    assert check_recipe("rtoy/toy", registry=registry).name == "rtoy/toy"
    (package / "recipes" / "toy.toml").write_text(RECIPE.replace("units = 8", "units = 6"))
    with pytest.raises(AssertionError, match="units: recipe 6, file 8"):
        check_recipe("rtoy/toy", registry=fresh_registry(recipe_registry))


def test_a_publish_finishing_meanwhile_keeps_its_file(recipe_registry, finished_run, capsys,
                                                      monkeypatch):
    """Another model's weight of the same name, published while this one is scored, keeps its file.

    The file name is chosen when the file is written, not before the evaluation.
    """
    from genzoo_core import evaluation
    from genzoo_core.manifest import manifest_path, record

    package = package_of(recipe_registry)
    weights = package / "weights"
    scored = evaluation.evaluate

    def evaluate_while_another_publishes(*args, **kwargs):
        weights.mkdir(exist_ok=True)
        (weights / "toy.h5").write_bytes(b"the other model's file")
        record(manifest_path(package), {"model": "other", "name": "toy",
                                        "file": "weights/toy.h5", "sha256": "0" * 64})
        return scored(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", evaluate_while_another_publishes)
    code, _, err = run_cli(["publish", str(finished_run), "--as", "rtoy/toy", "--into",
                            str(package.parent), "-q"], recipe_registry, capsys)
    assert code == 0, err
    assert (weights / "toy.h5").read_bytes() == b"the other model's file"
    entries = {e["model"]: e for e in json.loads((weights / "manifest.json").read_text())[
        "weights"]}
    assert entries["rtoy"]["file"] == "weights/rtoy-toy.h5" and (weights / "rtoy-toy.h5").is_file()
