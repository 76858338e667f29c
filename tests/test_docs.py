"""The documentation agrees with the code.

Every hook in ``genzoo_core/hookspecs.py`` is documented in CONTRIBUTING.md with
its exact signature and an example that runs and returns what the core accepts,
and is exercised by a test; ``mkdocs.yml`` lists only pages
that exist, and every page is reachable from its nav. The site itself is built
by ``make docs`` (and ``make test``), not here.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

import pluggy
import pytest

from genzoo_core import hookspecs

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
MKDOCS = ROOT / "mkdocs.yml"


def hookspec_functions() -> dict[str, object]:
    """The hook specifications, found by pluggy's own marker attribute."""
    marker = f"{hookspecs.PROJECT_NAME}_spec"  # what HookspecMarker sets on a function
    return {
        name: fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, marker)
    }


def rendered_signature(fn: object) -> str:
    """``name(...) -> type`` as the source writes it (annotations are strings here)."""
    signature = inspect.signature(fn)
    parameters = []
    for p in signature.parameters.values():
        text = p.name
        if p.annotation is not inspect.Parameter.empty:
            text += f": {p.annotation}"
        if p.default is not inspect.Parameter.empty:
            text += f" = {p.default!r}" if ":" in text else f"={p.default!r}"
        parameters.append(text)
    result = f"{fn.__name__}({', '.join(parameters)})"
    if signature.return_annotation is not inspect.Signature.empty:
        result += f" -> {signature.return_annotation}"
    return result


HOOKS = hookspec_functions()


def test_the_hookspecs_are_found():
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    registered = {name for name in vars(pm.hook) if not name.startswith("_")}
    assert HOOKS, "found no function marked with hookspec in genzoo_core/hookspecs.py"
    assert set(HOOKS) == registered, (
        f"the marker attribute finds {sorted(HOOKS)}, pluggy registers {sorted(registered)}"
    )


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_documented_with_its_signature(name):
    text = CONTRIBUTING.read_text(encoding="utf-8")
    signature = rendered_signature(HOOKS[name])
    assert re.search(rf"\b{name}\b", text), (
        f"CONTRIBUTING.md never mentions the hook {name}: add a section with its "
        f"signature `def {signature}:` and an example"
    )
    assert signature in text, (
        f"CONTRIBUTING.md does not give the signature of {name} as genzoo_core/hookspecs.py "
        f"defines it: expected `def {signature}:`"
    )


def hook_section(name: str) -> str:
    """The text of CONTRIBUTING.md's ``### `name``` section, up to the next heading of its level."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    match = re.search(rf"^### `{name}`\n(.*?)(?=^##? |^### |\Z)", text, re.M | re.S)
    return match.group(1) if match else ""


def hook_example(name: str) -> str:
    """The Python block of the hook's section that implements it with ``@hookimpl``."""
    blocks = re.findall(r"^```python\n(.*?)^```", hook_section(name), re.M | re.S)
    examples = [b for b in blocks if re.search(rf"^@hookimpl\ndef {name}\(", b, re.M)]
    return examples[0] if examples else ""


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_has_a_runnable_example_in_contributing(name):
    """Each hook's section holds a complete example whose result the core accepts."""
    from packaging.specifiers import SpecifierSet

    from genzoo_core import API_VERSION

    assert hook_section(name), f"CONTRIBUTING.md has no section \"### `{name}`\""
    example = hook_example(name)
    assert example, (
        f"CONTRIBUTING.md's section on {name} has no ```python block implementing it "
        f"(`@hookimpl` then `def {name}(...)`)"
    )
    namespace: dict[str, object] = {}
    exec(compile(example, f"CONTRIBUTING.md ({name})", "exec"), namespace)  # noqa: S102
    result = namespace[name]()
    if name == "genzoo_api_range":
        assert API_VERSION in SpecifierSet(result), (
            f"the example's range {result!r} excludes today's API {API_VERSION}"
        )
        return
    returns = HOOKS[name].__annotations__["return"]  # e.g. "list[ModelSpec]"
    import genzoo_core.plugin  # the author namespace holds every spec class

    spec_class = getattr(genzoo_core.plugin, re.fullmatch(r"list\[(\w+)\]", returns).group(1))
    assert result and all(isinstance(spec, spec_class) for spec in result), result
    for spec in result:
        spec.validate()
        if isinstance(spec, genzoo_core.ModelSpec):
            spec.check_config(spec.default_config)
            unchecked = set(spec.default_config) - set(spec.config_schema)
            assert not unchecked, f"the example's config_schema leaves out {sorted(unchecked)}"


