"""Mixed-precision training: the precision option, its scope, loss scaling and every model.

Every first-party model is built under ``mixed_bfloat16`` with a tiny config and
takes two train steps on random data of its kind: the losses it logs are finite
float32, its variables stay float32, its layers compute in bfloat16, and what it
samples is float32. The rest runs on the toy GAN: ``genzoo_core.train`` and
``genzoo train --precision``, the metadata and resume, recipes, loading a model
trained in mixed precision, and the refusal of ``mixed_float16`` without a GPU.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import one_error_line, run_cli

import genzoo_core
from genzoo_core import ConfigError
from genzoo_core import precision as precision_module
from genzoo_core.precision import (
    TRAINING_PRECISIONS,
    check_precision,
    model_precision,
    precision_scope,
)
from genzoo_core.registry import Registry
from genzoo_core.spec import Capability
from genzoo_core.testing.support import KitOptions, _condition, _default_train_data
from genzoo_core.weights import read_header

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {f"genzoo-{folder.name.removeprefix('genzoo-')}"
               for folder in (ROOT / "plugins").glob("genzoo-*") if folder.is_dir()}

# The smallest configs that still build each model's architecture.
TINY = {
    "gan": {"generator_units": [8], "discriminator_units": [8], "latent_dim": 4},
    "cgan": {"generator_filters": [8, 4], "discriminator_filters": [4, 8], "embedding_dim": 4,
             "latent_dim": 4, "num_classes": 3},
    "dcgan": {"generator_filters": 4, "discriminator_filters": 4},
    "vae": {"latent_dim": 4, "encoder_filters": [4, 8], "decoder_filters": [8, 4],
            "hidden_units": 8},
    "pix2pix": {"image_shape": [32, 32, 3], "generator_filters": 2, "discriminator_filters": 2},
    "cyclegan": {"image_shape": [8, 8, 3], "generator_filters": 2, "residual_blocks": 1,
                 "discriminator_filters": 2, "pool_size": 4},
    "cyclegan-domain-classifier": {"image_shape": [16, 16, 3], "filters": [4, 4],
                                   "feature_dim": 4},
    "pixelcnn": {"image_shape": [6, 6, 1], "filters": 4, "gated_layers": 2, "kernel_size": 3,
                 "output_filters": 4},
    "rbm": {"image_shape": [6, 6, 1], "hidden_units": 5, "sample_burn_in": 5},
    "stackgan": {"word_dim": 4, "text_units": 4, "embedding_dim": 16, "condition_dim": 4,
                 "latent_dim": 4, "stage1_generator_filters": [8, 4, 4, 4],
                 "stage1_discriminator_filters": [4, 4, 4],
                 "stage2_generator_filters": [4, 4, 4], "stage2_residual_blocks": 0,
                 "stage2_discriminator_filters": [4, 4, 4, 4]},
    "stackgan-attribute-classifier": {"extra_renders": 0},
    "stackgan-text-encoder": {"word_dim": 4, "text_units": 4, "embedding_dim": 16},
    "ddpm": {"channels": [4, 8], "groups": 2, "attention_levels": [1], "timesteps": 10,
             "sampling_steps": 2, "likelihood_timesteps": 2},
    "ddpm-guided": {"channels": [4, 8], "groups": 2, "attention_levels": [1], "timesteps": 10,
                    "sampling_steps": 2, "num_classes": 3},
}
BATCH = 4


@pytest.fixture(scope="module")
def installed():
    """The installed plugins' registry (the tests' default registry holds none)."""
    return Registry()


def first_party(registry):
    return sorted(spec.name for spec in registry.models.values()
                  if spec.distribution in FIRST_PARTY)


def all_layers(layer):
    yield layer
    for inner in getattr(layer, "layers", []):
        yield from all_layers(inner)


def float_variables(variables):
    return [v for v in variables if "float" in str(v.dtype)]


def one_batch(model):
    """A batch of random data of the model's kind, as the conformance kit makes it."""
    data = model.prepare_data(_default_train_data(model, KitOptions()))
    return next(iter(data.dataset(shuffle=False, batch_size=BATCH)))


def test_every_first_party_model_has_a_tiny_config(installed):
    assert first_party(installed) == sorted(TINY)


@pytest.mark.parametrize("name", sorted(TINY))
def test_each_model_trains_in_mixed_bfloat16(installed, name):
    keras.utils.set_random_seed(0)
    with precision_scope("mixed_bfloat16"):
        model = genzoo_core.create(name, TINY[name], registry=installed)
    assert keras.config.dtype_policy().name == "float32"  # the scope restored it
    assert model_precision(model) == "mixed_bfloat16"
    for component_name, component in model.components.items():
        if component.weights:  # a component that computes: in bfloat16
            computing = {layer.compute_dtype for layer in all_layers(component)}
            assert "bfloat16" in computing, component_name
    batch = one_batch(model)
    model.compile()
    model.build_optimizers()
    before = [v.numpy().copy() for v in model.trainable_variables]
    for _ in range(2):
        logs = model.train_step(batch)
    assert logs
    for key, value in logs.items():
        assert value.dtype == tf.float32, (key, value.dtype)
        assert np.all(np.isfinite(value.numpy())), (key, value)
    assert all(v.dtype == "float32" for v in float_variables(model.variables))
    for optimizer in model.optimizers.values():
        assert all(v.dtype == "float32" for v in float_variables(optimizer.variables))
    after = [v.numpy() for v in model.trainable_variables]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    if Capability.SAMPLE in model.capabilities:
        images = model.sample(2, condition=_condition(model, 2, KitOptions()), seed=0)
        assert images.dtype == np.float32 and np.all(np.isfinite(images))


