"""Release metadata of every first-party distribution, written from one place.

genzoo-core (the repository root), the plugins under ``plugins/genzoo-*/`` and
the plugin template (``genzoo_core/templates/plugin/``) share their authors,
license, classifiers, keywords, project URLs and Python requirement. They are
written here once; this script puts them into every ``pyproject.toml``:

- the version: genzoo-core's ``__version__`` (``genzoo_core/version.py``, the
  only place a release changes by hand); first-party plugins are released in
  lockstep with the core and carry the same version;
- a plugin's dependency on genzoo-core: the range its ``genzoo_api_range()``
  hook returns (``genzoo-core>=1.3,<2`` for ``>=1.3,<2``), since genzoo-core's
  ``MAJOR.MINOR`` is the plugin API version it provides;
- the root ``LICENSE``, copied into each plugin folder (and into the template
  as ``LICENSE.tmpl``) so that it ships in every wheel and sdist;
- the links of each long description (a distribution's ``readme``): relative
  links become absolute ones pinned to the release tag, files as
  ``https://github.com/genzoo/genzoo/blob/vX.Y.Z/<path>`` and images as
  ``https://raw.githubusercontent.com/genzoo/genzoo/vX.Y.Z/<path>``, and links
  pinned to another release are moved to this one.

Usage::

    python scripts/release_metadata.py           # write everything
    python scripts/release_metadata.py --check   # report drift, one line each; exit 1 if any

The pyproject files are edited as text: only the managed keys change, every
other line (comments included) stays as it was, and each edit is verified by
parsing the result.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

# ---- the shared metadata, written here once --------------------------------------------------

REPOSITORY = "https://github.com/genzoo/genzoo"
RAW = "https://raw.githubusercontent.com/genzoo/genzoo"
DOCUMENTATION = "https://genzoo.github.io/genzoo/"
AUTHORS = [{"name": "The genzoo authors"}]
LICENSE = "Apache-2.0"
LICENSE_FILES = ["LICENSE"]
REQUIRES_PYTHON = ">=3.10"
CLASSIFIERS = [
    "Development Status :: 4 - Beta",
    "Intended Audience :: Developers",
    "Intended Audience :: Science/Research",
    "Operating System :: OS Independent",
    "Programming Language :: Python :: 3",
    "Programming Language :: Python :: 3 :: Only",
    "Programming Language :: Python :: 3.10",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.13",
    "Topic :: Scientific/Engineering :: Artificial Intelligence",
    "Topic :: Scientific/Engineering :: Image Processing",
    "Typing :: Typed",
]
# genzoo-core also ships the conformance kit as a pytest plugin (entry point pytest11).
CORE_CLASSIFIERS = [*CLASSIFIERS[:3], "Framework :: Pytest", *CLASSIFIERS[3:]]
# A new plugin's maturity and typing are its author's to declare.
TEMPLATE_CLASSIFIERS = [c for c in CLASSIFIERS if not c.startswith(("Development", "Typing"))]
KEYWORDS = ["genzoo", "generative models", "keras", "tensorflow", "deep learning"]
CORE_KEYWORDS = [*KEYWORDS, "model zoo", "pretrained models", "gan", "vae", "diffusion"]

TEMPLATE = Path("genzoo_core/templates/plugin")
CHANGELOG = Path("CHANGELOG.md")
# The order managed keys take in [project] when one has to be added.
PROJECT_ORDER = [
    "name", "version", "description", "readme", "requires-python", "license",
    "license-files", "authors", "keywords", "classifiers", "dependencies",
]


def project_urls(version: str) -> dict[str, str]:
    """The ``[project.urls]`` table of every first-party distribution."""
    return {
        "Homepage": REPOSITORY,
        "Documentation": DOCUMENTATION,
        "Source": REPOSITORY,
        "Issues": f"{REPOSITORY}/issues",
        "Changelog": f"{REPOSITORY}/blob/{tag(version)}/CHANGELOG.md",
    }


def tag(version: str) -> str:
    """The git tag of a release: ``v1.5.0``."""
    return f"v{version}"


# ---- reading the repository ------------------------------------------------------------------


def _module_constants(path: Path) -> dict[str, str]:
    """The string constants a module assigns at its top level, read without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    constants = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            constants[node.targets[0].id] = node.value.value
    return constants


