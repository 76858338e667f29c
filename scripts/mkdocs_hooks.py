"""MkDocs hooks for the genzoo documentation (named in ``mkdocs.yml``).

Pages under ``docs/`` may link to files elsewhere in the repository, such as a
plugin's model card (``../../plugins/genzoo-cgan/README.md``). Those links work
when the Markdown is read in the repository, but the built site holds only
``docs/``, so MkDocs reports them as broken. :func:`on_page_markdown` rewrites
each such link, when its target exists, into the code-formatted repository path
(``plugins/genzoo-cgan/README.md``). Every other link is left alone, so a link
to a missing page, inside ``docs/`` or out of it, still fails
``mkdocs build --strict``. Images are never rewritten: they must live under
``docs/``.

The docstrings of ``genzoo_core`` use a few reStructuredText conventions
(``:class:`~genzoo_core.ModelSpec```, ``Example::``) that mkdocstrings renders
literally; :func:`on_page_content` tidies them in the API reference pages.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# Fenced code blocks and inline code are matched first and kept as they are, so
# that only real links are rewritten.
_TOKENS = re.compile(
    r"(?P<fence>^[ \t]*(?P<marker>`{3,}|~{3,})[^\n]*\n.*?^[ \t]*(?P=marker)[ \t]*$)"
    r"|(?P<code>`[^`\n]+`)"
    r"|(?<!!)\[(?P<text>[^\]\n]+)\]\((?P<target>[^)\s]+)\)",
    re.MULTILINE | re.DOTALL,
)
# A reST role as mkdocstrings renders it, and "Text::" introducing a code block.
_ROLE = re.compile(
    r":(?:class|func|meth|mod|data|attr|exc|obj):<code>(?P<tilde>~?)(?P<ref>[^<]+)</code>"
)
_LITERAL_INTRO = re.compile(r"::</p>(?=\s*<pre)")


def _outside_target(target: str, page_dir: Path, docs_dir: Path, root: Path) -> str | None:
    """The repository path of ``target`` if it is an existing file outside ``docs_dir``."""
    if "://" in target or target.startswith(("#", "/", "mailto:")):
        return None
    path = target.split("#", 1)[0]
    if not path:
        return None
    resolved = (page_dir / path).resolve()
    if resolved.is_relative_to(docs_dir) or not resolved.is_relative_to(root):
        return None
    if not resolved.exists():
        return None  # a broken link: leave it for MkDocs to report
    return resolved.relative_to(root).as_posix()


def rewrite_outside_links(markdown: str, page_path: Path, docs_dir: Path, root: Path) -> str:
    """Replace links from ``page_path`` to existing files outside ``docs_dir`` by code paths.

    Args:
        markdown: the page's Markdown source.
        page_path: the page's file, inside ``docs_dir``.
        docs_dir: the documentation folder.
        root: the repository root; targets outside it are left alone.

    Returns:
        The Markdown with ``[text](../x/y.md)`` turned into ``text (`x/y.md`)``,
        or just ``` `x/y.md` ``` when the text already is that path.
    """
    docs_dir, root = docs_dir.resolve(), root.resolve()
    page_dir = page_path.resolve().parent

    def replace(match: re.Match[str]) -> str:
        if match["text"] is None:
            return match[0]
        repo_path = _outside_target(match["target"], page_dir, docs_dir, root)
        if repo_path is None:
            return match[0]
        code = f"`{repo_path}`"
        if match["text"].strip("`") == repo_path:
            return code
        return f"{match['text']} ({code})"

    return _TOKENS.sub(replace, markdown)


def tidy_rest_markup(html: str) -> str:
    """Turn rendered reST roles into code and ``Text::`` before a code block into ``Text:``.

    ``:class:`~pkg.mod.Name``` becomes ``Name`` (the last component, as the
    ``~`` asks), ``:func:`pkg.f``` becomes ``pkg.f``; both as code.
    """

    def role(match: re.Match[str]) -> str:
        ref = match["ref"].rsplit(".", 1)[-1] if match["tilde"] else match["ref"]
        return f"<code>{ref}</code>"

    return _LITERAL_INTRO.sub(":</p>", _ROLE.sub(role, html))


def on_page_content(html: str, *, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: tidy reST leftovers in the API reference pages."""
    if page.file.src_uri.startswith("api/"):
        return tidy_rest_markup(html)
    return html


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: rewrite the page's links to files outside ``docs_dir``."""
    docs_dir = Path(config["docs_dir"])
    root = Path(config["config_file_path"]).parent
    return rewrite_outside_links(markdown, docs_dir / page.file.src_path, docs_dir, root)
