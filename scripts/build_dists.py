"""Build the wheel and sdist of genzoo-core and every plugin into one folder.

``make dist`` runs::

    python scripts/build_dists.py --out dist

Each distribution is built with ``python -m build --no-isolation`` (offline:
the build uses the setuptools installed here) from a copy of its sources, so
the working tree gets no ``build/`` or ``*.egg-info`` folders. A build whose
output has a warning line fails, as does ``twine check --strict`` when twine is
installed. The artifact sizes are printed at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# genzoo-core's sources: the rest of the repository is not part of its distribution.
CORE_FILES = ["pyproject.toml", "README.md", "LICENSE", "genzoo_core"]
JUNK = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.pyc",
                              ".pytest_cache", ".ruff_cache")


def sources(root: Path = ROOT) -> list[Path]:
    """genzoo-core (the root) and every plugin folder under ``plugins/``."""
    plugins = sorted(p for p in (root / "plugins").glob("genzoo-*")
                     if (p / "pyproject.toml").is_file())
    return [root, *plugins]


def _copy(folder: Path, target: Path) -> Path:
    if folder.resolve() == ROOT.resolve():
        target.mkdir(parents=True)
        for name in CORE_FILES:
            path = folder / name
            if path.is_dir():
                shutil.copytree(path, target / name, ignore=JUNK)
            else:
                shutil.copy2(path, target / name)
    else:
        shutil.copytree(folder, target, ignore=JUNK)
    return target


def warning_lines(output: str) -> list[str]:
    """The lines of a build's output that warn."""
    return [line for line in output.splitlines() if "warn" in line.lower()]


def build(folders: list[Path], out: Path) -> tuple[list[str], float]:
    """Build each folder's sdist and wheel into ``out``.

    Returns the problems (a failed build, each warning line) and the seconds taken.
    """
    out.mkdir(parents=True, exist_ok=True)
    # PYTHONDONTWRITEBYTECODE makes setuptools warn that it skips byte-compiling.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    problems: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="genzoo-build-") as work:
        for folder in folders:
            name = "genzoo-core" if folder.resolve() == ROOT.resolve() else folder.name
            copy = _copy(folder, Path(work) / name)
            result = subprocess.run(
                [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out.resolve()),
                 str(copy)], capture_output=True, text=True, env=env, timeout=600)
            output = result.stdout + result.stderr
            if result.returncode != 0:
                problems.append(f"{name}: the build failed:\n{output[-3000:]}")
            problems += [f"{name}: {line.strip()}" for line in warning_lines(output)]
    return problems, time.perf_counter() - start


def twine_check(files: list[Path]) -> list[str]:
    """``twine check --strict`` of ``files``: its complaints, none when twine is absent."""
    if importlib.util.find_spec("twine") is None:
        return []
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                             *map(str, files)], capture_output=True, text=True, timeout=600)
    if result.returncode == 0:
        return []
    return [line for line in (result.stdout + result.stderr).splitlines()
            if "PASSED" not in line and line.strip()]


def main(argv: list[str] | None = None) -> int:
    """Build every distribution into ``--out``; exit 1 on a warning or a failed check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist",
                        help="the folder for the artifacts (emptied of old ones first)")
    parser.add_argument("folders", nargs="*", type=Path,
                        help="distribution folders (default: the core and every plugin)")
    args = parser.parse_args(argv)
    out = args.out
    if out.is_dir():
        for old in list(out.glob("*.whl")) + list(out.glob("*.tar.gz")):
            old.unlink()
    problems, seconds = build(args.folders or sources(), out)
    files = sorted([*out.glob("*.whl"), *out.glob("*.tar.gz")])
    problems += twine_check(files) if files else ["no artifacts were built"]
    width = max((len(p.name) for p in files), default=0)
    for path in files:
        print(f"{path.name:<{width}}  {path.stat().st_size / 1e6:6.2f} MB")
    total = sum(p.stat().st_size for p in files) / 1e6
    print(f"{len(files)} artifacts, {total:.1f} MB, in {out} ({seconds:.0f} s)")
    for problem in problems:
        print(f"dist: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