def core_versions(root: Path = ROOT) -> tuple[str, str]:
    """``(__version__, API_VERSION)`` as ``genzoo_core/version.py`` sets them."""
    constants = _module_constants(root / "genzoo_core" / "version.py")
    return constants["__version__"], constants["API_VERSION"]


def api_range(plugin_module: Path) -> str | None:
    """The string ``genzoo_api_range()`` returns in ``plugin_module``, read from its source.

    None when the hook is missing or does not return a string literal.
    """
    tree = ast.parse(plugin_module.read_text(encoding="utf-8"), str(plugin_module))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "genzoo_api_range":
            returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
            if len(returns) == 1 and isinstance(returns[0].value, ast.Constant):
                value = returns[0].value.value
                return value if isinstance(value, str) else None
    return None


def core_requirement(api: str) -> str:
    """The genzoo-core requirement for a plugin API range: the same range."""
    return f"genzoo-core{api.replace(' ', '')}"


@dataclass
class Distribution:
    """One first-party distribution (or the template) and where its files are."""

    kind: str  # "core", "plugin" or "template"
    folder: Path  # relative to the repository root
    pyproject: Path  # relative to the repository root

    @property
    def label(self) -> str:
        """How reports name it."""
        return self.pyproject.as_posix()


def distributions(root: Path = ROOT) -> list[Distribution]:
    """genzoo-core, every plugin under ``plugins/`` and the template, in that order."""
    found = [Distribution("core", Path("."), Path("pyproject.toml"))]
    for folder in sorted((root / "plugins").glob("genzoo-*")):
        if (folder / "pyproject.toml").is_file():
            relative = folder.relative_to(root)
            found.append(Distribution("plugin", relative, relative / "pyproject.toml"))
    found.append(Distribution("template", TEMPLATE, TEMPLATE / "pyproject.toml.tmpl"))
    return found


class _Placeholder(dict):
    """Every template placeholder reads as ``example`` (enough to parse the TOML)."""

    def __missing__(self, key: str) -> str:
        return "example"


def parse_pyproject(text: str, kind: str) -> dict[str, Any]:
    """The parsed pyproject; a template's placeholders are filled in first."""
    return tomllib.loads(_filled(text) if kind == "template" else text)


def _filled(text: str) -> str:
    """A template's text with every placeholder filled in."""
    return string.Template(text).safe_substitute(_Placeholder())


def _as_parsed(value: Any, kind: str) -> Any:
    """``value`` as it reads once parsed: a template's placeholders filled in."""
    return json.loads(_filled(json.dumps(value))) if kind == "template" else value


def plugin_modules(root: Path, dist: Distribution, data: dict[str, Any]) -> list[Path]:
    """The plugin modules a plugin's ``genzoo`` entry points name, as files."""
    entry_points = data.get("project", {}).get("entry-points", {}).get("genzoo", {})
    return [root / dist.folder / (target.split(":")[0].replace(".", "/") + ".py")
            for target in entry_points.values()]


# ---- what each distribution should say -------------------------------------------------------


@dataclass
class Expected:
    """The managed fields of one pyproject, and the genzoo-core requirement of a plugin."""

    project: dict[str, Any]
    urls: dict[str, str] | None
    requirement: str | None = None
    requirement_from: str = ""


