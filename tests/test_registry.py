"""Plugin discovery with throw-away plugins made by the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genzoo_core import (
    API_VERSION,
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
    assert ">=2,<3" in record.error and f"API {API_VERSION}" in record.error
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
    with pytest.raises(PluginError, match="condition 'telepathy' is not one of 'unconditional'"):
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
    for dist in ("genzoo-ds", "genzoo-ds2"):
        module = f"zoo_test_{dist[7:]}"
        source = f"""
            from genzoo_core import DatasetSpec, hookimpl

            @hookimpl
            def genzoo_api_range():
                return ">=1,<2"

            @hookimpl
            def genzoo_register_datasets():
                return [DatasetSpec(name="shapes", loader="{module}.data:load"),
                        DatasetSpec(name="{dist[7:]}-only", loader="{module}.data:load")]
        """
        site = make_plugin(dist, {f"{module}.py": source}, {dist[7:]: module})
    registry = Registry(path=[str(site)])
    with pytest.raises(DuplicateModelError, match="dataset name 'shapes'.*genzoo-ds .*genzoo-ds2"):
        registry.get_dataset("shapes")
    assert {"ds-only", "ds2-only", "mnist"} <= set(registry.datasets)
    assert "shapes" not in registry.datasets
    assert list(registry.conflicts) == ["dataset:shapes"]
    assert [p.status for p in registry.plugins] == ["ok", "ok", "ok"]


# -- hardening: every plugin problem is refused cleanly and explained ----------------------

HOOKS = ("genzoo_api_range", "genzoo_register_models", "genzoo_register_datasets",
         "genzoo_register_feature_extractors")


def hooks_source(**bodies: str) -> str:
    """A plugin module whose hooks run ``bodies`` (hook name -> statements); API >=1,<2."""
    bodies = {"genzoo_api_range": "return '>=1,<2'", **bodies}
    parts = ["from genzoo_core import (DatasetSpec, FeatureExtractorSpec, ModelSpec,",
             "                         WeightsSpec, hookimpl)"]
    for hook, body in bodies.items():
        parts += ["", "@hookimpl", f"def {hook}():", *(f"    {line}" for line in
                                                       body.splitlines())]
    return "\n".join(parts) + "\n"


def hook_plugin(make_plugin, name: str, dist: str | None = None, **bodies: str):
    """Install plugin ``name`` (module zoo_test_<name>) with the given hook bodies."""
    module = f"zoo_test_{name.replace('-', '_')}"
    return make_plugin(dist or f"genzoo-{name}", {f"{module}.py": hooks_source(**bodies)},
                       {name: module})


def record_of(registry: Registry, name: str):
    [record] = [p for p in registry.plugins if p.name == name]
    return record


MODEL = "ModelSpec(name={!r}, builder='zoo_test_x.model:M', components=('g',))"
DATASET = "DatasetSpec(name={!r}, loader='zoo_test_x.data:load')"
EXTRACTOR = "FeatureExtractorSpec(name={!r}, builder='zoo_test_x.f:build', feature_dim=4)"
SPEC_OF_HOOK = {"genzoo_register_models": MODEL, "genzoo_register_datasets": DATASET,
                "genzoo_register_feature_extractors": EXTRACTOR}


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize(("raised", "shown"), [
    ("SystemExit(3)", "SystemExit: 3"),
    ("SystemExit()", "SystemExit"),
    ("GeneratorExit('closing')", "GeneratorExit: closing"),
    ("ValueError('bad spec code')", "ValueError: bad spec code"),
])
def test_a_hook_raising_anything_fails_only_its_plugin(make_plugin, hook, raised, shown):
    good(make_plugin)
    site = hook_plugin(make_plugin, "raiser", **{hook: f"raise {raised}"})
    registry = Registry(path=[str(site)])
    assert list(registry.models) == ["good"]
    record = record_of(registry, "raiser")
    assert record.status == "failed"
    assert record.error == f"hook {hook}() raised {shown}"
    assert shown.split(":")[0] in record.traceback and "Traceback" in record.traceback
    assert record.models == record.datasets == record.extractors == ()
    assert all(impl.plugin_name != "genzoo-raiser:raiser"
               for impl in getattr(registry.pm.hook, hook).get_hookimpls())


def test_keyboard_interrupt_in_a_hook_is_not_swallowed(make_plugin):
    site = hook_plugin(make_plugin, "interrupted",
                       genzoo_register_models="raise KeyboardInterrupt")
    registry = Registry(path=[str(site)])
    with pytest.raises(KeyboardInterrupt):
        registry.load()
    with pytest.raises(KeyboardInterrupt):  # nothing half-loaded is kept: it loads afresh
        registry.load()


def test_a_plugin_object_raising_while_registered_is_refused_and_left_unregistered(
        make_plugin):
    source = """
        from genzoo_core import hookimpl

        class Plugin:
            def __dir__(self):  # pluggy lists a plugin's attributes to find its hooks
                raise SystemExit("no")

        PLUGIN = Plugin()
    """
    good(make_plugin)
    site = make_plugin("genzoo-object", {"zoo_test_object.py": source},
                       {"object": "zoo_test_object:PLUGIN"})
    registry = Registry(path=[str(site)])
    assert list(registry.models) == ["good"]
    record = record_of(registry, "object")
    assert record.status == "failed"
    assert record.error == "not a valid genzoo plugin: registering it raised SystemExit: no"
    assert registry.pm.get_plugin("genzoo-object:object") is None


def test_a_hook_with_a_wrong_signature_is_refused_and_left_unregistered(make_plugin):
    source = """
        from genzoo_core import hookimpl

        @hookimpl
        def genzoo_api_range():
            return ">=1,<2"

        @hookimpl
        def genzoo_register_models(registry):
            return []
    """
    site = make_plugin("genzoo-sig", {"zoo_test_sig.py": source}, {"sig": "zoo_test_sig"})
    registry = Registry(path=[str(site)], builtin=False)
    record = record_of(registry, "sig")
    assert record.status == "failed" and "genzoo_register_models" in record.error
    assert "registry" in record.error and "\n" not in record.error
    assert registry.pm.get_plugins() == set()
    assert registry.pm.hook.genzoo_api_range.get_hookimpls() == []


def test_a_malformed_entry_point_is_refused_saying_what_it_should_look_like(make_plugin):
    site = make_plugin("genzoo-ep", {"zoo_test_ep.py": plugin_source("ep")},
                       {"ep": "zoo_test_ep:", "ep-ok": "zoo_test_ep"})
    registry = Registry(path=[str(site)])
    assert "ep" in registry.models
    record = record_of(registry, "ep")
    assert record.status == "failed"
    assert record.error == ("its entry point ep = 'zoo_test_ep:' is not 'package.module' or "
                            "'package.module:attribute'; fix [project.entry-points.genzoo] in "
                            "the plugin's pyproject.toml")


def test_a_misspelt_hook_is_refused_with_the_right_name(make_plugin):
    site = hook_plugin(make_plugin, "typo", genzoo_register_model="return []")
    record = record_of(Registry(path=[str(site)]), "typo")
    assert record.status == "failed"
    assert "genzoo_register_model()" in record.error
    assert "did you mean genzoo_register_models()" in record.error


def test_one_module_under_two_entry_points_is_refused_once(make_plugin):
    site = make_plugin("genzoo-twice", {"zoo_test_twice.py": plugin_source("twice")},
                       {"twice": "zoo_test_twice", "twice-again": "zoo_test_twice"})
    registry = Registry(path=[str(site)])
    assert "twice" in registry.models
    record = record_of(registry, "twice-again")
    assert record.status == "failed"
    assert record.error == ("zoo_test_twice is already loaded as plugin 'twice' of "
                            "genzoo-twice; remove one of the two entry points")
    assert record_of(registry, "twice").status == "ok"


@pytest.mark.parametrize("strict_from", ["env", "argument"])
def test_strict_mode_refuses_an_incompatible_plugin_with_the_intended_error(
        make_plugin, monkeypatch, capsys, strict_from):
    import genzoo_core
    from genzoo_core import registry as registry_module

    site = make_plugin("genzoo-future", {"zoo_test_future2.py": plugin_source("future", ">=2,<3")},
                       {"future": "zoo_test_future2"}, version="3.0")
    if strict_from == "env":
        monkeypatch.setenv("GENZOO_STRICT_PLUGINS", "1")
        registry = Registry(path=[str(site)])
    else:
        registry = Registry(path=[str(site)], strict=True)
    with pytest.raises(PluginError, match=r"plugin 'future' from genzoo-future 3\.0: supports "
                       r"genzoo API >=2,<3.*GENZOO_STRICT_PLUGINS is set"):
        registry.load()
    with pytest.raises(PluginError, match="supports genzoo API"):  # again: not half-loaded
        registry.get_model("future")
    monkeypatch.setattr(registry_module, "_default", registry)
    with pytest.raises(PluginError, match="supports genzoo API >=2,<3"):
        genzoo_core.list_models()
    assert cli_main(["list"], registry=registry) == 1
    err = capsys.readouterr().err
    assert err.startswith("genzoo: error: plugin 'future' from genzoo-future 3.0: supports")
    assert err.count("\n") == 1 and "AssertionError" not in err


def test_strict_mode_is_fatal_for_a_hook_raising_system_exit(make_plugin):
    site = hook_plugin(make_plugin, "exiter", genzoo_register_models="raise SystemExit(3)")
    with pytest.raises(PluginError, match=r"plugin 'exiter' from genzoo-exiter 1\.0: hook "
                       r"genzoo_register_models\(\) raised SystemExit: 3 \(GENZOO_STRICT"):
        Registry(path=[str(site)], strict=True).load()


@pytest.mark.parametrize("hook", sorted(SPEC_OF_HOOK))
@pytest.mark.parametrize("how", ["same spec twice", "two specs, one name"])
def test_a_plugin_registering_a_name_twice_is_refused_naming_itself(make_plugin, hook, how):
    spec = SPEC_OF_HOOK[hook]
    if how == "same spec twice":
        body = f"spec = {spec.format('twin')}\nreturn [spec, spec]"
    else:
        other = spec.replace("zoo_test_x", "zoo_test_y")
        body = f"return [{spec.format('twin')}, {other.format('twin')}]"
    good(make_plugin)
    site = hook_plugin(make_plugin, "twins", **{hook: body})
    registry = Registry(path=[str(site)])
    record = record_of(registry, "twins")
    kind = {"genzoo_register_models": "model", "genzoo_register_datasets": "dataset",
            "genzoo_register_feature_extractors": "feature extractor"}[hook]
    assert record.status == "failed"
    assert record.error == (f"hook {hook}() returned {kind} name 'twin' twice; give each "
                            f"{kind} its own name, or return it once")
    assert registry.conflicts == {}
    assert "twin" not in {*registry.models, *registry.datasets, *registry.feature_extractors}
    assert list(registry.models) == ["good"]
    with pytest.raises(PluginError, match=f"plugin 'twins' from genzoo-twins 1.0: hook {hook}"):
        Registry(path=[str(site)], strict=True).load()


@pytest.mark.parametrize("builtin", [True, False])
@pytest.mark.parametrize(("hook", "name", "kind"), [
    ("genzoo_register_datasets", "mnist", "dataset"),
    ("genzoo_register_datasets", "fashion-mnist", "dataset"),
    ("genzoo_register_feature_extractors", "inception-v3", "feature extractor"),
])
def test_names_the_core_registers_are_reserved(make_plugin, hook, name, kind, builtin):
    body = f"return [{SPEC_OF_HOOK[hook].format(name)}, {SPEC_OF_HOOK[hook].format('mine')}]"
    site = hook_plugin(make_plugin, "squatter", **{hook: body})
    registry = Registry(path=[str(site)], builtin=builtin)
    record = record_of(registry, "squatter")
    assert record.status == "failed"
    assert record.error == (
        f"hook {hook}() returned {kind} name '{name}', which genzoo-core reserves for its own; "
        f"rename it (e.g. 'squatter-{name}')"
    )
    assert registry.conflicts == {}
    table = registry.datasets if kind == "dataset" else registry.feature_extractors
    assert "mine" not in table
    if builtin:
        assert table[name].distribution == "genzoo-core"
        assert registry.get_dataset("mnist").distribution == "genzoo-core"
    else:
        assert name not in table


@pytest.mark.parametrize(("body", "shown"), [
    ("return None", "None (NoneType)"),
    ("return 3", "3 (int)"),
    ("return {'name': 'x'}", "{'name': 'x'} (dict)"),
    ("return 'dcgan'", "'dcgan' (str)"),
    ("return ModelSpec(name='solo', builder='a.b:C', components=('g',))",
     "returned ModelSpec(name='solo'"),
    ("return (s for s in [])", "(generator)"),
])
def test_a_hook_returning_the_wrong_type_says_what_came_back(make_plugin, body, shown):
    site = hook_plugin(make_plugin, "wrong", genzoo_register_models=body)
    record = record_of(Registry(path=[str(site)]), "wrong")
    assert record.status == "failed"
    assert record.error.startswith("hook genzoo_register_models() returned ")
    assert shown in record.error
    assert record.error.endswith("; expected a list of ModelSpec")
    assert "\n" not in record.error


@pytest.mark.parametrize(("hook", "item", "shown", "expected"), [
    ("genzoo_register_models", "None", "None (NoneType)", "ModelSpec"),
    ("genzoo_register_models", "'x' * 500", "(str)", "ModelSpec"),
    ("genzoo_register_models", "DatasetSpec(name='d', loader='a.b:c')",
     "(DatasetSpec)", "ModelSpec"),
    ("genzoo_register_datasets", "{'name': 'd'}", "{'name': 'd'} (dict)", "DatasetSpec"),
    ("genzoo_register_feature_extractors", "1", "1 (int)", "FeatureExtractorSpec"),
])
def test_a_list_holding_the_wrong_type_says_which_item(make_plugin, hook, item, shown, expected):
    site = hook_plugin(make_plugin, "wrongitem", **{hook: f"return [{item}]"})
    record = record_of(Registry(path=[str(site)]), "wrongitem")
    assert record.status == "failed"
    assert record.error.startswith(f"hook {hook}() returned a list holding ")
    assert shown in record.error and record.error.endswith(f"; expected a list of {expected}")
    assert len(record.error) < 250  # the repr is kept short


def test_a_hook_raising_a_spec_error_says_which_hook(make_plugin):
    body = "return [ModelSpec(name='x', builder='a.b:C', components=('g',), condition='bogus')]"
    site = hook_plugin(make_plugin, "badspec", genzoo_register_models=body)
    record = record_of(Registry(path=[str(site)]), "badspec")
    assert record.status == "failed"
    assert record.error.startswith("hook genzoo_register_models() raised PluginError: "
                                   "ModelSpec 'x': condition 'bogus' is not one of ")
    site = hook_plugin(make_plugin, "strcomp", genzoo_register_models=(
        "return [ModelSpec(name='y', builder='a.b:C', components='generator')]"))
    record = record_of(Registry(path=[str(site)]), "strcomp")
    assert record.error.startswith("hook genzoo_register_models() raised PluginError: "
                                   "ModelSpec 'y': components must be a list of strings")


@pytest.mark.parametrize(("body", "expected"), [
    ("return 1", "genzoo_api_range() returned 1 (int); expected a version specifier string "
                 "such as '>=1.0,<2'"),
    ("return None", "genzoo_api_range() returned None (NoneType); expected a version specifier "
                    "string such as '>=1.0,<2'"),
    ("return ['>=1']", "genzoo_api_range() returned ['>=1'] (list); expected a version "
                       "specifier string such as '>=1.0,<2'"),
    ("return ''", "genzoo_api_range() returned '', which admits every API version; return "
                  "the range the plugin is written for, such as '>=1.0,<2'"),
    ("return 'one'", "genzoo_api_range() returned 'one', which is not a PEP 440 version "
                     "specifier; return one such as '>=1.0,<2'"),
])
def test_an_api_range_that_is_not_a_specifier_is_refused(make_plugin, body, expected):
    site = hook_plugin(make_plugin, "badrange", genzoo_api_range=body)
    record = record_of(Registry(path=[str(site)]), "badrange")
    assert (record.status, record.error) == ("failed", expected)


@pytest.mark.parametrize(("weights", "words"), [
    ("WeightsSpec(name='w', sha256='a' * 64, file='../../etc/passwd')", "leaves the plugin"),
    ("WeightsSpec(name='w', sha256='a' * 64, file='/etc/passwd')", "is absolute"),
    ("WeightsSpec(name='w', sha256='a' * 64, file='C:\\\\w.h5')", "is absolute"),
    ("WeightsSpec(name='w', sha256='a' * 64, file='~/w.h5')", "is absolute"),
    ("WeightsSpec(name='w', sha256='a' * 64, url='file:///etc/passwd', size=9)",
     "url must start with https://"),
    ("WeightsSpec(name='w', sha256='a' * 64, url='https://example.org/w.h5', size=-1)",
     "size must be a positive number"),
])
def test_weights_outside_the_package_or_unbounded_refuse_the_plugin(
        make_plugin, capsys, weights, words):
    body = (f"return [ModelSpec(name='heavy', builder='a.b:C', components=('g',),\n"
            f"                  weights=[{weights}])]")
    good(make_plugin)
    site = hook_plugin(make_plugin, "heavy", genzoo_register_models=body)
    registry = Registry(path=[str(site)])
    record = record_of(registry, "heavy")
    assert record.status == "failed" and "heavy" not in registry.models
    assert record.error.startswith("genzoo_register_models() returned an invalid ModelSpec: "
                                   "weights 'heavy/w': ")
    assert words in record.error
    assert cli_main(["plugins"], registry=registry) == 0
    out = capsys.readouterr().out
    assert f"heavy (genzoo-heavy 1.0) failed: {record.error}\n" in out
    with pytest.raises(PluginError, match=f"plugin 'heavy' from genzoo-heavy 1.0: .*{words}"):
        Registry(path=[str(site)], strict=True).load()


def test_an_unknown_model_names_the_plugins_that_failed_and_why(make_plugin):
    good(make_plugin)
    hook_plugin(make_plugin, "exiter", genzoo_register_models="raise SystemExit(3)")
    site = make_plugin("genzoo-future", {"zoo_test_future3.py": plugin_source("f", ">=2,<3")},
                       {"future": "zoo_test_future3"})
    registry = Registry(path=[str(site)])
    with pytest.raises(UnknownNameError) as info:
        registry.get_model("exiter")
    message = str(info.value)
    assert message.startswith("unknown model 'exiter'. Known models: good.")
    assert ("2 plugin(s) failed to load and may provide it: 'exiter' (genzoo-exiter 1.0) "
            "failed: hook genzoo_register_models() raised SystemExit: 3; 'future' "
            "(genzoo-future 1.0) incompatible: supports genzoo API >=2,<3") in message
    assert message.endswith(". Fix or uninstall them; see 'genzoo plugins -v'.")
    assert "pip install genzoo-exiter" not in message and "\n" not in message
    with pytest.raises(UnknownNameError, match="'exiter' .* failed: hook"):
        registry.get_dataset("nothing")


@pytest.mark.parametrize("name", ["../../etc/passwd", "", "..", "Dcgan", "a b", "x\ny", 7,
                                  ["dcgan"], None])
def test_an_invalid_model_name_gets_no_install_advice(plugin_site, name):
    registry = Registry(path=[str(plugin_site)])
    with pytest.raises(UnknownNameError) as info:
        registry.get_model(name)
    message = str(info.value)
    assert f"{name!r} is not a valid model name" in message
    assert "lowercase letters, digits, '-' and '_', starting with a letter" in message
    assert "pip install" not in message and "\n" not in message


@pytest.mark.parametrize("lookup", ["get_dataset", "get_feature_extractor"])
def test_a_dataset_or_extractor_name_that_is_not_a_string_is_unknown(plugin_site, lookup):
    with pytest.raises(UnknownNameError, match=r"unknown .* \['mnist'\]\."):
        getattr(Registry(path=[str(plugin_site)]), lookup)(["mnist"])


@pytest.mark.parametrize(("lookup", "command"), [("get_dataset", "genzoo datasets"),
                                                 ("get_feature_extractor", "genzoo features")])
def test_an_invalid_dataset_or_extractor_name_points_to_its_own_listing(plugin_site, lookup,
                                                                        command):
    with pytest.raises(UnknownNameError) as info:
        getattr(Registry(path=[str(plugin_site)]), lookup)("Not/Valid")
    assert str(info.value).endswith(f"See '{command}'.")


def test_a_spec_subclass_cannot_skip_the_core_checks(make_plugin):
    source = hooks_source(genzoo_register_models="\n".join([
        "class Lax(ModelSpec):",
        "    def validate(self):",
        "        pass",
        "return [Lax(name='Not Valid', builder='a.b:C', components=('g',))]",
    ]))
    site = make_plugin("genzoo-lax", {"zoo_test_lax.py": source}, {"lax": "zoo_test_lax"})
    record = record_of(Registry(path=[str(site)]), "lax")
    assert record.status == "failed" and "model name 'Not Valid' is invalid" in record.error


def test_a_valid_unknown_model_name_gets_install_advice(plugin_site):
    with pytest.raises(UnknownNameError, match=r"Install its plugin \(pip install genzoo-mygan\)"):
        Registry(path=[str(plugin_site)]).get_model("mygan")


def test_cli_shows_each_broken_plugin_on_one_line(make_plugin, capsys):
    good(make_plugin)
    hook_plugin(make_plugin, "exiter", genzoo_register_models="raise SystemExit(3)")
    hook_plugin(make_plugin, "noneret", genzoo_register_datasets="return None")
    site = hook_plugin(make_plugin, "squatter",
                       genzoo_register_datasets=f"return [{DATASET.format('mnist')}]")
    registry = Registry(path=[str(site)])
    assert cli_main(["list"], registry=registry) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].startswith("good ")
    assert ("3 plugin(s) not loaded: exiter (failed), noneret (failed), squatter (failed)"
            in captured.err)
    assert cli_main(["plugins"], registry=registry) == 0
    out = capsys.readouterr().out
    for line in ("exiter (genzoo-exiter 1.0) failed: hook genzoo_register_models() raised "
                 "SystemExit: 3",
                 "noneret (genzoo-noneret 1.0) failed: hook genzoo_register_datasets() "
                 "returned None (NoneType); expected a list of DatasetSpec",
                 "squatter (genzoo-squatter 1.0) failed: hook genzoo_register_datasets() "
                 "returned dataset name 'mnist', which genzoo-core reserves"):
        assert any(printed.startswith(line) for printed in out.splitlines()), line
    assert "conflict" not in out
    assert cli_main(["datasets"], registry=registry) == 0
    assert "genzoo-squatter" not in capsys.readouterr().out
    assert cli_main(["info", "../../etc/passwd"], registry=registry) == 1
    err = capsys.readouterr().err
    assert err.startswith("genzoo: error: ") and "pip install" not in err


def test_a_real_genzoo_command_survives_a_hook_raising_system_exit(tmp_path):
    from conftest import write_distribution

    site = tmp_path / "site"
    write_distribution(site, "genzoo-aaa-exit", "1.0", {"aaa-exit": "zoo_test_aaa_exit"},
                       {"zoo_test_aaa_exit.py": hooks_source(
                           genzoo_register_models="raise SystemExit(3)")})
    genzoo = shutil.which("genzoo", path=str(Path(sys.executable).parent)) or "genzoo"
    env = {**os.environ, "PYTHONPATH": str(site), "GENZOO_DEBUG": "1"}
    env.pop("GENZOO_STRICT_PLUGINS", None)

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([genzoo, *args], capture_output=True, text=True, timeout=120,
                              env={**env, **extra})

    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    assert "aaa-exit (failed)" in listed.stderr and "Traceback" not in listed.stderr
    plugins = run("plugins")
    assert plugins.returncode == 0, plugins.stderr
    assert ("aaa-exit (genzoo-aaa-exit 1.0) failed: hook genzoo_register_models() raised "
            "SystemExit: 3") in plugins.stdout
    strict = run("list", GENZOO_STRICT_PLUGINS="1", GENZOO_DEBUG="")
    assert strict.returncode == 1
    assert strict.stderr == (
        "genzoo: error: plugin 'aaa-exit' from genzoo-aaa-exit 1.0: hook "
        "genzoo_register_models() raised SystemExit: 3 (GENZOO_STRICT_PLUGINS is set, so "
        "plugin problems are fatal)\n"
    )


@pytest.mark.parametrize(("api", "admits", "excludes"), [
    (None, [], []),
    ("1.3", ["1.3.0", "1.9.3"], ["1.2.9", "2.0.0"]),
    ("1.5", ["1.5.0", "1.5.2", "1.9.3"], ["1.4.9", "2.0.0"]),
    ("2.0", ["2.0.0", "2.4.1"], ["1.9.0", "3.0.0"]),
])
def test_new_plugin_requires_a_core_range_that_excludes_the_next_breaking_release(
        tmp_path, monkeypatch, api, admits, excludes):
    """The skeleton's genzoo-core range is its API range: core MAJOR.MINOR is the API."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    from genzoo_core import API_VERSION, scaffold

    tomllib = pytest.importorskip("tomllib")
    if api is not None:
        monkeypatch.setattr(scaffold, "API_VERSION", api)
    running = Version(f"{api or API_VERSION}.0")
    nxt = Version(f"{running.major + 1}.0")
    target = scaffold.new_plugin("bounded", tmp_path)
    pyproject = tomllib.loads((target / "pyproject.toml").read_text())
    [requirement] = [Requirement(r) for r in pyproject["project"]["dependencies"]
                     if r.startswith("genzoo-core")]
    assert running in requirement.specifier and nxt not in requirement.specifier
    assert [v for v in admits if Version(v) not in requirement.specifier] == []
    assert [v for v in excludes if Version(v) in requirement.specifier] == []
    import re

    from packaging.specifiers import SpecifierSet

    plugin = (target / "genzoo_bounded" / "plugin.py").read_text()
    [declared] = re.findall(r'def genzoo_api_range\(\) -> str:\n.*?return "([^"]+)"', plugin, re.S)
    assert SpecifierSet(declared) == requirement.specifier


def test_the_reserved_names_are_documented_where_authors_read_the_rules():
    from genzoo_core import hookspecs
    from genzoo_core.registry import reserved_names

    rules = (ROOT / "CONTRIBUTING.md").read_text()
    rules = rules[rules.index("### The rules"):rules.index("## The hooks")]
    hook_docs = {"dataset": hookspecs.genzoo_register_datasets.__doc__,
                 "feature extractor": hookspecs.genzoo_register_feature_extractors.__doc__,
                 "metric": hookspecs.genzoo_register_metrics.__doc__}
    for kind, names in reserved_names().items():
        assert names, kind
        for name in names:
            assert f"`{name}`" in rules and f"``{name}``" in hook_docs[kind], name
