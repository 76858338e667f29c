"""Plugins use only the public API of the core.

A plugin imports the user names of ``genzoo_core`` (its ``__all__``), the author
names of ``genzoo_core.plugin`` (its ``__all__``) and, in its tests, the
conformance kit ``genzoo_core.testing`` (its ``__all__``); nothing else of the
core. This test reads every Python file of the first-party plugins and of the
new-plugin skeleton with :mod:`ast` and names the file and line of each reach
past that API:

- ``import genzoo_core.X`` or ``from genzoo_core.X import ...`` where ``X`` is not a
  public namespace (``plugin``, ``testing``, or a public module such as ``losses``);
- ``from genzoo_core import name`` (or ``from genzoo_core.plugin import name``,
  ``from genzoo_core.testing import name``) where the name is not in that
  module's ``__all__``; an author name that ``genzoo_core`` still resolves,
  deprecated (``ModelSpec``, ``GenerativeModel``, ...), is named as such;
- an attribute chain ``genzoo_core.name`` (through any name bound to the core or
  to one of its public modules) whose name is not public, and the same dotted path
  written as a string (``python -m genzoo_core.cli``, a monkeypatch target).

Attributes of a public module are public where that module says so: its
``__all__``, or any name without a leading underscore when it has none
(``genzoo_core.plugin.losses.GAN_LOSSES``, ``genzoo_core.metrics.fid``).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import string
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

import genzoo_core
import genzoo_core.plugin
import genzoo_core.testing

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
SKELETON = ROOT / "genzoo_core" / "templates" / "plugin"
CORE = "genzoo_core"
KIT = "genzoo_core.testing"
AUTHOR = "genzoo_core.plugin"
NAMESPACES = {CORE: genzoo_core, AUTHOR: genzoo_core.plugin, KIT: genzoo_core.testing}
DOTTED = re.compile(r"genzoo_core(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?::[A-Za-z_][A-Za-z0-9_.]*)?")


class _Placeholders(dict):
    """Any ``$name`` of a skeleton template becomes a valid identifier."""

    def __missing__(self, key: str) -> str:
        return f"placeholder_{key}"


def _literal_all(path: Path) -> set[str] | None:
    """The literal ``__all__`` of a module's source, read without importing it."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                try:
                    return set(ast.literal_eval(node.value))
                except ValueError:
                    return None
    return None


def _module_of(namespace: str, name: str) -> str | None:
    """The core module that the exported name ``namespace.name`` is, if it is one."""
    if namespace not in (CORE, AUTHOR):
        return None
    module = f"{CORE}.{name}"
    return module if importlib.util.find_spec(module) is not None else None


@cache
def public_names(module: str) -> frozenset[str] | None:
    """The public attributes of a public namespace, or None where any unprivate name is."""
    if module in NAMESPACES:
        return frozenset(NAMESPACES[module].__all__)
    names = _literal_all(Path(importlib.util.find_spec(module).origin))
    return None if names is None else frozenset(names)


@cache
def is_public_module(module: str) -> bool:
    """A namespace, or a core module one of them exports by name (``losses``, ``metrics``)."""
    if module in NAMESPACES:
        return True
    parent, _, name = module.rpartition(".")
    return parent == CORE and any(
        name in NAMESPACES[space].__all__ and _module_of(space, name) for space in (CORE, AUTHOR)
    )


def is_public_attribute(module: str, name: str) -> bool:
    """Whether ``module.name`` is part of the public API (``module`` a public namespace)."""
    names = public_names(module)
    if names is None:
        return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))
    return name in names


def why_not_public(module: str, name: str) -> str:
    """The message for ``module.name`` outside the public API: deprecated, or not public."""
    if module == CORE and name in genzoo_core.DEPRECATED_AUTHOR_NAMES:
        return f"{module}.{name} is deprecated: import {name} from {AUTHOR}"
    return f"{module}.{name} is not public"


def exported_module(module: str, name: str) -> str | None:
    """The module that the public name ``module.name`` stands for, if it is a module."""
    if module == CORE and name == "plugin":
        return AUTHOR
    if module == CORE and name == "testing":
        return KIT
    if not is_public_attribute(module, name):
        return None
    return _module_of(module, name)


def check_path(dotted: str) -> str | None:
    """Why the dotted path ``genzoo_core.a.b`` reaches past the public API, or None."""
    parts = dotted.split(".")
    return check_chain(parts[0], parts[1:])


def check_chain(module: str, names: list[str]) -> str | None:
    """Why the attributes ``names`` of the public module ``module`` reach past the API, or None."""
    for name in names:
        child = exported_module(module, name)
        if child is not None:
            module = child
            continue
        if not is_public_attribute(module, name):
            return why_not_public(module, name)
        return None  # a public name of a public namespace: what it holds is its own API
    return None


def plugin_sources() -> Iterator[tuple[Path, str]]:
    """Every first-party plugin's Python file, and the skeleton's templates filled in."""
    for path in sorted(PLUGINS.rglob("*.py")):
        # build/ and *.egg-info hold generated copies that git ignores (a clean clone has none)
        if not any(part.endswith(".egg-info") or part.startswith(".") or part == "build"
                   for part in path.relative_to(PLUGINS).parts):
            yield path, path.read_text(encoding="utf-8")
    for path in sorted(SKELETON.rglob("*.py.tmpl")):
        text = string.Template(path.read_text(encoding="utf-8")).substitute(_Placeholders())
        yield path, text