def test_the_scope_restores_the_policy_on_error_and_refuses_unknown_precisions():
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError), precision_scope("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        raise RuntimeError("inside")
    assert keras.config.dtype_policy().name == before
    with pytest.raises(ConfigError, match="precision must be one of float32, mixed_bfloat16, "
                                          "mixed_float16, got 'float16'"):
        with precision_scope("float16"):
            pass
    assert keras.config.dtype_policy().name == before
    assert check_precision("mixed_float16") == "mixed_float16"
    assert TRAINING_PRECISIONS == ("float32", "mixed_bfloat16", "mixed_float16")


def test_mixed_float16_scales_the_loss_in_minimize(installed):
    # float16 arithmetic runs (slowly) on a CPU too; the Trainer refuses it there, so this
    # drives minimize() directly.
    keras.utils.set_random_seed(0)
    with precision_scope("mixed_float16"):
        model = genzoo_core.create("gan", TINY["gan"], registry=installed)
    model.compile()
    model.build_optimizers()
    scaler = model.loss_scale_optimizer("generator")
    assert isinstance(scaler, keras.optimizers.LossScaleOptimizer)
    assert scaler.inner_optimizer is model.optimizers["generator"]
    assert float(scaler.dynamic_scale.numpy()) == 2.0 ** 15
    batch = {"images": tf.random.uniform((BATCH, 28, 28, 1))}
    for _ in range(3):
        logs = model.train_step(batch)
    assert all(v.dtype == tf.float32 and np.isfinite(v.numpy()) for v in logs.values())
    # Each step either applied unscaled gradients (the inner optimizer counts it) or
    # skipped an overflowing one and halved the scale.
    for name in ("generator", "discriminator"):
        scaler = model.loss_scale_optimizer(name)
        applied = int(model.optimizers[name].iterations.numpy())
        halvings = round(np.log2(2.0 ** 15 / float(scaler.dynamic_scale.numpy())))
        assert applied + halvings == 3 and applied >= 1
    assert all(v.dtype == "float32" for v in float_variables(model.variables))
    # float32 and bfloat16 need no loss scaling.
    with precision_scope("mixed_bfloat16"):
        plain = genzoo_core.create("gan", TINY["gan"], registry=installed)
    plain.compile()
    assert plain.loss_scale_optimizer("generator") is None


def test_mixed_float16_without_a_gpu_is_one_clear_error(toy_registry, toy_data, tmp_path,
                                                        capsys, monkeypatch):
    monkeypatch.setattr(precision_module, "gpu_available", lambda: False)
    message = ("mixed_float16 needs a GPU (none found); on a CPU use --precision "
               "mixed_bfloat16")
    with pytest.raises(ConfigError, match=r"mixed_float16 needs a GPU \(none found\)"):
        genzoo_core.train("toygan", toy_data, tmp_path / "run", epochs=1,
                          precision="mixed_float16", verbose=0)
    assert not (tmp_path / "run").exists()
    code, _, err = run_cli(["train", "toygan", "--data", "toy-data", "--epochs", "1",
                            "--out", str(tmp_path / "cli"), "--precision", "mixed_float16"],
                           toy_registry, capsys)
    assert code != 0 and one_error_line(err) and message in err
    # A model built under the policy by hand is refused by the Trainer the same way.
    with precision_scope("mixed_float16"):
        model = genzoo_core.create("toygan")
    with pytest.raises(ConfigError, match="needs a GPU"):
        genzoo_core.Trainer(model, tmp_path / "by-hand", verbose=0)


def test_train_records_the_precision_and_the_weights_load_in_float32(toy_registry, toy_data,
                                                                     tmp_path):
    out = tmp_path / "run"
    model = genzoo_core.train("toygan", toy_data, out, epochs=1, precision="mixed_bfloat16",
                              verbose=0, preview_count=4)
    assert model_precision(model) == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    header = read_header(out / "model.h5")
    assert header.metadata["training_precision"] == "mixed_bfloat16"
    assert read_header(out / "checkpoint.h5").training_state["precision"] == "mixed_bfloat16"
    assert model.sample(3, seed=0).dtype == np.float32

    # The weights are float32 and load (in float32) for inference, even under a mixed policy.
    with precision_scope("mixed_bfloat16"):
        loaded = genzoo_core.load(str(out / "model.h5"))
    assert model_precision(loaded) == "float32"
    assert all(v.dtype == "float32" for v in float_variables(loaded.variables))
    images = loaded.sample(5, seed=1)
    assert images.dtype == np.float32 and np.all((images >= 0) & (images <= 1))
    for a, b in zip(model.generator.get_weights(), loaded.generator.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_resumed_run_keeps_its_precision_unless_told_and_records_a_change(
        toy_registry, toy_data, tmp_path):
    out = tmp_path / "run"
    genzoo_core.train("toygan", toy_data, out, epochs=1, precision="mixed_bfloat16",
                      verbose=0, preview_count=0)
    # No precision given: the checkpoint's.
    resumed = genzoo_core.train("toygan", toy_data, out, epochs=2, verbose=0, preview_count=0)
    assert model_precision(resumed) == "mixed_bfloat16"
    assert "config_changes" not in read_header(out / "model.h5").metadata or not [
        c for c in read_header(out / "model.h5").metadata["config_changes"]
        if c["key"] == "trainer.precision"]
    # Another precision: allowed (the weights are float32 either way), and recorded.
    resumed = genzoo_core.train("toygan", toy_data, out, epochs=3, precision="float32",
                                verbose=0, preview_count=0)
    assert model_precision(resumed) == "float32"
    metadata = read_header(out / "model.h5").metadata
    assert metadata["training_precision"] == "float32"
    assert {"epoch": 2, "key": "trainer.precision", "from": "mixed_bfloat16",
            "to": "float32"} in metadata["config_changes"]
    assert "trainer.precision" in (out / "resume.log").read_text()


def test_a_model_instance_trains_in_the_precision_it_was_built_in(toy_registry, toy_data,
                                                                  tmp_path):
    model = genzoo_core.create("toygan")
    with pytest.raises(ConfigError, match="built in float32, not mixed_bfloat16"):
        genzoo_core.train(model, toy_data, tmp_path / "a", epochs=1,
                          precision="mixed_bfloat16", verbose=0)
    with precision_scope("mixed_bfloat16"):
        model = genzoo_core.create("toygan")
    genzoo_core.train(model, toy_data, tmp_path / "b", epochs=1, verbose=0, preview_count=0)
    assert read_header(tmp_path / "b" / "model.h5").metadata["training_precision"] == \
        "mixed_bfloat16"


def test_genzoo_train_takes_precision(toy_registry, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "toygan", "--data", "toy-data", "--epochs", "1",
                            "--steps-per-epoch", "2", "--out", str(out), "--precision",
                            "mixed_bfloat16", "-q"], toy_registry, capsys)
    assert code == 0, err
    metadata = read_header(out / "model.h5").metadata
    assert metadata["training_precision"] == "mixed_bfloat16"
    assert "--precision mixed_bfloat16" in metadata["training_command"]
    with pytest.raises(SystemExit):  # argparse's choices
        run_cli(["train", "toygan", "--data", "toy-data", "--epochs", "1", "--out",
                 str(tmp_path / "x"), "--precision", "float16"], toy_registry, capsys)
    assert "invalid choice: 'float16'" in capsys.readouterr().err


def test_a_recipe_trains_in_its_precision_and_an_override_is_recorded(toy_registry,
                                                                     tmp_path):
    from genzoo_core.recipes import RecipeError, recipe_from_dict, run_recipe

    data = {"name": "toygan/toy", "dataset": "toy-data",
            "train": {"epochs": 1, "steps_per_epoch": 2, "precision": "mixed_bfloat16"}}
    recipe = recipe_from_dict(data)
    assert recipe.final_stage.precision == "mixed_bfloat16"
    model = run_recipe(recipe, tmp_path / "run", verbose=0)
    assert model_precision(model) == "mixed_bfloat16"
    header = read_header(tmp_path / "run" / "model.h5")
    assert header.metadata["training_precision"] == "mixed_bfloat16"
    assert header.metadata["recipe"]["stages"][0]["precision"] == "mixed_bfloat16"

    changed = recipe.with_overrides(precision="float32")
    assert changed.final_stage.precision == "float32"
    assert changed.overrides == {"precision": "float32"}
    with pytest.raises(ConfigError, match="precision must be one of"):
        recipe.with_overrides(precision="bfloat16")
    with pytest.raises(RecipeError, match="precision must be one of float32, mixed_bfloat16"):
        recipe_from_dict({**data, "train": {"epochs": 1, "precision": "float16"}})


def test_genzoo_train_recipe_precision_overrides_and_is_recorded(toy_registry, tmp_path,
                                                                 capsys):
    recipe = tmp_path / "toy.toml"
    recipe.write_text('name = "toygan/toy"\ndataset = "toy-data"\n\n[train]\nepochs = 1\n'
                      'steps_per_epoch = 2\n', encoding="utf-8")
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--recipe", str(recipe), "--out", str(out),
                            "--precision", "mixed_bfloat16", "-q"], toy_registry, capsys)
    assert code == 0, err
    metadata = read_header(out / "model.h5").metadata
    assert metadata["training_precision"] == "mixed_bfloat16"
    assert metadata["recipe"]["overrides"] == {"precision": "mixed_bfloat16"}
