"""The genzoo command line, in-process against the toy registry and as a real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli as run

import genzoo_core

TESTS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def test_list_and_json(toy_registry, capsys):
    code, out, _ = run(["list"], toy_registry, capsys)
    assert code == 0
    assert out.splitlines()[0].split() == ["MODEL", "PRETRAINED", "PLUGIN", "DESCRIPTION"]
    assert "toygan" in out and "genzoo-toy 0.0.1" in out
    code, out, _ = run(["list", "--json"], toy_registry, capsys)
    entries = {entry["name"]: entry for entry in json.loads(out)}
    assert {"toygan", "toycgan"} <= set(entries)
    assert entries["toygan"]["capabilities"] == ["sample"]
    assert entries["toycgan"]["condition"] == "class_label"


def test_list_imports_no_tensorflow(tmp_path):
    """`genzoo list` over a registry of plugins must not load TensorFlow or Keras."""
    script = f"""
import sys, time
sys.path[:0] = [{str(TESTS / 'toy_plugin')!r}, {str(TESTS)!r}]
from pathlib import Path
from conftest import write_distribution
from conftest import run_cli as run
write_distribution(Path({str(tmp_path / 'site')!r}), "genzoo-toy", "0.0.1",
                   {{"toy": "toyzoo.plugin"}}, {{}})
start = time.perf_counter()
from genzoo_core import Registry
from genzoo_core.cli import main
main(["list"], registry=Registry(path=[{str(tmp_path / 'site')!r}]))
main(["info", "toygan"], registry=Registry(path=[{str(tmp_path / 'site')!r}]))
print("HEAVY", sorted(m for m in ("tensorflow", "keras", "h5py") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "toygan" in result.stdout
    assert "HEAVY []" in result.stdout


def test_info_model_dataset_and_file(toy_registry, toy_model, tmp_path, capsys):
    code, out, _ = run(["info", "toygan"], toy_registry, capsys)
    info = json.loads(out)
    assert info["components"] == ["generator", "discriminator"]
    assert info["default_config"]["latent_dim"] == 3 and info["condition"] == "unconditional"
    code, out, _ = run(["info", "mnist"], toy_registry, capsys)
    assert json.loads(out)["image_shape"] == [28, 28, 1]
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path), metadata={"dataset": "toy"})
    code, out, _ = run(["info", str(path)], toy_registry, capsys)
    assert json.loads(out)["metadata"]["dataset"] == "toy"


def test_unknown_names_suggest_and_print_one_line(toy_registry, capsys):
    code, out, err = run(["sample", "toygn", "-o", "x.png"], toy_registry, capsys)
    assert code == 1
    assert err.count("\n") == 1  # one line, no traceback
    assert err.startswith("genzoo: error: unknown model 'toygn'. Did you mean: toygan")
    code, _, err = run(["info", "toygan/nope"], toy_registry, capsys)
    assert code == 1 and "ships no pretrained weights" in err
    code, _, err = run(["train", "toygan", "--data", "minst", "--epochs", "1", "--out", "x"],
                       toy_registry, capsys)
    assert code == 1 and "unknown dataset 'minst'. Did you mean: mnist" in err


def test_sample_from_a_file_is_seeded(toy_registry, toy_model, tmp_path, capsys):
    weights = tmp_path / "toy.h5"
    toy_model.save_weights(str(weights))
    outputs = []
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        target = tmp_path / f"{name}.png"
        code, out, _ = run(["sample", str(weights), "-n", "9", "--seed", seed, "-o", str(target)],
                           toy_registry, capsys)
        assert code == 0 and str(target.resolve()) in out
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] != outputs[2]
    code, _, err = run(["sample", str(weights), "-n", "0"], toy_registry, capsys)
    assert code == 1 and "at least 1" in err


def test_train_then_resume(toy_registry, tmp_path, capsys):
    images = np.random.default_rng(0).integers(0, 256, (32, 4, 4, 1), dtype=np.uint8)
    np.savez(tmp_path / "toy.npz", x_train=images)
    out_dir = tmp_path / "run"
    argv = ["train", "toygan", "--data", str(tmp_path / "toy.npz"), "--out", str(out_dir), "-q"]
    code, out, _ = run([*argv, "--epochs", "1", "--config", "units=6"], toy_registry, capsys)
    assert code == 0 and str((out_dir / "model.h5").resolve()) in out
    header = genzoo_core.read_header(out_dir / "model.h5")
    assert header.config["units"] == 6
    assert header.metadata["training_command"].startswith("genzoo train toygan --data")
    assert header.metadata["dataset"] == "toy.npz:train"
    code, out, _ = run([*argv, "--epochs", "2"], toy_registry, capsys)  # config from checkpoint
    assert code == 0
    assert genzoo_core.read_header(out_dir / "checkpoint.h5").training_state["epoch"] == 2
    code, _, err = run([*argv, "--epochs", "3", "--config", "nokey=1"], toy_registry, capsys)
    assert code == 1 and "no config key(s) nokey" in err
    with __import__("h5py").File(out_dir / "checkpoint.h5", "r+") as f:
        f.attrs["model"] = "othergan"
    code, _, err = run([*argv, "--epochs", "3"], toy_registry, capsys)
    assert code == 1 and "checkpoint of model 'othergan', not 'toygan'" in err


