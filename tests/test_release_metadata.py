"""Release metadata and the version policy (scripts/release_metadata.py, docs/releasing.md).

genzoo-core's ``MAJOR.MINOR`` is ``API_VERSION``; first-party plugins carry
genzoo-core's version; each plugin depends on the genzoo-core range its
``genzoo_api_range()`` returns, and the plugin template does the same with the
API version it declares. The shared metadata, LICENSE copies and pinned links
of every long description are checked in-process, and a drifted copy of the
repository shows that the check reports what it should.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import shutil
from pathlib import Path

import pytest
from conftest import load_script
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p for p in (ROOT / "plugins").glob("genzoo-*") if (p / "pyproject.toml").is_file())


release_metadata = load_script("release_metadata")
tomllib = release_metadata.tomllib  # tomli on Python 3.10


def _pyproject(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))


def _core_requirement(project: dict) -> Requirement:
    [requirement] = [Requirement(d) for d in project["dependencies"]
                     if Requirement(d).name == "genzoo-core"]
    return requirement


def test_the_repository_agrees_with_its_release_metadata():
    problems = release_metadata.check(ROOT)
    assert problems == [], (
        "release metadata drifted (python scripts/release_metadata.py writes it):\n"
        + "\n".join(problems))


def test_core_version_major_minor_is_the_api_version():
    from genzoo_core.version import API_VERSION, __version__

    version = Version(__version__)
    assert f"{version.major}.{version.minor}" == API_VERSION
    assert _pyproject(ROOT)["project"]["version"] == __version__
    assert importlib.metadata.version("genzoo-core") == __version__, (
        "the installed genzoo-core metadata is stale: pip install --no-deps -e .")


@pytest.mark.parametrize("folder", PLUGINS, ids=lambda p: p.name)
def test_first_party_plugin_follows_the_version_policy(folder):
    from genzoo_core.version import __version__

    project = _pyproject(folder)["project"]
    assert project["version"] == __version__
    assert importlib.metadata.version(project["name"]) == __version__, (
        f"the installed {project['name']} metadata is stale: pip install --no-deps -e {folder}")
    [target] = project["entry-points"]["genzoo"].values()
    declared = importlib.import_module(target).genzoo_api_range()
    assert _core_requirement(project).specifier == SpecifierSet(declared), (
        f"{project['name']} depends on {_core_requirement(project)}, its plugin declares "
        f"API {declared}")


def test_the_template_depends_on_the_api_range_it_declares():
    from genzoo_core import scaffold
    from genzoo_core.version import API_VERSION, __version__

    files = scaffold.plugin_files("probe")
    project = tomllib.loads(files["pyproject.toml"])["project"]
    [declared] = re.findall(r'def genzoo_api_range\(\) -> str:\n.*?return "([^"]+)"',
                            files["genzoo_probe/plugin.py"], re.S)
    major = int(API_VERSION.split(".")[0])
    assert SpecifierSet(declared) == SpecifierSet(f">={API_VERSION},<{major + 1}")
    assert _core_requirement(project).specifier == SpecifierSet(declared)
    assert Version(__version__) in SpecifierSet(declared)
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert files["LICENSE"] == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "probe" in project["keywords"]


def test_changelog_has_a_section_for_this_release():
    from genzoo_core.version import __version__

    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[?{re.escape(__version__)}\]?\b", text, re.M), (
        f"CHANGELOG.md has no '## {__version__}' section")


def test_links_are_found_outside_code():
    text = (
        "See [the docs](docs/a.md) and ![grid](docs/images/g.png).\n"
        "`[not a link](x.md)`\n"
        "```\n[nor this](y.md)\n```\n"
        "[![badge](docs/images/b.png)](docs/b.md)\n"
        '<img src="docs/images/c.png" width="200">\n'
        "[ref]: docs/c.md\n"
        "[wrapped\nlink](docs/d.md)\n"
    )
    found = [(link.target, link.image) for link in release_metadata.links(text)]
    assert found == [("docs/a.md", False), ("docs/images/g.png", True),
                     ("docs/b.md", False), ("docs/images/c.png", True), ("docs/c.md", False),
                     ("docs/d.md", False)]


def _mirror(tmp_path: Path) -> Path:
    """A copy of the files the script reads and writes: core, two plugins, the template.

    Everything else the links point at is linked, read-only, to the repository.
    """
    mirror = tmp_path / "repo"
    mirror.mkdir()
    for name in ("pyproject.toml", "LICENSE", "CHANGELOG.md"):
        shutil.copy2(ROOT / name, mirror / name)
    (mirror / "docs").symlink_to(ROOT / "docs")
    core = mirror / "genzoo_core"
    core.mkdir()
    for name in ("version.py", "py.typed"):
        shutil.copy2(ROOT / "genzoo_core" / name, core / name)
    shutil.copytree(ROOT / "genzoo_core" / "templates", core / "templates")
    for plugin in ("genzoo-gan", "genzoo-pix2pix"):
        source, target = ROOT / "plugins" / plugin, mirror / "plugins" / plugin
        target.mkdir(parents=True)
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy2(source / name, target / name)
        package = plugin.replace("-", "_")
        (target / package).mkdir()
        for entry in (source / package).iterdir():
            if entry.name in ("__init__.py", "plugin.py", "py.typed"):
                shutil.copy2(entry, target / package / entry.name)
            elif entry.name != "__pycache__":
                (target / package / entry.name).symlink_to(entry)
    (mirror / "README.md").write_text(
        "# genzoo\n\n![zoo](docs/images/gan-mnist.png)\n\n"
        "[results](https://github.com/genzoo/genzoo/blob/v1.5.0/docs/results.md) and "
        "[the gan card](plugins/genzoo-gan/README.md#architecture).\n")
    return mirror


def test_a_drifted_copy_is_reported_and_rewritten(tmp_path):
    mirror = _mirror(tmp_path)
    tag = f"v{release_metadata.core_versions(mirror)[0]}"
    before = release_metadata.check(mirror)
    assert [p for p in before if p.startswith("README.md:")] == [
        f"README.md:3: relative image docs/images/gan-mnist.png: use https://raw."
        f"githubusercontent.com/genzoo/genzoo/{tag}/docs/images/gan-mnist.png",
        f"README.md:5: relative link plugins/genzoo-gan/README.md#architecture: use "
        f"https://github.com/genzoo/genzoo/blob/{tag}/plugins/genzoo-gan/README.md#architecture",
    ]
    release_metadata.write(mirror)
    assert release_metadata.check(mirror) == []
    assert f"(https://github.com/genzoo/genzoo/blob/{tag}/plugins/genzoo-gan/README.md" in (
        mirror / "README.md").read_text()

    gan = mirror / "plugins" / "genzoo-gan"
    pyproject = (gan / "pyproject.toml").read_text()
    pyproject = re.sub(r'^version = "[^"]*"', 'version = "1.4.9"', pyproject, flags=re.M)
    pyproject = pyproject.replace('"genzoo-core>=1.3,<2"', '"genzoo-core>=1.3,<3"')
    pyproject = pyproject.replace('    "Typing :: Typed",\n', "")
    (gan / "pyproject.toml").write_text(pyproject)
    (gan / "LICENSE").write_text("Copyright somebody\n")
    card = gan / "README.md"
    card.write_text(card.read_text().replace(
        f"https://raw.githubusercontent.com/genzoo/genzoo/{tag}/docs/images/gan-mnist.png",
        "../../docs/images/gan-mnist.png").replace(
        f"https://github.com/genzoo/genzoo/blob/{tag}/docs/results.md",
        "https://github.com/genzoo/genzoo/blob/v1.4.0/docs/results.md"))
    problems = release_metadata.check(mirror)
    version = tag[1:]
    expected = [
        f'plugins/genzoo-gan/pyproject.toml: project.version is "1.4.9", expected "{version}"',
        'plugins/genzoo-gan/pyproject.toml: project.classifiers lacks ["Typing :: Typed"]',
        'plugins/genzoo-gan/pyproject.toml: the genzoo-core dependency is "genzoo-core>=1.3,<3",'
        ' expected "genzoo-core>=1.3,<2"',
        "plugins/genzoo-gan/LICENSE: differs from the root LICENSE",
        "plugins/genzoo-gan/README.md:N: relative image ../../docs/images/gan-mnist.png",
        "plugins/genzoo-gan/README.md:N: link https://github.com/genzoo/genzoo/blob/v1.4.0/"
        f"docs/results.md is not pinned to {tag}",
    ]
    for line in expected:
        assert [p for p in problems if re.sub(r":\d+:", ":N:", p).startswith(line)], (
            line, problems)
    assert len(problems) == len(expected), problems
    assert release_metadata.main(["--check", "--root", str(mirror)]) == 1

    release_metadata.write(mirror)
    assert release_metadata.check(mirror) == []
    assert release_metadata.main(["--check", "--root", str(mirror)]) == 0
    assert (gan / "pyproject.toml").read_text() == (
        ROOT / "plugins" / "genzoo-gan" / "pyproject.toml").read_text()
    assert card.read_text() == (ROOT / "plugins" / "genzoo-gan" / "README.md").read_text()


def test_a_missing_link_target_is_reported_not_rewritten(tmp_path):
    mirror = _mirror(tmp_path)
    (mirror / "README.md").write_text("[gone](docs/no-such-page.md)\n")
    text, unfixed = release_metadata.pin_links(mirror, Path("README.md"), "1.5.0")
    assert text == "[gone](docs/no-such-page.md)\n"
    assert unfixed == ["README.md:1: relative link docs/no-such-page.md points at a missing file"]


def test_an_anchor_in_the_page_points_at_the_pinned_file(tmp_path):
    mirror = _mirror(tmp_path)
    card = Path("plugins/genzoo-gan/README.md")
    (mirror / card).write_text("# genzoo-gan\n\nSee [the weights](#pretrained-weights).\n")
    text, unfixed = release_metadata.pin_links(mirror, card, "1.5.0")
    assert unfixed == []
    assert text.endswith("[the weights](https://github.com/genzoo/genzoo/blob/v1.5.0/plugins/"
                         "genzoo-gan/README.md#pretrained-weights).\n")
