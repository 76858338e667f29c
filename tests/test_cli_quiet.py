"""TensorFlow's start-up log lines stay out of the ``genzoo`` command's output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

# absl's C++ log lines (I0000 00:00:17... file.cc:12] ...) and its banner; oneDNN; cuInit.
NOISE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+|absl|oneDNN|cuInit|cuda", re.M)


def test_sampling_prints_no_tensorflow_start_up_lines(tmp_path):
    pytest.importorskip("genzoo_gan")
    script = BIN / "genzoo"
    if not script.exists():
        pytest.skip("the genzoo console script is not installed in this environment")
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "GENZOO_DEBUG")}
    target = tmp_path / "grid.png"
    result = subprocess.run([str(script), "sample", "gan/mnist", "-n", "4", "-o", str(target)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert target.exists() and str(target) in result.stdout
    assert not NOISE.search(result.stderr), result.stderr
    assert result.stderr == ""


def test_the_user_and_debug_mode_keep_tensorflow_s_logging(monkeypatch):
    from genzoo_core import cli

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    monkeypatch.delenv("GENZOO_DEBUG", raising=False)
    assert not cli.quiet_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    monkeypatch.setenv("GENZOO_DEBUG", "1")
    assert not cli.quiet_tensorflow()
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