def test_bad_data_path_and_config_syntax(toy_registry, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run(["train", "toygan", "--data", str(tmp_path / "empty"), "--epochs", "1",
                        "--out", str(tmp_path / "r")], toy_registry, capsys)
    assert code == 1 and "holds no images" in err
    code, _, err = run(["train", "toygan", "--data", "mnist", "--epochs", "1", "--out", "r",
                        "--config", "oops"], toy_registry, capsys)
    assert code == 1 and "KEY=VALUE" in err
    images = np.zeros((16, 4, 4, 1), np.uint8)
    np.savez(tmp_path / "toy.npz", x_train=images)
    (tmp_path / "a-file").write_text("not a folder")
    code, _, err = run(["train", "toygan", "--data", str(tmp_path / "toy.npz"), "--epochs", "1",
                        "--out", str(tmp_path / "a-file"), "-q"], toy_registry, capsys)
    assert code == 1 and err.startswith("genzoo: error:") and "a-file" in err


def test_console_script_errors_have_no_traceback():
    script = BIN / "genzoo"
    if not script.exists():
        pytest.skip("the genzoo console script is not installed in this environment")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("GENZOO_DEBUG", None)
    result = subprocess.run([str(script), "sample", "no-such-model-xyz"], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("genzoo: error: unknown model 'no-such-model-xyz'")
    assert "Traceback" not in result.stderr


def test_class_conditional_models_sample_a_class_grid_by_default(toy_registry, tmp_path, capsys):
    weights = tmp_path / "cgan.h5"
    genzoo_core.create("toycgan").save_weights(str(weights))
    code, out, _ = run(["sample", str(weights), "-o", str(tmp_path / "grid.png"), "--seed", "0"],
                       toy_registry, capsys)
    assert code == 0 and "wrote 4 samples" in out  # 2 classes x 2
    import tensorflow as tf

    grid = tf.io.decode_png(tf.io.read_file(str(tmp_path / "grid.png"))).numpy() / 255.0
    left, right = grid[2:6, 2:6].mean(), grid[2:6, 8:12].mean()  # column 0 = class 0
    assert left < 0.5 < right  # the toy draws class 1 bright, class 0 dark
    code, out, _ = run(["sample", str(weights), "--label", "1", "-o", str(tmp_path / "b.png")],
                       toy_registry, capsys)
    assert code == 0 and "wrote 64 samples" in out


def test_new_plugin_writes_a_skeleton_and_refuses_bad_input(tmp_path, toy_registry, capsys):
    code, out, _ = run(["new-plugin", "my-gan", "--dir", str(tmp_path)], toy_registry, capsys)
    target = tmp_path / "genzoo-my-gan"
    assert code == 0 and str(target / "pyproject.toml") in out
    pyproject = (target / "pyproject.toml").read_text()
    assert '[project.entry-points.genzoo]\nmy-gan = "genzoo_my_gan.plugin"' in pyproject
    plugin = (target / "genzoo_my_gan" / "plugin.py").read_text()
    major = int(genzoo_core.API_VERSION.split(".")[0])
    assert 'builder="genzoo_my_gan.model:MyGan"' in plugin
    assert f'return ">={genzoo_core.API_VERSION},<{major + 1}"' in plugin
    assert "parametrize_with_checks([\"my-gan\"])" in (
        target / "tests" / "test_conformance.py").read_text()
    assert "$" not in "".join(p.read_text() for p in target.rglob("*.py"))
    # a second run would overwrite: refused, and the files are untouched
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    code, _, err = run(["new-plugin", "my-gan", "--dir", str(tmp_path)], toy_registry, capsys)
    assert code == 1 and "exists and is not empty" in err
    assert before == {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    code, _, err = run(["new-plugin", "My GAN", "--dir", str(tmp_path)], toy_registry, capsys)
    assert code == 1 and "not a valid model name" in err


def test_sample_input_needs_a_translating_model(toy_registry, toy_model, tmp_path, capsys):
    weights = tmp_path / "toy.h5"
    toy_model.save_weights(str(weights))
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"not read: the model cannot translate")
    code, _, err = run(["sample", str(weights), "--input", str(photo), "-o",
                        str(tmp_path / "out.png")], toy_registry, capsys)
    assert code == 1 and "does not translate images" in err and "drop --input" in err
    assert not (tmp_path / "out.png").exists()
    code, _, err = run(["sample", str(weights), "--direction", "AtoB"], toy_registry, capsys)
    assert code == 1 and "pass --input too" in err


def test_sample_text_needs_a_text_model(toy_registry, toy_model, tmp_path, capsys):
    weights = tmp_path / "toy.h5"
    toy_model.save_weights(str(weights))
    code, _, err = run(["sample", str(weights), "--text", "a red circle", "-o",
                        str(tmp_path / "out.png")], toy_registry, capsys)
    assert code == 1 and "not conditioned on text" in err and "drop --text" in err
    assert not (tmp_path / "out.png").exists()
