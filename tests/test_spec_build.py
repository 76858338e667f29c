"""A spec builds its model and hands itself in: a model never looks itself up."""

from __future__ import annotations

import pytest
from conftest import TOY, write_distribution

import genzoo_core
from genzoo_core import registry as registry_module
from genzoo_core import weights as weights_io
from genzoo_core.spec import ModelSpec, spec_being_built


@pytest.fixture
def other_registry(tmp_path, monkeypatch):
    """The toy plugin in a registry of its own, under another distribution and version.

    The default registry fails if anything asks for it, so a model built through
    this registry shows that nothing looked it up elsewhere.
    """
    site = tmp_path / "other-site"
    write_distribution(site, "genzoo-toy-other", "2.5", {"toy": "toyzoo.plugin"}, {})
    monkeypatch.syspath_prepend(str(TOY))

    def no_default_registry() -> registry_module.Registry:
        raise AssertionError("the default registry was asked for")

    monkeypatch.setattr(registry_module, "default_registry", no_default_registry)
    return registry_module.Registry(path=[str(site)])


def test_create_through_a_registry_gives_that_registrys_spec(other_registry):
    model = genzoo_core.create("toygan", registry=other_registry)
    assert model.spec is other_registry.models["toygan"]
    assert (model.spec.distribution, model.spec.version) == ("genzoo-toy-other", "2.5")


def test_saved_and_loaded_through_a_registry_keep_its_distribution(other_registry, tmp_path):
    path = tmp_path / "toy.h5"
    genzoo_core.create("toygan", registry=other_registry).save_weights(str(path))
    metadata = weights_io.read_header(path).metadata
    assert (metadata["plugin"], metadata["plugin_version"]) == ("genzoo-toy-other", "2.5")
    loaded = genzoo_core.load(str(path), registry=other_registry)
    assert loaded.spec is other_registry.models["toygan"]


def test_every_build_of_load_goes_through_the_spec(other_registry, tmp_path, monkeypatch):
    path = tmp_path / "toy.h5"
    genzoo_core.create("toygan", registry=other_registry).save_weights(str(path))
    built = []
    original = ModelSpec.build

    def counting_build(self, config=None, **kwargs):
        built.append(self)
        return original(self, config, **kwargs)

    monkeypatch.setattr(ModelSpec, "build", counting_build)
    genzoo_core.load(str(path), registry=other_registry)
    spec = other_registry.models["toygan"]
    assert built == [spec, spec]  # abstractly (to check the file fits), then for real


def test_a_class_instantiated_directly_keeps_its_class_spec(other_registry):
    from toyzoo.model import ToyGAN

    model = ToyGAN({"units": 4})
    assert model.spec is ToyGAN.spec
    assert (model.spec.distribution, model.spec.version) == ("", "")
    assert model.config["units"] == 4


def test_build_hands_the_spec_to_that_class_only_while_building(other_registry):
    from toyzoo.model import ToyCGAN, ToyGAN

    spec = other_registry.models["toycgan"]
    model = spec.build({"units": 4})
    assert isinstance(model, ToyCGAN) and model.spec is spec
    assert model.config["units"] == 4
    assert spec_being_built(ToyCGAN) is None

    class Wider(ToyGAN):
        """A class the spec's builder does not name: built only when passed as ``cls``."""

    gan_spec = other_registry.models["toygan"]
    assert Wider().spec is ToyGAN.spec
    wider = gan_spec.build(cls=Wider)
    assert type(wider) is Wider and wider.spec is gan_spec
    with pytest.raises(genzoo_core.ConfigError):
        spec.build({"no_such_key": 1})
    assert spec_being_built(ToyCGAN) is None  # reset after a failed build too


def test_abstract_variables_match_the_real_model(other_registry):
    spec = other_registry.models["toygan"]
    model = spec.build({"units": 5})
    abstract = weights_io.abstract_variables(spec, model.config)
    assert abstract == {
        name: {key: (tuple(v.shape), str(v.dtype)) for key, v in found.items()}
        for name, found in weights_io._model_variables(model).items()
    }
    assert abstract["generator"]["hidden/kernel"][0] == (3, 5)
