"""Helpers that more than one ``genzoo`` command uses: tables and option checks."""

from __future__ import annotations

from pathlib import Path

from genzoo_core.errors import GenzooError


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _at_least(minimum: int, **options: int | None) -> None:
    """Refuse any given option below ``minimum``, naming it as the user typed it."""
    for name, value in options.items():
        if value is not None and value < minimum:
            flag = f"-{name}" if len(name) == 1 else f"--{name.replace('_', '-')}"
            bound = "0 or more" if minimum == 0 else f"at least {minimum}"
            raise GenzooError(f"{flag} must be {bound}, got {value}")


def _check_parent(output: Path) -> None:
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise GenzooError(f"-o {output}: {parent} is a file, not a folder")
            return
