"""A third-party plugin, out of tree: wheels into a fresh virtual environment.

The test builds genzoo-core as a wheel from a copy of its sources, creates a
fresh virtual environment, installs the wheel, generates a plugin with
``genzoo new-plugin``, builds that as a wheel, installs it, and then uses it as
a third party would: ``genzoo list``, ``genzoo train``, ``genzoo sample`` and
the plugin's own tests (the conformance kit).

Nothing touches the network. The third-party dependencies (TensorFlow, Keras,
pytest, ...) are those of this environment, offered to the fresh one through a
folder of links that leaves out every genzoo distribution, editable finder and
``.pth`` file, so none of the monorepo's editable installs can leak in; the
test checks that they do not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "thirdgan"


def run(args: list[str | Path], cwd: Path, timeout: int = 600) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GENZOO_"))}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", GENZOO_HOME=str(cwd / "genzoo-home"),
               PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def dependency_links(target: Path) -> Path:
    """Links to this environment's packages, without genzoo, editable finders or .pth files."""
    target.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("genzoo", "__editable__", "_distutils_hack", "pip")) or (
            name.endswith(".pth")
        ):
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.fixture(scope="module")
def third_party(tmp_path_factory):
    if not hasattr(sys, "real_prefix") and sys.prefix == sys.base_prefix:
        pytest.skip("run from a virtual environment (make test), whose packages are offered")
    work = tmp_path_factory.mktemp("out-of-tree")
    # 1. the core as a wheel, built from a copy of its sources
    source = work / "genzoo-core-src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "genzoo_core", source / "genzoo_core",
                    ignore=shutil.ignore_patterns("__pycache__"))
    wheels = work / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", wheels, source], work)
    # 2. a fresh environment: its own site-packages, plus links to the dependencies
    fresh = work / "venv"
    venv.EnvBuilder(with_pip=True).create(fresh)
    python = fresh / "bin" / "python"
    fresh_site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                         "['purelib'])"], work).strip())
    (fresh_site / "offered-dependencies.pth").write_text(
        str(dependency_links(work / "dependencies")) + "\n"
    )
    run([python, "-m", "pip", "install", "-q", *wheels.glob("genzoo_core-*.whl")], work)
    # 3. the plugin, from the template, as a wheel
    run([fresh / "bin" / "genzoo", "new-plugin", PLUGIN, "--dir", work], work)
    plugin_source = work / f"genzoo-{PLUGIN}"
    # built like the core, with this environment's setuptools: the template's build-system
    # asks for setuptools>=77 (PEP 639 license fields), newer than the one venv bundles
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", wheels, plugin_source], work)
    run([python, "-m", "pip", "install", "-q", *wheels.glob(f"genzoo_{PLUGIN}-*.whl")], work)
    return work, fresh, plugin_source


def test_nothing_from_the_monorepo_leaks_in(third_party):
    work, fresh, _ = third_party
    probe = (
        "import importlib.metadata as m, json, genzoo_core, genzoo_thirdgan;"
        "print(json.dumps({'dists': sorted(d.metadata['Name'] for d in m.distributions()"
        " if d.metadata['Name'].startswith('genzoo')),"
        " 'core': genzoo_core.__file__, 'plugin': genzoo_thirdgan.__file__}))"
    )
    found = json.loads(run([fresh / "bin" / "python", "-c", probe], work))
    assert found["dists"] == ["genzoo-core", f"genzoo-{PLUGIN}"]
    for module in ("core", "plugin"):
        path = Path(found[module]).resolve()
        assert path.is_relative_to(fresh.resolve()) and not path.is_relative_to(ROOT), path


def test_genzoo_list_finds_the_plugin_and_trains_and_samples_it(third_party):
    work, fresh, _ = third_party
    genzoo = fresh / "bin" / "genzoo"
    listing = json.loads(run([genzoo, "list", "--json"], work))
    assert [m["name"] for m in listing] == [PLUGIN]
    images = np.random.default_rng(0).integers(0, 256, (128, 28, 28), dtype=np.uint8)
    np.savez(work / "digits.npz", x_train=images, x_test=images[:16])
    run([genzoo, "train", PLUGIN, "--data", work / "digits.npz", "--epochs", "1",
         "--out", work / "run", "-q"], work)
    grid = work / "grid.png"
    run([genzoo, "sample", work / "run" / "model.h5", "-n", "16", "-o", grid], work)
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_generated_plugin_passes_its_own_tests(third_party):
    work, fresh, plugin_source = third_party
    output = run([fresh / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  plugin_source / "tests"], plugin_source)
    from genzoo_core.testing import CHECKS

    # every check but one: the skeleton ships no pretrained weights to check
    assert f"{len(CHECKS) - 1} passed, 1 skipped" in output, output


def test_train_eval_publish_release_from_the_recipe(third_party):
    """The path CONTRIBUTING walks an outside author through, end to end.

    The skeleton's recipe is run (briefly), published into the plugin's source
    folder with its evaluation, the plugin is rebuilt as a wheel and reinstalled,
    and the weights then load by name with their sha256 checked against the
    manifest that publish wrote.
    """
    from conftest import require_data

    data = require_data("mnist.npz").parent
    work, fresh, plugin_source = third_party
    genzoo, python = fresh / "bin" / "genzoo", fresh / "bin" / "python"
    env = {"GENZOO_DATA": str(data)}

    def run_with_data(args):
        return run(["env", *(f"{k}={v}" for k, v in env.items()), *args], work)

    info = json.loads(run([genzoo, "info", f"{PLUGIN}"], work))
    assert info["recipes"] == [f"{PLUGIN}/mnist"]
    out = work / "recipe-run"
    run_with_data([genzoo, "train", "--recipe", f"{PLUGIN}/mnist", "--out", out, "--epochs",
                   "1", "--steps-per-epoch", "20", "-q"])
    run_with_data([genzoo, "eval", out / "model.h5", "-n", "200", "-q", "-o", work / "e.json"])
    printed = run_with_data([genzoo, "publish", out, "--as", f"{PLUGIN}/mnist", "--into",
                             plugin_source, "-n", "200", "-q"])
    assert f"published {PLUGIN}/mnist" in printed
    package = plugin_source / f"genzoo_{PLUGIN}"
    manifest = json.loads((package / "weights" / "manifest.json").read_text())
    (entry,) = manifest["weights"]
    assert entry["recipe"] == f"{PLUGIN}/mnist" and "fid" in entry["metrics"]
    assert f"<!-- results:{PLUGIN}/mnist -->" in (plugin_source / "README.md").read_text()
    # release: a new wheel carries the weights, the manifest and the recipe
    wheels = work / "release"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", wheels, plugin_source], work)
    run([python, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps",
         *wheels.glob(f"genzoo_{PLUGIN}-*.whl")], work)
    listing = json.loads(run([genzoo, "list", "--json"], work))
    (model,) = [m for m in listing if m["name"] == PLUGIN]
    assert model["weights"] == [f"{PLUGIN}/mnist"]
    grid = work / "published.png"
    run([genzoo, "sample", f"{PLUGIN}/mnist", "-n", "16", "-o", grid], work)
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    probe = (f"import genzoo_core; s = genzoo_core.get_spec('{PLUGIN}'); "
             f"print(s.weights[0].sha256)")
    assert run([python, "-c", probe], work).strip() == entry["sha256"]
