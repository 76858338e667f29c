"""Model names, weights files and paths on the ``genzoo`` command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import one_error_line
from conftest import run_cli as run


@pytest.mark.parametrize("name", ["", "a/b/c", "TOYGAN", "toygan/", "/toygan", "-x", "no such"])
@pytest.mark.parametrize("command", ["sample", "info", "eval"])
def test_a_string_that_is_neither_a_name_nor_a_file_says_so(toy_registry, capsys, name,
                                                              command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [command, name] if not name.startswith("-") else [command, "--", name]
    code, _, err = run(argv, toy_registry, capsys)
    assert code == 1 and one_error_line(err), err
    assert f"'{name}' is neither a model name (MODEL or MODEL/WEIGHTS) nor a" in err
    assert "pip install" not in err


def test_uppercase_names_are_told_the_lowercase_spelling(toy_registry, capsys):
    code, _, err = run(["sample", "TOYGAN/Default"], toy_registry, capsys)
    assert code == 1 and "'toygan/default'" in err


def test_a_file_that_is_not_a_weights_file_says_so(toy_registry, tmp_path, capsys):
    notes = tmp_path / "passwd"
    notes.write_text("root:x:0:0:root:/root:/bin/bash\n")
    for command in ("sample", "info", "eval"):
        code, _, err = run([command, str(notes)], toy_registry, capsys)
        assert code == 1 and one_error_line(err), err
        assert f"{notes} is not a genzoo weights file" in err and "pip install" not in err
    code, _, err = run(["sample", str(tmp_path)], toy_registry, capsys)
    assert code == 1 and one_error_line(err) and "is a folder" in err


def test_relative_and_home_paths_are_weights_files(toy_registry, weights, tmp_path, capsys,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copy(weights, tmp_path / "mytoy")  # no suffix, no separator
    for name in ("mytoy", "./toy.h5", "~/toy.h5", "~/mytoy"):
        code, out, err = run(["sample", name, "-n", "4", "-o", "grid.png"], toy_registry, capsys)
        assert code == 0, (name, err)
        code, out, err = run(["info", name], toy_registry, capsys)
        assert code == 0 and '"model": "toygan"' in out, (name, err)
    code, _, err = run(["sample", "./missing.h5"], toy_registry, capsys)
    assert code == 1 and one_error_line(err) and "missing.h5 does not exist" in err


def test_a_model_name_wins_over_a_stray_file_of_that_name(toy_registry, weights, tmp_path,
                                                          capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("toygan").write_text("not weights")
    code, out, _ = run(["info", "toygan"], toy_registry, capsys)
    assert code == 0 and '"model": "toygan"' in out


def test_train_refuses_an_invalid_model_name_before_loading_anything(toy_registry, capsys):
    for name in ("", "a/b", "../x"):
        code, _, err = run(["train", name, "--data", "mnist", "--epochs", "1", "--out", "r"],
                           toy_registry, capsys)
        assert code == 1 and one_error_line(err) and "not a model name" in err
        assert "pip install" not in err