def expected(root: Path, dist: Distribution, data: dict[str, Any]) -> tuple[Expected, list[str]]:
    """What the managed fields of ``dist`` should hold, and problems that block deciding it."""
    version, _ = core_versions(root)
    problems: list[str] = []
    common = {
        "requires-python": REQUIRES_PYTHON,
        "license": LICENSE,
        "license-files": LICENSE_FILES,
    }
    if dist.kind == "core":
        project = {"version": version, **common, "authors": AUTHORS,
                   "keywords": CORE_KEYWORDS, "classifiers": CORE_CLASSIFIERS}
        return Expected(project, project_urls(version)), problems
    if dist.kind == "template":
        # A new plugin is its author's: its version, authors and URLs are theirs to fill in.
        project = {**common, "keywords": [*KEYWORDS, "$name"],
                   "classifiers": TEMPLATE_CLASSIFIERS}
        return Expected(project, None), problems
    names = sorted(data.get("project", {}).get("entry-points", {}).get("genzoo", {}))
    project = {"version": version, **common, "authors": AUTHORS,
               "keywords": [*KEYWORDS, *names], "classifiers": CLASSIFIERS}
    modules = plugin_modules(root, dist, data)
    ranges = {m: api_range(m) for m in modules if m.is_file()}
    if not modules:
        problems.append(f"{dist.label}: no [project.entry-points.genzoo] entry names the plugin")
    elif len(ranges) != len(modules) or None in ranges.values():
        problems.append(f"{dist.label}: cannot read the string genzoo_api_range() returns in "
                        f"{', '.join(m.relative_to(root).as_posix() for m in modules)}")
    elif len(set(ranges.values())) > 1:
        problems.append(f"{dist.label}: its plugin modules declare different API ranges "
                        f"{sorted(set(ranges.values()))}")
    result = Expected(project, project_urls(version))
    if ranges and not problems:
        module, api = next(iter(ranges.items()))
        result.requirement = core_requirement(api)
        result.requirement_from = f"{module.relative_to(root).as_posix()}'s genzoo_api_range()"
    return result, problems


def _core_dependency(data: dict[str, Any]) -> str | None:
    for dependency in data.get("project", {}).get("dependencies", []):
        if re.match(r"genzoo-core\b", dependency.replace("_", "-"), re.I):
            return dependency.replace(" ", "")
    return None


# ---- links in long descriptions --------------------------------------------------------------

# Fenced code and inline code are matched first and skipped, so only real links are seen.
_MARKDOWN = re.compile(
    r"(?P<fence>^[ \t]*(?P<marker>`{3,}|~{3,})[^\n]*\n.*?^[ \t]*(?P=marker)[ \t]*$)"
    r"|(?P<code>`[^`\n]+`)"
    r"|(?P<image>!)?\[(?:[^\[\]]|!\[[^\]]*\]\([^)\s]*\))*\]\((?P<target><[^>\n]*>|[^)\s]+)"
    r"(?:\s+\"[^\"\n]*\")?\)"
    r"|^[ ]{0,3}\[[^\]\n]+\]:[ \t]*(?P<reference><[^>\n]*>|\S+)"
    r"|<(?P<tag>img|a|source)\b[^>]*?\b(?:src|href|srcset)=\"(?P<html>[^\"]*)\"",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)
_PINNED = re.compile(
    rf"^(?:{re.escape(REPOSITORY)}/(?P<form>blob|tree|raw)/|{re.escape(RAW)}/)"
    r"(?P<ref>[^/]+)/(?P<path>[^?#]*)(?P<rest>.*)$"
)


@dataclass
class Link:
    """A link or image target in a Markdown file."""

    line: int
    start: int  # offset of the target in the text
    target: str
    image: bool


def links(text: str) -> list[Link]:
    """Every link and image target of a Markdown text, outside code."""
    found = []
    for match in _MARKDOWN.finditer(text):
        for group in ("target", "reference", "html"):
            if match[group] is not None:
                target, start = match[group], match.start(group)
                if target.startswith("<") and target.endswith(">"):
                    target, start = target[1:-1], start + 1
                image = bool(match["image"]) or (match["tag"] or "").lower() in ("img", "source")
                found.append(Link(text.count("\n", 0, start) + 1, start, target, image))
    return found


def pinned_url(path: str, rest: str, *, image: bool, directory: bool, version: str) -> str:
    """The absolute URL of repository ``path`` at the release: raw for images, else blob/tree."""
    if image:
        return f"{RAW}/{tag(version)}/{path}{rest}"
    return f"{REPOSITORY}/{'tree' if directory else 'blob'}/{tag(version)}/{path}{rest}"


