"""Fuzzing the real gan/mnist weights file: every mutation is one clear error, nothing changes.

``weights_fuzz.py`` (beside this file) damages fresh copies of the packaged file
in more than 40 ways: truncations, flipped bytes in weight data and in metadata,
edited and missing attributes, wrong dtypes and shapes, datasets that declare
gigabytes and hold nothing, renamed and missing groups. It runs in its own
process so that its peak memory is measured alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).with_name("weights_fuzz.py")
EXTRA_MEMORY_MB = 1024


@pytest.fixture(scope="module")
def fuzz_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz") / "report.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("GENZOO_DEBUG", None)
    result = subprocess.run([sys.executable, str(FUZZ), str(out)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


def test_there_are_at_least_40_mutations_of_every_kind(fuzz_report):
    names = [case["name"] for case in fuzz_report["cases"]]
    assert len(names) >= 40 and len(set(names)) == len(names)
    for kind in ("truncate", "flip-data", "flip-", "format-version", "config-", "missing-",
                 "kernel-as", "declared-huge", "rename-", "bias-"):
        assert any(kind in name for name in names), kind


def test_every_mutation_is_a_genzoo_error_and_leaves_the_model_unchanged(fuzz_report):
    failures = []
    for case in fuzz_report["cases"]:
        for way in ("load", "load_weights"):
            if case[way]["outcome"] != "GenzooError":
                failures.append(f"{case['name']}: {way} -> {case[way]}")
        if not case["unchanged"]:
            failures.append(f"{case['name']}: the loaded model changed")
    assert not failures, "\n".join(failures)


def test_every_mutation_is_one_line_in_the_cli(fuzz_report):
    for case in fuzz_report["cases"]:
        lines = case["cli_stderr"].strip().splitlines()
        assert case["cli_status"] == 1, case
        assert len(lines) == 1 and lines[0].startswith("genzoo: error: "), case
        assert "Traceback" not in case["cli_stderr"]


def test_the_fuzz_stays_under_1_gb_of_extra_memory(fuzz_report):
    extra = fuzz_report["peak_mb_after"] - fuzz_report["peak_mb_before"]
    assert extra < EXTRA_MEMORY_MB, f"{extra:.0f} MB more at peak"
