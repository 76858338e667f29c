"""The two namespaces (users: genzoo_core, authors: genzoo_core.plugin) and component roles."""

from __future__ import annotations

import subprocess
import sys
import warnings

import keras
import pytest

import genzoo_core
import genzoo_core.plugin as author
from genzoo_core import PluginError, Registry
from genzoo_core.plugin import ModelSpec, Role, role_problem
from genzoo_core.testing import CHECKS, check_roles, check_train_step

CHEAP = """
import sys, genzoo_core, genzoo_core.plugin
from genzoo_core.plugin import ModelSpec, Role, hookimpl, schema
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "imported TensorFlow"
"""


def test_importing_either_namespace_imports_no_tensorflow() -> None:
    result = subprocess.run([sys.executable, "-c", CHEAP], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_namespaces_are_disjoint_and_every_name_resolves() -> None:
    assert not set(genzoo_core.__all__) & set(author.__all__)
    for module in (genzoo_core, author):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for name in module.__all__:
                getattr(module, name)


@pytest.mark.parametrize("name", sorted(genzoo_core.DEPRECATED_AUTHOR_NAMES))
def test_an_author_name_of_genzoo_core_warns_and_is_the_same_object(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 'import genzoo_core.losses' (as a test may do) binds the submodule on the package,
    # where no __getattr__ sees it: the warning covers the names reached through it.
    monkeypatch.delitem(genzoo_core.__dict__, name, raising=False)
    with pytest.warns(DeprecationWarning, match=f"import {name} from genzoo_core.plugin"):
        value = getattr(genzoo_core, name)
    assert value is getattr(author, name)


def test_from_import_of_an_author_name_warns_and_new_names_are_not_in_the_core() -> None:
    with pytest.warns(DeprecationWarning, match="import ModelSpec from genzoo_core.plugin"):
        from genzoo_core import ModelSpec as Old  # noqa: F401
    with pytest.warns(DeprecationWarning, match="import schema from genzoo_core.plugin"):
        from genzoo_core import schema  # noqa: F401
    for name in ("Role", "role_problem", "DataSourceProtocol", "nothing"):
        with pytest.raises(AttributeError):
            getattr(genzoo_core, name)


def spec(**changes: object) -> ModelSpec:
    fields = {"name": "m", "builder": "pkg.model:M", "components": ("g", "d")}
    return ModelSpec(**{**fields, **changes})


def test_roles_are_validated() -> None:
    assert spec(roles={"g": "generator"}).roles == {"g": Role.GENERATOR}
    assert spec().roles == {}
    with pytest.raises(PluginError, match="'critic' is not one of"):
        spec(roles={"d": "critic"})
    with pytest.raises(PluginError, match="roles must map component names"):
        spec(roles=["generator"])
    with pytest.raises(PluginError, match="roles name component\\(s\\) x that components"):
        spec(roles={"x": "encoder"}).validate()


def model(inputs: list[tuple[int | None, ...]], output: keras.layers.Layer,
          reshape: tuple[int, ...] | None = None) -> keras.Model:
    tensors = [keras.Input(shape) for shape in inputs]
    x = keras.layers.Flatten()(tensors[0]) if len(inputs[0]) > 1 else tensors[0]
    x = output(x)
    if reshape:
        x = keras.layers.Reshape(reshape)(x)
    return keras.Model(tensors, x)


IMAGE = (8, 8, 1)
GENERATOR = model([(16,)], keras.layers.Dense(64), (8, 8, 1))
DISCRIMINATOR = model([IMAGE], keras.layers.Dense(1))
ENCODER = model([IMAGE], keras.layers.Dense(6))
DECODER = model([(3,)], keras.layers.Dense(64 * 2), (8, 8, 1, 2))
HALF_SIZE_GENERATOR = model([(16,)], keras.layers.Dense(16), (4, 4, 1))
RGB_GENERATOR = model([(16,)], keras.layers.Dense(192), (8, 8, 3))
_PATCHES = keras.Input((None, None, 1))
PATCH_DISCRIMINATOR = keras.Model(_PATCHES, keras.layers.Conv2D(1, 3)(_PATCHES))


@pytest.mark.parametrize(("component", "role", "words"), [
    (GENERATOR, "generator", None),
    (HALF_SIZE_GENERATOR, "generator", None),  # an earlier stage's smaller images
    (DISCRIMINATOR, "discriminator", None),
    (PATCH_DISCRIMINATOR, "discriminator", None),
    (ENCODER, "encoder", None),
    (DECODER, "decoder", None),
    (RGB_GENERATOR, "generator", "has 3 channels, the model's images 1"),
    (DISCRIMINATOR, "generator", "first output has shape (None, 1)"),
    (GENERATOR, "discriminator", "first input has shape (None, 16)"),
    (GENERATOR, "encoder", "first input has shape (None, 16)"),
    (ENCODER, "decoder", "first input has shape (None, 8, 8, 1)"),
    (HALF_SIZE_GENERATOR, "decoder", "height 4; expected one equal to the model's 8"),
    (DECODER, "generator", "first output has shape (None, 8, 8, 1, 2)"),
    (ENCODER, "critic", "'critic' is not a role"),
    (keras.layers.Dense(3), "generator", "is not a Generator"),
    ("not a model", "generator", "is not a Generator"),
])
def test_role_problem_tells_the_parts_apart(component: object, role: str,
                                            words: str | None) -> None:
    problem = role_problem(component, role, IMAGE)
    if words is None:
        assert problem is None
    else:
        assert problem is not None and words in problem, problem


PLUGIN = """
    from dataclasses import replace

    from genzoo_core.plugin import hookimpl
    from toyzoo.plugin import SPEC

    SPECS = [
        replace(SPEC, name="rolegan",
                roles={"generator": "generator", "discriminator": "discriminator"}),
        replace(SPEC, name="swappedgan",
                roles={"generator": "discriminator", "discriminator": "generator"}),
        replace(SPEC, name="captiongan", condition="text"),
    ]

    @hookimpl
    def genzoo_api_range():
        return ">=1.2,<2"

    @hookimpl
    def genzoo_register_models():
        return SPECS
"""


@pytest.fixture
def role_registry(toy_registry: Registry, make_plugin) -> Registry:  # noqa: ANN001
    site = make_plugin("genzoo-role-test", {"zoo_roles/__init__.py": "",
                                            "zoo_roles/plugin.py": PLUGIN},
                       {"roles": "zoo_roles.plugin"})
    registry = Registry(path=[str(site)])
    assert not [p.error for p in registry.plugins if p.status != "ok"]
    return registry


def test_check_roles_runs_after_check_spec(role_registry: Registry) -> None:
    from genzoo_core.testing import KitOptions

    assert [check.__name__ for check in CHECKS][:2] == ["check_spec", "check_roles"]
    options = KitOptions(registry=role_registry)
    check_roles("rolegan", options)
    check_roles("toygan", KitOptions())  # declares no roles: nothing to check
    with pytest.raises(AssertionError) as info:
        check_roles("swappedgan", options)
    message = str(info.value)
    assert "component 'generator' does not play its role 'discriminator'" in message
    assert "component 'discriminator' does not play its role 'generator'" in message


def test_the_kit_calls_example_data_and_reports_its_default(role_registry: Registry) -> None:
    from genzoo_core.testing import KitOptions

    model = genzoo_core.create("captiongan", registry=role_registry)
    with pytest.raises(NotImplementedError, match="override GenerativeModel.example_data"):
        model.example_data(4)
    with pytest.raises(AssertionError, match="conditioned on text, so override "
                                             "GenerativeModel.example_data"):
        check_train_step("captiongan", KitOptions(registry=role_registry))
