"""Every bad input to the ``genzoo`` command ends in one line, exit status 1, nothing written."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import one_error_line, write_distribution
from conftest import run_cli as run

from genzoo_core.cli import main

BIN = Path(sys.executable).parent


def subprocess_env():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("GENZOO_DEBUG", None)
    return env


# -- sizes, counts and outputs ------------------------------------------------------------------


def test_a_grid_too_large_is_refused_with_the_largest_n(toy_registry, weights, tmp_path, capsys):
    target = tmp_path / "grid.png"
    code, _, err = run(["sample", str(weights), "-n", "100000000", "-o", str(target)],
                       toy_registry, capsys)
    assert code == 1 and one_error_line(err), err
    largest = int(re.search(r"largest -n .*?(\d+)", err).group(1))
    assert 1 <= largest < 100000000 and "--seed" in err
    assert not target.exists()


def test_largest_grid_is_the_edge_of_what_fits(monkeypatch):
    import numpy as np

    from genzoo_core import images

    for size, columns in (((28, 28), None), ((4, 4), 3), ((64, 32), None)):
        largest = images.largest_grid(size, columns=columns, max_pixels=10_000)
        for n, fits in ((largest, True), (largest + 1, False)):
            height, width = images.grid_shape(n, size, columns=columns)
            assert (height * width <= 10_000) is fits, (size, columns, n)
    monkeypatch.setattr(images, "MAX_GRID_PIXELS", 200)
    with pytest.raises(images.GenzooError, match="at most"):
        images.make_grid(np.zeros((30, 4, 4, 1)))


def test_out_of_memory_is_one_line(toy_registry, weights, tmp_path, capsys, monkeypatch):
    import genzoo_core.images

    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(genzoo_core.images, "make_grid", no_memory)
    code, _, err = run(["sample", str(weights), "-n", "4", "-o", str(tmp_path / "g.png")],
                       toy_registry, capsys)
    assert code == 1 and one_error_line(err) and "out of memory" in err and "-n" in err


@pytest.mark.parametrize("args, expected", [
    (["--columns", "0"], "--columns must be at least 1"),
    (["--columns", "-3"], "--columns must be at least 1"),
    (["--seed", "-1"], "--seed must be 0 or more"),
    (["-n", "-5"], "-n must be at least 1"),
    (["--label", "0"], "drop --label"),
])
def test_sample_arguments_are_checked(toy_registry, weights, tmp_path, capsys, args, expected):
    target = tmp_path / "grid.png"
    code, _, err = run(["sample", str(weights), "-o", str(target), *args], toy_registry, capsys)
    assert code == 1 and one_error_line(err) and expected in err, err
    assert not target.exists()


def test_a_label_out_of_range_names_the_range(toy_registry, tmp_path, capsys):
    import genzoo_core

    weights = tmp_path / "cgan.h5"
    genzoo_core.create("toycgan").save_weights(str(weights))
    for label in ("2", "-1"):
        code, _, err = run(["sample", str(weights), "--label", label, "-o",
                            str(tmp_path / "g.png")], toy_registry, capsys)
        assert code == 1 and one_error_line(err) and "--label must be in 0..1" in err, err


@pytest.mark.parametrize("output, expected", [
    ("folder", "is a folder: name a .png file"),
    ("grid.jpg", "name a .png file"),
    ("grid", "name a .png file"),
    ("a-file/grid.png", "is a file, not a folder"),
])
def test_sample_output_must_be_a_png_file(toy_registry, weights, tmp_path, capsys, output,
                                          expected):
    (tmp_path / "folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, _, err = run(["sample", str(weights), "-n", "4", "-o", str(tmp_path / output)],
                       toy_registry, capsys)
    assert code == 1 and one_error_line(err) and expected in err, err
    assert ".tmp" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_eval_and_train_arguments_are_checked(toy_registry, weights, tmp_path, capsys,
                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    checks = [
        (["eval", str(weights), "-n", "0"], "-n must be at least 2"),
        (["eval", str(weights), "--seed", "-2"], "--seed must be 0 or more"),
        (["eval", str(weights), "-o", str(tmp_path)], "is a folder: name a .json file"),
        (["train", "toygan", "--data", "mnist", "--epochs", "1", "--out", "r",
          "--batch-size", "0"], "--batch-size must be at least 1"),
        (["train", "toygan", "--data", "mnist", "--epochs", "1", "--out", "r",
          "--steps-per-epoch", "0"], "--steps-per-epoch must be at least 1"),
        (["train", "toygan", "--data", "mnist", "--epochs", "1", "--out", "r",
          "--config", "units=-4"], "units"),
        (["train", "toygan", "--data", "mnist", "--epochs", "1", "--out", "r",
          "--config", "nokey=1"], "no config key(s) nokey"),
    ]
    for argv, expected in checks:
        code, _, err = run(argv, toy_registry, capsys)
        assert code == 1 and one_error_line(err) and expected in err, (argv, err)
    assert not (tmp_path / "r").exists()


# -- unexpected errors and the operating system -------------------------------------------------

BROKEN_PLUGIN = '''
from dataclasses import replace

from genzoo_core import hookimpl
from toyzoo.plugin import SPEC

BROKEN = replace(SPEC, name="toybroken", builder="zoo_test_broken_model:Broken")


@hookimpl
def genzoo_api_range():
    return ">=1.0,<2"


@hookimpl
def genzoo_register_models():
    return [BROKEN]
'''

BROKEN_MODEL = '''
from toyzoo.model import ToyGAN
from zoo_test_broken_cli import BROKEN


class Broken(ToyGAN):
    spec = BROKEN

    def generate(self, n, *, condition, rng):
        raise ValueError("a bug in the model code")
'''


@pytest.fixture
def broken_weights(toy_registry, tmp_path, monkeypatch):
    from genzoo_core import create
    from genzoo_core import registry as registry_module

    site = tmp_path / "broken-site"
    write_distribution(site, "genzoo-broken", "0.3", {"broken": "zoo_test_broken_cli"},
                       {"zoo_test_broken_cli.py": BROKEN_PLUGIN,
                        "zoo_test_broken_model.py": BROKEN_MODEL})
    monkeypatch.syspath_prepend(str(site))
    registry = registry_module.Registry(path=[*toy_registry.path, str(site)])
    monkeypatch.setattr(registry_module, "_default", registry)
    path = tmp_path / "broken.h5"
    create("toybroken", registry=registry).save_weights(str(path))
    return registry, path


def test_an_unexpected_error_is_one_line_naming_whom_to_tell(broken_weights, tmp_path, capsys,
                                                             monkeypatch):
    registry, path = broken_weights
    monkeypatch.delenv("GENZOO_DEBUG", raising=False)
    code, _, err = run(["sample", str(path), "-n", "2", "-o", str(tmp_path / "g.png")],
                       registry, capsys)
    assert code == 1 and one_error_line(err), err
    assert err.startswith("genzoo: error: unexpected ValueError: a bug in the model code")
    assert "GENZOO_DEBUG=1" in err and "genzoo-broken" in err
    monkeypatch.setenv("GENZOO_DEBUG", "1")
    with pytest.raises(ValueError, match="a bug in the model code"):
        main(["sample", str(path), "-n", "2", "-o", str(tmp_path / "g.png")], registry=registry)


@pytest.mark.parametrize("number, expected", [
    (errno.ENOSPC, "free some space"),
    (errno.EROFS, "pick a writable folder"),
    (errno.EACCES, "pick a writable folder"),
])
def test_os_errors_name_the_path_and_what_to_do(toy_registry, weights, tmp_path, capsys,
                                                monkeypatch, number, expected):
    import genzoo_core.images

    target = tmp_path / "grid.png"

    def fail(path, *args, **kwargs):
        raise OSError(number, os.strerror(number), str(path))

    monkeypatch.setattr(genzoo_core.images, "save_png", fail)
    code, _, err = run(["sample", str(weights), "-n", "4", "-o", str(target)], toy_registry,
                       capsys)
    assert code == 1 and one_error_line(err) and str(target) in err and expected in err, err
    assert "[Errno" not in err


def test_argparse_usage_errors_keep_exit_status_2(toy_registry, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sample"], registry=toy_registry)
    assert exc.value.code == 2


# -- as a process ----------------------------------------------------------------------------


def test_a_closed_pipe_ends_quietly_with_status_141():
    """``genzoo list | head -0``: the reader went away; say nothing, exit as SIGPIPE would."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([sys.executable, "-m", "genzoo_core", "info", "mnist"],
                                stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                                env=subprocess_env())
    finally:
        os.close(write)
    assert result.returncode == 141, result.stderr
    assert result.stderr == ""


def test_python_dash_m_runs_the_command_with_its_exit_statuses():
    env = subprocess_env()
    command = [sys.executable, "-m", "genzoo_core"]
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("genzoo-core ")
    result = subprocess.run([*command, "info", "no-such-model-xyz"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 1 and one_error_line(result.stderr), result.stderr
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and "usage: genzoo" in result.stderr


def test_os_errors_name_the_users_path_not_a_temporary_one():
    from genzoo_core.cli import _describe_os_error

    temporary = "/data/out/.grid.png.k2j_x9q1.tmp"
    message = _describe_os_error(OSError(errno.ENOSPC, "No space left on device", temporary))
    assert "/data/out/grid.png: " in message and "free some space" in message
    message = _describe_os_error(OSError(errno.EISDIR, "Is a directory", temporary, None,
                                         "/data/out/grid.png"))
    assert ".tmp" not in message and "/data/out/grid.png" in message
