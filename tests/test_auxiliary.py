"""Auxiliary networks: models that draw no images, trained to serve another model.

A text encoder or a classifier that scores a model's images is trained on an
objective of its own; as a registered model (``ModelSpec.auxiliary``) it is
trained, saved, published and checked by the conformance kit like any model,
without declaring ``sample``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import one_error_line, run_cli

from genzoo_core.errors import GenzooError, PluginError
from genzoo_core.spec import ModelSpec

PLUGIN = '''
from genzoo_core.plugin import ModelSpec, hookimpl, schema

SPEC = ModelSpec(
    name="zoo-test-scorer",
    builder="zoo_test_scorer.model:Scorer",
    description="a tiny classifier that scores another model's images",
    components=("classifier",),
    condition="class_label",
    capabilities=(),
    auxiliary="toygan",
    default_config={"image_shape": [4, 4, 1], "num_classes": 2, "units": 8,
                    "learning_rate": 1e-2, "batch_size": 8},
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=64),
        "num_classes": schema.Int(min=2, max=100),
        "units": schema.Int(min=1, max=256),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
)


@hookimpl
def genzoo_api_range():
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models():
    return [SPEC]
'''

MODEL = '''
import keras
import tensorflow as tf

from genzoo_core.plugin import GenerativeModel
from zoo_test_scorer.plugin import SPEC


class Scorer(GenerativeModel):
    spec = SPEC

    def __init__(self, config=None, **overrides):
        super().__init__(config, **overrides)
        c = self.settings
        x = keras.Input(tuple(c["image_shape"]))
        h = keras.layers.Flatten(name="flat")(x)
        h = keras.layers.Dense(c["units"], activation="relu", name="hidden")(h)
        self.classifier = keras.Model(x, keras.layers.Dense(c["num_classes"], name="logits")(h),
                                      name="classifier")

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            logits = self.classifier(batch["images"], training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.cast(batch["labels"], tf.int32), logits=logits))
        self.minimize(tape, loss, "classifier")
        return {"loss": loss}
'''


@pytest.fixture
def scorer_registry(make_plugin, toy_registry):
    from genzoo_core.registry import Registry

    site = make_plugin("genzoo-zoo-test-scorer", {
        "zoo_test_scorer/__init__.py": "", "zoo_test_scorer/plugin.py": PLUGIN,
        "zoo_test_scorer/model.py": MODEL,
    }, {"scorer": "zoo_test_scorer.plugin"})
    return Registry(path=[*toy_registry.path, str(site)])


def labelled_data():
    from genzoo_core.data import DataSource

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (32, 4, 4, 1), dtype=np.uint8)
    return DataSource("labelled", images, labels=(images.mean(axis=(1, 2, 3)) > 127)
                      .astype(np.int64))


def test_a_model_that_draws_nothing_must_say_whom_it_serves():
    base = ModelSpec(name="enc", builder="m:C", components=("encoder",), capabilities=())
    assert replace(base, auxiliary="stackgan").auxiliary == "stackgan"  # accepted
    with pytest.raises(PluginError, match="sets auxiliary='THAT_MODEL'"):
        base.validate()
    with pytest.raises(PluginError, match="auxiliary must name the model"):
        replace(base, auxiliary="Not A Name").validate()


def test_an_auxiliary_network_trains_without_grids_and_refuses_to_sample(scorer_registry,
                                                                         tmp_path, capsys):
    import genzoo_core

    model = genzoo_core.create("zoo-test-scorer", registry=scorer_registry)
    genzoo_core.train(model, labelled_data(), tmp_path / "run", epochs=1,
                      registry=scorer_registry, verbose=0)
    assert (tmp_path / "run" / "model.h5").is_file()
    assert not (tmp_path / "run" / "samples").exists() or \
        not any((tmp_path / "run" / "samples").iterdir())
    with pytest.raises(GenzooError, match="auxiliary network of 'toygan'"):
        model.sample(2, seed=0)
    code, out, _ = run_cli(["list"], scorer_registry, capsys)
    assert "[auxiliary network of toygan]" in out
    code, _, err = run_cli(["sample", str(tmp_path / "run" / "model.h5"), "-o",
                            str(tmp_path / "g.png")], scorer_registry, capsys)
    assert code == 1 and one_error_line(err) and "draws no images" in err


@pytest.mark.parametrize("check", ["check_sample", "check_weights_roundtrip", "check_train_step",
                                   "check_capabilities", "check_load_by_name", "check_spec"])
def test_the_kit_checks_an_auxiliary_network(scorer_registry, check):
    from genzoo_core import testing

    options = testing.KitOptions(registry=scorer_registry)
    getattr(testing, check)("zoo-test-scorer", options)
