"""Plugin discovery with throw-away plugins made by the tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genzoo_core import (
    DuplicateModelError,
    ModelSpec,
    PluginError,
    Registry,
    UnknownNameError,
)
from genzoo_core.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]


def plugin_source(model: str, api: str = ">=1.0,<2", extra: str = "") -> str:
    return f"""
        from genzoo_core import ModelSpec, hookimpl

        @hookimpl
        def genzoo_api_range():
            return {api!r}

        @hookimpl
        def genzoo_register_models():
            return [ModelSpec(name={model!r}, builder="zoo_test_x.model:M",
                              description="test model {model}", components=("generator",))]
        {extra}
    """


def good(make_plugin, dist="genzoo-good", module="zoo_test_good", model="good"):
    return make_plugin(dist, {f"{module}.py": plugin_source(model)}, {model: module})


def test_good_plugin_is_discovered(make_plugin):
    site = good(make_plugin)
    registry = Registry(path=[str(site)])
    spec = registry.get_model("good")
    assert spec.description == "test model good"
    assert (spec.distribution, spec.version) == ("genzoo-good", "1.0")
    [record] = [p for p in registry.plugins if p.name == "good"]
    assert record.status == "ok" and record.models == ("good",)


def test_core_registers_its_datasets_through_the_same_hooks(plugin_site):
    registry = Registry(path=[str(plugin_site)])
    assert {"mnist", "fashion-mnist"} <= set(registry.datasets)
    assert registry.datasets["mnist"].distribution == "genzoo-core"
    assert Registry(path=[str(plugin_site)], builtin=False).datasets == {}


def test_broken_plugin_is_reported_and_others_keep_working(make_plugin):
    good(make_plugin)
    site = make_plugin(
        "genzoo-broken",
        {"zoo_test_broken.py": "raise RuntimeError('boom at import')\n"},
        {"broken": "zoo_test_broken"},
    )
    registry = Registry(path=[str(site)])
    assert "good" in registry.models
    [broken] = [p for p in registry.plugins if p.name == "broken"]
    assert broken.status == "failed"
    assert "RuntimeError: boom at import" in broken.error
    assert "boom at import" in broken.traceback and "Traceback" in broken.traceback
    assert broken.distribution == "genzoo-broken"


def test_plugin_whose_hook_raises_is_isolated(make_plugin):
    good(make_plugin)
    source = """
        from genzoo_core import hookimpl

        @hookimpl
        def genzoo_api_range():
            return ">=1,<2"

        @hookimpl
        def genzoo_register_models():
            raise ValueError("bad spec code")
    """
    site = make_plugin("genzoo-hookfail", {"zoo_test_hookfail.py": source},
                       {"hookfail": "zoo_test_hookfail"})
    registry = Registry(path=[str(site)])
    assert list(registry.models) == ["good"]
    [record] = [p for p in registry.plugins if p.name == "hookfail"]
    assert record.status == "failed" and "bad spec code" in record.error


def test_strict_mode_makes_a_broken_plugin_fatal(make_plugin, monkeypatch):
    site = make_plugin("genzoo-broken", {"zoo_test_broken2.py": "import nonexistent_module_x\n"},
                       {"broken": "zoo_test_broken2"})
    monkeypatch.setenv("GENZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="genzoo-broken.*nonexistent_module_x.*STRICT"):
        Registry(path=[str(site)]).load()
    monkeypatch.setenv("GENZOO_STRICT_PLUGINS", "0")
    assert Registry(path=[str(site)]).plugins[-1].status == "failed"


def test_duplicate_model_names_name_both_distributions(make_plugin):
    make_plugin("genzoo-first", {"zoo_test_first.py": plugin_source("same")},
                {"first": "zoo_test_first"})
    site = make_plugin("genzoo-second", {"zoo_test_second.py": plugin_source("same")},
                       {"second": "zoo_test_second"}, version="2.5")
    registry = Registry(path=[str(site)])
    assert "same" not in registry.models  # never a silent overwrite
    with pytest.raises(DuplicateModelError) as info:
        registry.get_model("same")
    message = str(info.value)
    assert "genzoo-first 1.0" in message and "genzoo-second 2.5" in message
    assert "uninstall" in message
    with pytest.raises(DuplicateModelError):
        Registry(path=[str(site)], strict=True).load()


def test_incompatible_api_is_refused_with_what_to_install(make_plugin):
    good(make_plugin)
    site = make_plugin("genzoo-future", {"zoo_test_future.py": plugin_source("future", ">=2,<3")},
                       {"future": "zoo_test_future"}, version="3.0")
    registry = Registry(path=[str(site)])
    assert "future" not in registry.models and "good" in registry.models
    [record] = [p for p in registry.plugins if p.name == "future"]
    assert record.status == "incompatible"
    assert ">=2,<3" in record.error and "API 1.0" in record.error
    assert "pip install" in record.error and "genzoo-future" in record.error


def test_plugin_without_api_range_is_refused(make_plugin):
    source = """
        from genzoo_core import ModelSpec, hookimpl

        @hookimpl
        def genzoo_register_models():
            return [ModelSpec(name="noapi", builder="a.b:C", components=("g",))]
    """
    site = make_plugin("genzoo-noapi", {"zoo_test_noapi.py": source}, {"noapi": "zoo_test_noapi"})
    registry = Registry(path=[str(site)])
    assert "noapi" not in registry.models
    assert "genzoo_api_range" in registry.plugins[-1].error


@pytest.mark.parametrize(
    ("spec_source", "expected"),
    [
        ('ModelSpec(name="Bad Name", builder="a.b:C", components=("g",))', "invalid"),
        ('ModelSpec(name="ok", builder="not-an-import", components=("g",))', "builder"),
        ('ModelSpec(name="ok", builder="a.b:C")', "component"),
        ('ModelSpec(name="ok", builder="a.b:C", components=("g",), capabilities=("translate",))',
         "sample"),
        ('ModelSpec(name="ok", builder="a.b:C", components=("g",), default_config={"f": object()})',
         "JSON"),
    ],
)
def test_invalid_specs_fail_the_plugin_with_the_reason(make_plugin, spec_source, expected):
    source = f"""
        from genzoo_core import ModelSpec, hookimpl

        @hookimpl
        def genzoo_api_range():
            return ">=1,<2"

        @hookimpl
        def genzoo_register_models():
            return [{spec_source}]
    """
    site = make_plugin("genzoo-invalid", {"zoo_test_invalid.py": source},
                       {"invalid": "zoo_test_invalid"})
    registry = Registry(path=[str(site)])
    assert registry.models == {}
    assert registry.plugins[-1].status == "failed"
    assert expected in registry.plugins[-1].error


def test_unknown_name_suggests_close_matches(make_plugin):
    site = good(make_plugin, model="dcgan", module="zoo_test_dcgan", dist="genzoo-dcgan")
    registry = Registry(path=[str(site)])
    with pytest.raises(UnknownNameError, match="Did you mean: dcgan"):
        registry.get_model("dcgam")
    with pytest.raises(UnknownNameError, match="Known models: dcgan"):
        registry.get_model("zzzzzz")
    with pytest.raises(UnknownNameError, match="Did you mean: mnist"):
        registry.get_dataset("minst")


def test_spec_accepts_plain_strings_and_resolves_config():
    spec = ModelSpec(name="m", builder="a.b:C", components=["g"], condition="class_label",
                     capabilities=["sample", "log_prob"], default_config={"a": 1, "b": 2})
    assert spec.condition.value == "class_label"
    assert {c.value for c in spec.capabilities} == {"sample", "log_prob"}
    assert spec.resolve_config({"a": 5}, b=7) == {"a": 5, "b": 7}
    from genzoo_core import ConfigError

    with pytest.raises(ConfigError, match="no config key.*zz.*valid keys: a, b"):
        spec.resolve_config({"zz": 1})
    with pytest.raises(ValueError):
        ModelSpec(name="m", builder="a.b:C", components=["g"], condition="telepathy")


def test_cli_plugins_shows_failures_and_tracebacks(make_plugin, capsys):
    good(make_plugin)
    site = make_plugin("genzoo-broken", {"zoo_test_broken3.py": "1/0\n"},
                       {"broken": "zoo_test_broken3"})
    registry = Registry(path=[str(site)])
    assert cli_main(["plugins", "-v"], registry=registry) == 0
    out = capsys.readouterr().out
    assert "genzoo-broken 1.0" in out and "failed" in out and "ZeroDivisionError" in out
    assert "Traceback" in out
    assert cli_main(["list"], registry=registry) == 0
    captured = capsys.readouterr()
    assert "good" in captured.out
    assert "not loaded: broken (failed)" in captured.err


def test_installing_the_real_plugin_makes_it_appear_and_removing_it_hides_it(tmp_path):
    """pip-install genzoo-gan into a bare target folder, then remove it again."""
    target = tmp_path / "target"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(ROOT / "plugins" / "genzoo-gan")],
        capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0 and "setuptools" in result.stderr:
        pytest.skip(f"cannot build without network: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr
    before = Registry(path=[str(tmp_path / "empty")])
    assert "gan" not in before.models
    installed = Registry(path=[str(target)])
    assert installed.get_model("gan").distribution == "genzoo-gan"
    for info in target.glob("genzoo_gan-*.dist-info"):
        shutil.rmtree(info)
    assert "gan" not in Registry(path=[str(target)]).models


def test_duplicate_dataset_names_disable_both(make_plugin):
    source = """
        from genzoo_core import DatasetSpec, hookimpl

        @hookimpl
        def genzoo_api_range():
            return ">=1,<2"

        @hookimpl
        def genzoo_register_datasets():
            return [DatasetSpec(name="mnist", loader="zoo_test_ds.data:load")]
    """
    site = make_plugin("genzoo-ds", {"zoo_test_ds.py": source}, {"ds": "zoo_test_ds"})
    registry = Registry(path=[str(site)])
    with pytest.raises(DuplicateModelError, match="dataset name 'mnist'.*genzoo-core.*genzoo-ds"):
        registry.get_dataset("mnist")
    assert "fashion-mnist" in registry.datasets and "mnist" not in registry.datasets
    assert [p.status for p in registry.plugins] == ["ok", "ok"]