def check_link(root: Path, markdown: Path, link: Link, version: str) -> tuple[str, str | None]:
    """``(problem, replacement)`` for one link: ``("", None)`` when it is fine.

    The replacement is the pinned absolute URL when one can be worked out.
    """
    target = link.target
    kind = "image" if link.image else "link"
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # absolute: a scheme
        pinned = _PINNED.match(target)
        if not pinned:
            return "", None
        path, rest = pinned["path"].rstrip("/"), pinned["rest"]
        where = root / path
        wanted = pinned_url(path, rest, image=link.image, directory=where.is_dir(),
                            version=version)
        if not where.exists():
            return f"{kind} {target} points at {path}, which is not in the repository", None
        if target != wanted:
            return f"{kind} {target} is not pinned to {tag(version)} in the right form", wanted
        return "", None
    if target.startswith("//"):
        return "", None
    path_part, rest = re.match(r"^([^?#]*)(.*)$", target).groups()
    # Resolved by the path's text, not by following links: the repository's layout decides.
    top = Path(os.path.normpath(root.absolute()))
    resolved = Path(os.path.normpath(top / markdown.parent / path_part if path_part
                                     else top / markdown))  # "#anchor": this file
    if not resolved.is_relative_to(top):
        return f"relative {kind} {target} leaves the repository", None
    if not resolved.exists():
        return f"relative {kind} {target} points at a missing file", None
    path = resolved.relative_to(top).as_posix()
    wanted = pinned_url(path, rest, image=link.image, directory=resolved.is_dir(),
                        version=version)
    return f"relative {kind} {target}: use {wanted}", wanted


def long_descriptions(root: Path = ROOT) -> list[Path]:
    """The ``readme`` file of genzoo-core and of every plugin, relative to the root."""
    found = []
    for dist in distributions(root):
        if dist.kind == "template":
            continue
        data = tomllib.loads((root / dist.pyproject).read_text(encoding="utf-8"))
        readme = data.get("project", {}).get("readme")
        if isinstance(readme, dict):
            readme = readme.get("file")
        if isinstance(readme, str):
            found.append(dist.folder / readme)
    return [Path(p.as_posix().removeprefix("./")) for p in found]


def link_problems(root: Path, markdown: Path, version: str) -> list[tuple[Link, str, str | None]]:
    """The links of ``markdown`` that are not absolute and pinned to the release."""
    text = (root / markdown).read_text(encoding="utf-8")
    problems = []
    for link in links(text):
        problem, replacement = check_link(root, markdown, link, version)
        if problem:
            problems.append((link, problem, replacement))
    return problems


def pin_links(root: Path, markdown: Path, version: str) -> tuple[str, list[str]]:
    """The text of ``markdown`` with its links pinned, and the problems left unfixed."""
    text = (root / markdown).read_text(encoding="utf-8")
    unfixed = []
    for link, problem, replacement in sorted(
            link_problems(root, markdown, version), key=lambda p: -p[0].start):
        if replacement is None:
            unfixed.append(f"{markdown.as_posix()}:{link.line}: {problem}")
            continue
        assert text[link.start:link.start + len(link.target)] == link.target
        text = text[:link.start] + replacement + text[link.start + len(link.target):]
    return text, sorted(unfixed)


# ---- checking --------------------------------------------------------------------------------


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _difference(have: Any, want: Any) -> str:
    """How a field differs from what it should be, short enough for one line."""
    if have is None:
        return f"is missing (expected {_show(want)[:60]}{'...' if len(_show(want)) > 60 else ''})"
    if isinstance(have, list) and isinstance(want, list) and have != want:
        lacking = [v for v in want if v not in have]
        extra = [v for v in have if v not in want]
        if lacking or extra:
            parts = ([f"lacks {_show(lacking)}"] if lacking else []) + (
                [f"has extra {_show(extra)}"] if extra else [])
            return " and ".join(parts)
        return f"is in another order: expected {_show(want)}"
    if isinstance(have, dict) and isinstance(want, dict):
        keys = sorted(k for k in {*have, *want} if have.get(k) != want.get(k))
        return "differs in " + ", ".join(
            f"{k} ({_show(have.get(k, 'missing'))}, expected {_show(want.get(k, 'absent'))})"
            for k in keys)
    return f"is {_show(have)}, expected {_show(want)}"


