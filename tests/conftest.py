"""Shared fixtures for genzoo-core's tests.

Core tests never see the plugins installed in the environment: every test gets
a default registry that only searches the folders the test itself fills with
throw-away distributions (``make_plugin``), plus the toy plugin when asked for.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from genzoo_core.testing.pytest_plugin import require_data as require_data  # re-exported

pytest_plugins = ["pytester"]

# The legacy skeleton's own tests need it installed; test_legacy_plugin.py runs the kit on it.
# (A conftest.py inside it would replace this one as the module `conftest` that tests import.)
collect_ignore = ["legacy_plugin"]

TOY = Path(__file__).resolve().parent / "toy_plugin"
ROOT = TOY.parents[1]
"""The repository: its scripts/ folder holds the release scripts the tests load."""

# Datasets: the kit's pytest plugin points an unset GENZOO_DATA at ../shared/data
# beside the checkout; require_data (re-exported here) skips a test that lacks a file.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def write_distribution(
    site: Path, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str]
) -> Path:
    """Install a throw-away distribution into ``site``: modules and a .dist-info."""
    site.mkdir(parents=True, exist_ok=True)
    for relative, source in modules.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[genzoo]\n{lines}\n")
    return info


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """A fresh folder on sys.path for throw-away plugins."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.fixture
def make_plugin(plugin_site):
    """make_plugin(dist, modules, entry_points, version='1.0') -> the site folder."""

    def make(dist, modules, entry_points, version="1.0"):
        write_distribution(plugin_site, dist, version, entry_points, modules)
        return plugin_site

    return make


@pytest.fixture
def toy_registry(tmp_path, monkeypatch):
    """A registry holding only the toy plugin, installed as the default one."""
    from genzoo_core import registry as registry_module

    site = tmp_path / "toy-site"
    write_distribution(site, "genzoo-toy", "0.0.1", {"toy": "toyzoo.plugin"}, {})
    monkeypatch.syspath_prepend(str(TOY))
    registry = registry_module.Registry(path=[str(site)])
    monkeypatch.setattr(registry_module, "_default", registry)
    return registry


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No installed plugin leaks in; caches go to a temporary GENZOO_HOME."""
    from genzoo_core import registry as registry_module

    empty = tmp_path / "no-plugins"
    empty.mkdir()
    monkeypatch.setattr(registry_module, "_default", registry_module.Registry(path=[str(empty)]))
    monkeypatch.setenv("GENZOO_HOME", str(tmp_path / "genzoo-home"))
    monkeypatch.delenv("GENZOO_OFFLINE", raising=False)
    monkeypatch.delenv("GENZOO_STRICT_PLUGINS", raising=False)
    for name in list(sys.modules):  # throw-away plugin modules are per test
        if name.startswith("zoo_test_"):
            del sys.modules[name]


@pytest.fixture
def toy_model(toy_registry):
    """An untrained toy GAN built through the registry."""
    import genzoo_core

    return genzoo_core.create("toygan")


@pytest.fixture
def toy_data():
    """64 random 4x4 uint8 images as a DataSource."""
    from genzoo_core.data import DataSource

    rng = np.random.default_rng(0)
    return DataSource("toy", rng.integers(0, 256, (64, 4, 4, 1), dtype=np.uint8))


def run_cli(argv, registry, capsys):
    """Run ``genzoo ARGV`` in-process against ``registry``: (status, stdout, stderr)."""
    from genzoo_core.cli import main

    code = main(argv, registry=registry)
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> bool:
    """Whether ``err`` is exactly one ``genzoo: error:`` line and no traceback."""
    return err.count("\n") == 1 and err.startswith("genzoo: error: ") and "Traceback" not in err


@pytest.fixture
def weights(toy_model, tmp_path):
    """The untrained toy model saved as ``toy.h5``."""
    path = tmp_path / "toy.h5"
    toy_model.save_weights(str(path))
    return path


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 just now (for local worker processes)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def load_script(name: str):
    """``scripts/NAME.py`` imported as the module ``NAME`` (the scripts are no package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return sys.modules[name]