def python_files_under_tests() -> list[Path]:
    """Python files under tests/ (the toy plugin included), this one excepted."""
    return [p for p in sorted(TESTS.rglob("*.py")) if p.resolve() != Path(__file__).resolve()]


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_exercised_by_a_test(name):
    call_or_def = re.compile(rf"\b{name}\s*\(")
    users = [
        p for p in python_files_under_tests() if call_or_def.search(p.read_text(encoding="utf-8"))
    ]
    assert users, (
        f"no file under tests/ implements or calls the hook {name}: implement it in "
        f"tests/toy_plugin/toyzoo/plugin.py or a make_plugin source, and test what it registers"
    )


# -- mkdocs.yml --------------------------------------------------------------------------


def mkdocs_config() -> dict:
    yaml = pytest.importorskip("yaml", reason="needs PyYAML (installed with mkdocs)")

    class Loader(yaml.SafeLoader):
        """Safe loading that tolerates mkdocs' !ENV and !!python tags."""

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    return yaml.load(MKDOCS.read_text(encoding="utf-8"), Loader=Loader)


def nav_pages(entry: object) -> list[str]:
    """Every page path in a nav entry (URLs left out)."""
    if isinstance(entry, str):
        return [] if "://" in entry else [entry]
    if isinstance(entry, list):
        return [page for item in entry for page in nav_pages(item)]
    if isinstance(entry, dict):
        return [page for value in entry.values() for page in nav_pages(value)]
    return []


def test_mkdocs_nav_lists_only_existing_pages():
    config = mkdocs_config()
    docs = ROOT / config.get("docs_dir", "docs")
    pages = nav_pages(config.get("nav", []))
    assert pages, "mkdocs.yml has no nav"
    missing = [page for page in pages if not (docs / page).is_file()]
    assert not missing, (
        f"mkdocs.yml's nav lists pages that do not exist under {docs.name}/: {missing}"
    )
    repeated = sorted({page for page in pages if pages.count(page) > 1})
    assert not repeated, f"mkdocs.yml's nav lists these pages more than once: {repeated}"


def test_every_docs_page_is_in_the_nav():
    config = mkdocs_config()
    docs = ROOT / config.get("docs_dir", "docs")
    listed = set(nav_pages(config.get("nav", [])))
    pages = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")}
    orphans = sorted(pages - listed)
    assert not orphans, (
        f"these pages under {docs.name}/ are not in mkdocs.yml's nav, so the site cannot "
        f"reach them (and mkdocs build --strict fails): {orphans}"
    )


def test_snippets_included_by_docs_pages_exist():
    docs = ROOT / mkdocs_config().get("docs_dir", "docs")
    missing = [
        f"{page.relative_to(ROOT)} includes {target}"
        for page in sorted(docs.rglob("*.md"))
        for target in re.findall(r'^--8<--\s+"([^"]+)"', page.read_text(encoding="utf-8"), re.M)
        if not (ROOT / target).is_file()
    ]
    assert not missing, f"snippet files that do not exist: {missing}"


# -- the mkdocs hook that rewrites links to files outside docs/ ----------------------------


def load_mkdocs_hooks():
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "scripts/mkdocs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_links_outside_docs_become_code_paths(tmp_path):
    hooks = load_mkdocs_hooks()
    (tmp_path / "plugins" / "genzoo-x").mkdir(parents=True)
    (tmp_path / "plugins" / "genzoo-x" / "README.md").write_text("card")
    docs = tmp_path / "docs"
    (docs / "models").mkdir(parents=True)
    (docs / "results.md").write_text("results")
    page = docs / "models" / "x.md"
    markdown = "\n".join([
        "The card is [the model card](../../plugins/genzoo-x/README.md).",
        "Also [plugins/genzoo-x/README.md](../../plugins/genzoo-x/README.md#data).",
        "Inside docs: [results](../results.md); missing: [gone](../../plugins/gone.md).",
        "An image stays: ![grid](../../plugins/genzoo-x/README.md).",
        "Code stays: `[a](../../plugins/genzoo-x/README.md)`",
        "```md",
        "[b](../../plugins/genzoo-x/README.md)",
        "```",
        "A URL stays: [site](https://example.org/a.md).",
    ])
    out = hooks.rewrite_outside_links(markdown, page, docs, tmp_path).splitlines()
    assert out[0] == "The card is the model card (`plugins/genzoo-x/README.md`)."
    assert out[1] == "Also `plugins/genzoo-x/README.md`."
    assert out[2:] == markdown.splitlines()[2:]  # inside docs/, missing, image, code, URL


def test_rest_roles_are_tidied_in_rendered_api_pages():
    hooks = load_mkdocs_hooks()
    html = (
        "<p>Return the :class:<code>~genzoo_core.ModelSpec</code> and "
        ":func:<code>genzoo_core.load</code>.</p>\n<p>Example::</p>\n<pre><code>x</code></pre>"
        "<p>Not before code::</p>"
    )
    assert hooks.tidy_rest_markup(html) == (
        "<p>Return the <code>ModelSpec</code> and <code>genzoo_core.load</code>.</p>\n"
        "<p>Example:</p>\n<pre><code>x</code></pre><p>Not before code::</p>"
    )