def check(root: Path = ROOT) -> list[str]:
    """Every drift from the release metadata, one line each (empty when all agree)."""
    root = Path(root)
    version, _ = core_versions(root)
    problems: list[str] = []
    license_text = (root / "LICENSE").read_bytes() if (root / "LICENSE").is_file() else None
    if license_text is None:
        problems.append("LICENSE: missing at the repository root (the Apache License 2.0 text)")
    for dist in distributions(root):
        text = (root / dist.pyproject).read_text(encoding="utf-8")
        data = parse_pyproject(text, dist.kind)
        want, blocked = expected(root, dist, data)
        problems += blocked
        project = data.get("project", {})
        for key, value in want.project.items():
            if project.get(key) != _as_parsed(value, dist.kind):
                problems.append(f"{dist.label}: project.{key} "
                                f"{_difference(project.get(key), _as_parsed(value, dist.kind))}")
        if want.urls is not None and project.get("urls") != want.urls:
            problems.append(f"{dist.label}: [project.urls] "
                            f"{_difference(project.get('urls'), want.urls)}")
        if want.requirement is not None:
            have = _core_dependency(data)
            if have != want.requirement:
                problems.append(
                    f"{dist.label}: the genzoo-core dependency is {_show(have or 'missing')}, "
                    f"expected {_show(want.requirement)} (the range of {want.requirement_from})"
                )
        if dist.kind == "plugin":
            for module in plugin_modules(root, dist, data):
                init = module.parent / "__init__.py"
                declared = _module_constants(init).get("__version__") if init.is_file() else None
                if declared is not None and declared != version:
                    problems.append(f"{init.relative_to(root).as_posix()}: __version__ is "
                                    f"{_show(declared)}, expected {_show(version)}")
        if "Typing :: Typed" in want.project["classifiers"]:
            packages = ([Path("genzoo_core")] if dist.kind == "core" else
                        [m.parent.relative_to(root) for m in plugin_modules(root, dist, data)])
            for package in packages:
                if not (root / package / "py.typed").is_file():
                    problems.append(f"{(package / 'py.typed').as_posix()}: missing, yet the "
                                    f"classifiers say 'Typing :: Typed'")
        if dist.kind != "core" and license_text is not None:
            copy = dist.folder / ("LICENSE.tmpl" if dist.kind == "template" else "LICENSE")
            if not (root / copy).is_file():
                problems.append(f"{copy.as_posix()}: missing (a copy of the root LICENSE)")
            elif (root / copy).read_bytes() != license_text:
                problems.append(f"{copy.as_posix()}: differs from the root LICENSE")
    for markdown in long_descriptions(root):
        for link, problem, _ in link_problems(root, markdown, version):
            problems.append(f"{markdown.as_posix()}:{link.line}: {problem}")
    changelog = root / CHANGELOG
    heading = re.compile(rf"^## \[?{re.escape(version)}\]?(?:\s|$)", re.M)
    if not changelog.is_file() or not heading.search(changelog.read_text(encoding="utf-8")):
        problems.append(f"{CHANGELOG.as_posix()}: no section '## {version}' for this release")
    return problems


# ---- writing ---------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _render(value: Any) -> str:
    """A TOML value: strings, lists and tables of them, as this project writes them."""
    if isinstance(value, str):
        return _show(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_render(v)}" for k, v in value.items()) + " }"
    items = [_render(v) for v in value]
    return "[" + ", ".join(items) + "]"


