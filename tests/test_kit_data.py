"""The kit's pytest plugin finds the real datasets: ``GENZOO_DATA`` and ``genzoo_data``.

Each test runs pytest in-process over a throw-away checkout (a folder with a
``pytest.ini``, its rootdir) with ``shared/data`` beside it or not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

INNER_TESTS = """
import os

from genzoo_core.testing.pytest_plugin import require_data


def test_data_is_found(genzoo_data):
    assert os.environ.get("GENZOO_DATA") == {expected!r}
    assert genzoo_data("mnist.npz").name == "mnist.npz"


def test_a_missing_file_skips():
    require_data("nothing/here.npz")
"""


def run_in_checkout(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                    expected: str | None) -> pytest.RunResult:
    """Run INNER_TESTS with the checkout as rootdir and cwd."""
    checkout = pytester.path / "checkout"
    checkout.mkdir()
    (checkout / "pytest.ini").write_text("[pytest]\n")
    (checkout / "test_inner.py").write_text(INNER_TESTS.format(expected=expected))
    monkeypatch.chdir(checkout)
    return pytester.runpytest_inprocess("-rs", "-p", "no:cacheprovider")


def test_an_unset_genzoo_data_points_at_shared_data_beside_the_checkout(pytester, monkeypatch):
    shared = pytester.path / "shared" / "data"
    shared.mkdir(parents=True)
    (shared / "mnist.npz").write_bytes(b"")
    monkeypatch.delenv("GENZOO_DATA", raising=False)
    result = run_in_checkout(pytester, monkeypatch, str(shared))
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs nothing/here.npz under GENZOO_DATA*does not exist*"])
    assert "GENZOO_DATA" not in os.environ, "the session's setting outlived it"


def test_a_set_genzoo_data_wins(pytester, monkeypatch):
    (pytester.path / "shared" / "data").mkdir(parents=True)
    mine = pytester.path / "mine"
    mine.mkdir()
    (mine / "mnist.npz").write_bytes(b"")
    monkeypatch.setenv("GENZOO_DATA", str(mine))
    result = run_in_checkout(pytester, monkeypatch, str(mine))
    result.assert_outcomes(passed=1, skipped=1)
    assert os.environ["GENZOO_DATA"] == str(mine)


def test_without_data_the_tests_skip_saying_why(pytester, monkeypatch):
    monkeypatch.delenv("GENZOO_DATA", raising=False)
    result = run_in_checkout(pytester, monkeypatch, None)
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*needs mnist.npz under GENZOO_DATA, which is unset*"])
    assert not Path(pytester.path / "shared").exists()