class _Checker(ast.NodeVisitor):
    """Collects ``(line, message)`` for every private reach into the core."""

    def __init__(self) -> None:
        self.problems: list[tuple[int, str]] = []
        self.bound: dict[str, str] = {}  # a local name -> the public namespace it stands for

    def report(self, node: ast.AST, message: str) -> None:
        self.problems.append((node.lineno, message))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name != CORE and not alias.name.startswith(CORE + "."):
                continue
            if not is_public_module(alias.name):
                self.report(node, f"import {alias.name}: {alias.name} is not a public namespace")
            elif alias.asname:
                self.bound[alias.asname] = alias.name
            else:
                self.bound[CORE] = CORE

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or (module != CORE and not module.startswith(CORE + ".")):
            return
        if not is_public_module(module):
            self.report(node, f"from {module} import ...: {module} is not a public namespace")
            return
        for alias in node.names:
            child = exported_module(module, alias.name)
            if alias.name == "*" or child is not None:
                if child is not None:
                    self.bound[alias.asname or alias.name] = child
            elif not is_public_attribute(module, alias.name):
                self.report(node, f"from {module} import {alias.name}: "
                                  f"{why_not_public(module, alias.name)}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            chain.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name) and current.id in self.bound:
            problem = check_chain(self.bound[current.id], list(reversed(chain)))
            if problem:
                self.report(node, problem)
            return  # the inner attributes are part of this chain
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and DOTTED.fullmatch(node.value):
            problem = check_path(node.value.split(":")[0])
            if problem:
                self.report(node, f"{node.value!r}: {problem}")


def private_reaches(text: str, filename: str) -> list[tuple[int, str]]:
    """The private reaches of one source, in line order."""
    checker = _Checker()
    tree = ast.parse(text, filename=filename)
    # imports bind names before any use: visit them first, wherever they are
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            checker.visit(node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Constant):
            checker.visit(node)
    return sorted(set(checker.problems))


def test_plugins_use_only_the_public_api() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {message}"
             for path, text in plugin_sources()
             for line, message in private_reaches(text, str(path))]
    assert not found, ("plugins reach past genzoo_core's public API (import user names from "
                       "genzoo_core, author names from genzoo_core.plugin):\n"
                       + "\n".join(found))


def test_the_sources_are_found() -> None:
    names = {path.name for path, _ in plugin_sources()}
    assert {"plugin.py", "model.py", "plugin.py.tmpl", "model.py.tmpl"} <= names


@pytest.mark.parametrize(("source", "expected"), [
    ("import genzoo_core\ngenzoo_core.load('gan/mnist')", []),
    ("import genzoo_core\ngenzoo_core.losses.GAN_LOSSES", [2]),
    ("import genzoo_core.plugin\ngenzoo_core.plugin.losses.GAN_LOSSES", []),
    ("import genzoo_core\ngenzoo_core.metrics.fid(a, b)", []),
    ("from genzoo_core import losses\nlosses._private", [1]),
    ("from genzoo_core.plugin import losses\nlosses._private", [2]),
    ("from genzoo_core.plugin import losses\nlosses.GAN_LOSSES['hinge']", []),
    ("from genzoo_core import ModelSpec", [1]),
    ("from genzoo_core import load, hookimpl", [1]),
    ("from genzoo_core.plugin import GenerativeModel, ModelSpec, Role, hookimpl", []),
    ("from genzoo_core.plugin import hub", [1]),
    ("from genzoo_core.plugin import load", [1]),
    ("import genzoo_core\ngenzoo_core.GenerativeModel", [2]),
    ("import genzoo_core.plugin as gp\ngp.schema.Int(1, 2)\ngp.hub", [3]),
    ("import genzoo_core.schema\nimport genzoo_core.losses", []),
    ("x = 'genzoo_core.plugin.ModelSpec'", []),
    ("from genzoo_core.testing import check_model", []),
    ("import genzoo_core.testing\ngenzoo_core.testing.check_model('gan')", []),
    ("from genzoo_core.data import BINARIZATION_SEED", [1]),
    ("import genzoo_core.hub", [1]),
    ("from genzoo_core import hub", [1]),
    ("import genzoo_core as gz\ngz.hub.resolve(spec, entry)", [2]),
    ("import genzoo_core\n\ndef f():\n    return genzoo_core.data.load_mnist()", [4]),
    ("from genzoo_core.testing.pytest_plugin import require_data", [1]),
    ("from genzoo_core.testing import bound_checks", [1]),
    ("import subprocess\nsubprocess.run(['python', '-m', 'genzoo_core.cli'])", [2]),
    ("x = 'genzoo_core.ModelSpec'", [1]),
    ("from . import model\nfrom .plugin import SPEC", []),
])
def test_the_checker_finds_private_reaches(source: str, expected: list[int]) -> None:
    assert [line for line, _ in private_reaches(source, "<test>")] == expected