def _assignment(key: str, value: Any) -> list[str]:
    """``key = value`` as lines; long lists one item a line."""
    line = f"{key} = {_render(value)}"
    if len(line) <= 100 or not isinstance(value, list):
        return [line + "\n"]
    return [f"{key} = [\n", *(f"    {_render(v)},\n" for v in value), "]\n"]


def _tables(lines: list[str]) -> list[tuple[str, int]]:
    """``(table name, line index)`` of every table header, outside multi-line values."""
    found, index = [], 0
    while index < len(lines):
        match = _HEADER.match(lines[index])
        if match:
            found.append((match[1].replace(" ", ""), index))
            index += 1
            continue
        index = _value_end(lines, index) if "=" in lines[index] else index + 1
    return found


def _value_end(lines: list[str], start: int) -> int:
    """The line after the (possibly multi-line) assignment that begins at ``start``."""
    for end in range(start + 1, len(lines) + 1):
        try:
            tomllib.loads(_filled("".join(lines[start:end])))
        except tomllib.TOMLDecodeError:
            continue
        return end
    raise ValueError(f"line {start + 1}: cannot find the end of {lines[start].strip()!r}")


def _table_span(lines: list[str], name: str) -> tuple[int, int] | None:
    """``(header line, next header line)`` of table ``name``."""
    tables = _tables(lines)
    for position, (table, index) in enumerate(tables):
        if table == name:
            end = tables[position + 1][1] if position + 1 < len(tables) else len(lines)
            return index, end
    return None


def _keys(lines: list[str], start: int, end: int) -> dict[str, tuple[int, int]]:
    """Each key assigned in lines ``start..end`` -> the span of its assignment."""
    found, index = {}, start
    while index < end:
        match = re.match(r"^\s*([A-Za-z0-9_-]+|\"[^\"]+\")\s*=", lines[index])
        if match:
            stop = _value_end(lines, index)
            found[match[1].strip('"')] = (index, stop)
            index = stop
        else:
            index += 1
    return found


def set_project_key(text: str, key: str, value: Any) -> str:
    """``text`` with ``key`` of ``[project]`` set to ``value`` (added in PROJECT_ORDER)."""
    lines = text.splitlines(keepends=True)
    span = _table_span(lines, "project")
    if span is None:
        raise ValueError("no [project] table")
    keys = _keys(lines, span[0] + 1, span[1])
    new = _assignment(key, value)
    if key in keys:
        start, stop = keys[key]
        if "".join(lines[start:stop]).strip() == "".join(new).strip():
            return text
        lines[start:stop] = new
        return "".join(lines)
    before = PROJECT_ORDER[:PROJECT_ORDER.index(key)] if key in PROJECT_ORDER else PROJECT_ORDER
    present = [keys[k][1] for k in before if k in keys]
    at = max(present) if present else span[0] + 1
    lines[at:at] = new
    return "".join(lines)


def set_core_requirement(text: str, requirement: str) -> str:
    """``text`` with the genzoo-core entry of ``[project] dependencies`` set to ``requirement``."""
    lines = text.splitlines(keepends=True)
    span = _table_span(lines, "project")
    keys = _keys(lines, span[0] + 1, span[1]) if span else {}
    if "dependencies" not in keys:
        return set_project_key(text, "dependencies", [requirement])
    start, stop = keys["dependencies"]
    value = "".join(lines[start:stop])
    entry = re.compile(r"([\"'])genzoo[-_]core\b[^\"']*\1", re.I)
    if entry.search(value):
        value = entry.sub(lambda m: _show(requirement), value, count=1)
    else:
        value = re.sub(r"=\s*\[", lambda m: f"{m[0]}{_show(requirement)}, ", value, count=1)
    lines[start:stop] = [value]
    return "".join(lines)


def set_urls(text: str, urls: dict[str, str]) -> str:
    """``text`` with its ``[project.urls]`` table holding exactly ``urls``."""
    lines = text.splitlines(keepends=True)
    body = [f"{key} = {_show(url)}\n" for key, url in urls.items()]
    span = _table_span(lines, "project.urls")
    if span is not None:
        start, end = span
        while end > start + 1 and (not lines[end - 1].strip()
                                   or lines[end - 1].lstrip().startswith("#")):
            end -= 1  # keep the blank lines and comments that lead into the next table
        lines[start + 1:end] = body
        return "".join(lines)
    project = _table_span(lines, "project")
    keys = _keys(lines, project[0] + 1, project[1])
    at = max(stop for _, stop in keys.values()) if keys else project[0] + 1
    lines[at:at] = ["\n", "[project.urls]\n", *body]
    return "".join(lines)


def _without(data: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    project = {k: v for k, v in data.get("project", {}).items() if k not in keys}
    return {**data, "project": project}


def updated_pyproject(root: Path, dist: Distribution) -> str:
    """The text of ``dist``'s pyproject with every managed field as it should be."""
    text = (root / dist.pyproject).read_text(encoding="utf-8")
    before = parse_pyproject(text, dist.kind)
    want, problems = expected(root, dist, before)
    if problems:
        raise SystemExit("\n".join(problems))
    for key, value in want.project.items():
        text = set_project_key(text, key, value)
    if want.urls is not None:
        text = set_urls(text, want.urls)
    if want.requirement is not None:
        text = set_core_requirement(text, want.requirement)
    after = parse_pyproject(text, dist.kind)
    managed = [*want.project, "urls", *(["dependencies"] if want.requirement else [])]
    # Nothing else moved, and every managed field now reads as it should.
    assert _without(after, managed) == _without(before, managed), dist.label
    for key, value in want.project.items():
        assert after["project"][key] == _as_parsed(value, dist.kind), (dist.label, key)
    assert want.urls is None or after["project"]["urls"] == want.urls
    if want.requirement is not None:
        assert _core_dependency(after) == want.requirement
        others = [d for d in before["project"].get("dependencies", [])
                  if d.replace(" ", "") != _core_dependency(before)]
        assert [d for d in after["project"]["dependencies"]
                if d.replace(" ", "") != want.requirement] == others, dist.label
    return text


def write(root: Path = ROOT, *, skip: tuple[Path, ...] = ()) -> list[str]:
    """Write the release metadata everywhere; return the files changed and problems left.

    ``skip`` names long descriptions (relative paths) whose links are left alone.
    """
    root = Path(root)
    version, _ = core_versions(root)
    changed, unfixed = [], []

    def put(path: Path, content: str | bytes) -> None:
        target = root / path
        old = target.read_bytes() if target.is_file() else None
        data = content.encode("utf-8") if isinstance(content, str) else content
        if old != data:
            target.write_bytes(data)
            changed.append(path.as_posix())

    license_text = (root / "LICENSE").read_bytes()
    for dist in distributions(root):
        put(dist.pyproject, updated_pyproject(root, dist))
        if dist.kind == "plugin":
            put(dist.folder / "LICENSE", license_text)
            data = tomllib.loads((root / dist.pyproject).read_text(encoding="utf-8"))
            for module in plugin_modules(root, dist, data):
                init = module.parent / "__init__.py"
                if init.is_file():
                    text = init.read_text(encoding="utf-8")
                    put(init.relative_to(root), re.sub(
                        r'^__version__ = "[^"]*"$', f'__version__ = "{version}"', text,
                        count=1, flags=re.M))
        elif dist.kind == "template":
            put(dist.folder / "LICENSE.tmpl", license_text)
    for markdown in long_descriptions(root):
        if markdown in skip:
            continue
        text, problems = pin_links(root, markdown, version)
        put(markdown, text)
        unfixed += problems
    return changed + unfixed


def main(argv: list[str] | None = None) -> int:
    """Write the release metadata, or with ``--check`` report drift (exit 1 if any)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing: report each drift on a line, exit 1 if any")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.root)
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} problem(s): run python scripts/release_metadata.py "
                  f"to write the metadata, then fix what it cannot", file=sys.stderr)
        return 1 if problems else 0
    for line in write(args.root):
        print(line)
    problems = check(args.root)
    for problem in problems:
        print(f"left to fix: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
