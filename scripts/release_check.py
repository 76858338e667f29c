"""Install the built distributions from a package index on 127.0.0.1 and use them.

``make release-check`` runs this against ``dist/`` (built by ``make dist``)::

    python scripts/release_check.py [DIST]

It serves DIST as a simple repository (PEP 503: ``/simple/<name>/`` pages that
link to the files), creates a fresh virtual environment, installs genzoo-core's
third-party dependencies there from the usual index, then installs
``genzoo-pix2pix`` with ``--index-url`` pointing at the local index alone, so
genzoo-core has to come from DIST with it. In that environment it checks that
``genzoo list`` shows pix2pix, that ``pix2pix/maps`` loads by name and
translates, and that installing genzoo-gan and uninstalling genzoo-pix2pix
updates ``genzoo list``. ``tests/test_release.py`` runs the same checks offline,
with the dependencies shared from the development environment
(:func:`fresh_venv` with ``share_from``).
"""

from __future__ import annotations

import argparse
import email.parser
import functools
import hashlib
import html
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import venv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import parse_sdist_filename, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # seconds any one command may take
# What "genzoo-related" means when sharing a development environment's packages.
_GENZOO_ENTRY = re.compile(r"^(?:__editable__[._]+)?genzoo", re.I)


def distribution_name(filename: str) -> str:
    """The normalized project name of a wheel or sdist file name."""
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[0])
    return str(parse_sdist_filename(filename)[0])


def write_simple_index(dist: Path, index: Path) -> dict[str, list[str]]:
    """Lay out ``index`` as a PEP 503 simple repository of the files in ``dist``.

    ``index/simple/<name>/index.html`` links each file (with its sha256) under
    ``index/files/``, which links to ``dist``. Returns name -> file names.
    """
    files = sorted(p for p in dist.iterdir() if p.name.endswith((".whl", ".tar.gz")))
    projects: dict[str, list[str]] = {}
    for path in files:
        projects.setdefault(distribution_name(path.name), []).append(path.name)
    (index / "files").mkdir(parents=True, exist_ok=True)
    for path in files:
        link = index / "files" / path.name
        if not link.exists():
            link.symlink_to(path.resolve())
    page = "<!DOCTYPE html>\n<html><body>\n{}\n</body></html>\n"
    root_links = [f'<a href="{html.escape(n)}/">{html.escape(n)}</a><br>' for n in projects]
    (index / "simple").mkdir(exist_ok=True)
    (index / "simple" / "index.html").write_text(page.format("\n".join(root_links)))
    for name, names in projects.items():
        links = []
        for filename in names:
            digest = hashlib.sha256((dist / filename).read_bytes()).hexdigest()
            href = f"../../files/{filename}#sha256={digest}"
            links.append(f'<a href="{html.escape(href)}">{html.escape(filename)}</a><br>')
        (index / "simple" / name).mkdir(exist_ok=True)
        (index / "simple" / name / "index.html").write_text(page.format("\n".join(links)))
    return projects


@dataclass
class IndexServer:
    """A simple repository served over HTTP on 127.0.0.1 from a thread."""

    url: str
    requests: list[str] = field(default_factory=list)


@contextmanager
def serve_index(index: Path) -> Iterator[IndexServer]:
    """Serve ``index`` (see :func:`write_simple_index`) on 127.0.0.1, a free port."""
    served = IndexServer(url="")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            served.requests.append(self.path)

    handler = functools.partial(Handler, directory=str(index))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def fresh_venv(path: Path, share_from: Path | None = None) -> Path:
    """Create a virtual environment at ``path``; return its Python.

    With ``share_from`` (a site-packages folder) the environment sees every
    package installed there except genzoo's own (``genzoo*`` packages and
    metadata, the editable installs' ``.pth`` files and finders), through a
    ``.pth`` file naming a folder of links: pip then counts the third-party
    dependencies as installed and fetches nothing but genzoo. Without it the
    environment gets its own pip and nothing else.
    """
    venv.EnvBuilder(with_pip=share_from is None, symlinks=True, clear=True).create(path)
    python = path / "bin" / "python"
    if share_from is not None:
        shared = path / "shared-site-packages"
        shared.mkdir()
        for entry in sorted(Path(share_from).iterdir()):
            if _GENZOO_ENTRY.match(entry.name) or entry.suffix == ".pth":
                continue
            (shared / entry.name).symlink_to(entry)
        site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                         "['purelib'])"]).stdout.strip())
        (site / "genzoo_release_check_shared.pth").write_text(f"{shared}\n")
    return python


def isolated_env(**extra: str) -> dict[str, str]:
    """The environment for pip and genzoo in the fresh venv: no pip config, no user site."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PIP_") and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONNOUSERSITE="1", **extra)
    return env


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = TIMEOUT,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command``; raise with its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout,
                            cwd=cwd)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {result.returncode}:\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def listed_models(python: Path, env: dict[str, str], cwd: Path) -> set[str]:
    """The model names ``genzoo list`` prints in the environment of ``python``."""
    out = run([str(python.parent / "genzoo"), "list"], env, cwd=cwd).stdout
    return {line.split()[0] for line in out.splitlines()[1:] if line.strip()}


# Loads pix2pix/maps by name and translates a small aerial-looking photo.
TRANSLATE = """
import json, sys, numpy as np, importlib.metadata as md
import genzoo_core
model = genzoo_core.load("pix2pix/maps")
rng = np.random.default_rng(0)
fields = np.kron(rng.random((1, 8, 8, 3)), np.ones((1, 16, 16, 1)))  # fields and roofs
photo = np.clip(0.25 + 0.5 * fields + 0.05 * rng.standard_normal(fields.shape), 0, 1)
out = model.translate(photo.astype("float32"))
import genzoo_pix2pix
print(json.dumps({"shape": list(out.shape), "min": float(out.min()), "max": float(out.max()),
                  "std": float(out.std()), "image_shape": list(model.image_shape),
                  "core": md.version("genzoo-core"), "plugin": md.version("genzoo-pix2pix"),
                  "modules": [genzoo_core.__file__, genzoo_pix2pix.__file__],
                  "prefix": sys.prefix}))
"""


def check_environment(python: Path, index_url: str, version: str,
                      served: IndexServer | None = None) -> dict[str, float]:
    """Install genzoo-pix2pix from ``index_url`` into ``python``'s venv and use it.

    Raises AssertionError (or RuntimeError from a failing command) on the first
    check that fails. Returns the seconds each step took.
    """
    # Run from the environment's folder: from a source checkout, python -c would import
    # genzoo_core from the current directory.
    env, cwd = isolated_env(), python.parent.parent
    in_env = functools.partial(run, env=env, cwd=cwd)
    pip = [str(python), "-m", "pip", "--no-cache-dir", "--disable-pip-version-check"]
    times: dict[str, float] = {}
    start = time.perf_counter()
    in_env([*pip, "install", "--index-url", index_url, "genzoo-pix2pix"])
    times["install genzoo-pix2pix"] = time.perf_counter() - start
    if served is not None:
        fetched = [p for p in served.requests if "/files/" in p]
        assert any(f"genzoo_core-{version}-" in p for p in fetched), fetched
        assert any(f"genzoo_pix2pix-{version}-" in p for p in fetched), fetched

    start = time.perf_counter()
    models = listed_models(python, env, cwd)
    times["genzoo list"] = time.perf_counter() - start
    assert "pix2pix" in models, f"genzoo list shows {sorted(models)}, not pix2pix"

    start = time.perf_counter()
    report = json.loads(in_env([str(python), "-c", TRANSLATE]).stdout.strip().splitlines()[-1])
    times["load and translate"] = time.perf_counter() - start
    assert report["core"] == version and report["plugin"] == version, report
    prefix = Path(report["prefix"]).resolve()
    assert all(Path(m).resolve().is_relative_to(prefix) for m in report["modules"]), (
        f"genzoo is not the one installed into the fresh environment: {report}")
    height, width, channels = report["image_shape"]
    assert report["shape"] == [1, height, width, channels], report
    assert 0.0 <= report["min"] <= report["max"] <= 1.0 and report["std"] > 0.01, report

    start = time.perf_counter()
    in_env([*pip, "install", "--index-url", index_url, "genzoo-gan"])
    in_env([*pip, "uninstall", "--yes", "genzoo-pix2pix"])
    times["install genzoo-gan, uninstall genzoo-pix2pix"] = time.perf_counter() - start
    models = listed_models(python, env, cwd)
    assert "gan" in models and "pix2pix" not in models, (
        f"after installing genzoo-gan and uninstalling genzoo-pix2pix, genzoo list shows "
        f"{sorted(models)}")
    return times


def core_dependencies(dist: Path, version: str) -> list[str]:
    """genzoo-core's requirements (no extras) as its wheel in ``dist`` records them."""
    wheel = dist / f"genzoo_core-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"genzoo_core-{version}.dist-info/METADATA").decode()
    message = email.parser.Parser().parsestr(metadata)
    return [r for r in message.get_all("Requires-Dist", []) if "extra ==" not in r]


def main(argv: list[str] | None = None) -> int:
    """``make release-check``: the checks against DIST with a real fresh environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dist", nargs="?", type=Path, default=ROOT / "dist",
                        help="the folder make dist wrote (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "release-check",
                        help="where the index and the environment go "
                             "(default: build/release-check)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "scripts"))
    from release_metadata import core_versions

    version, _ = core_versions()
    if not (args.dist / f"genzoo_core-{version}-py3-none-any.whl").is_file():
        print(f"release-check: no genzoo-core {version} wheel in {args.dist}: run make dist first",
              file=sys.stderr)
        return 1
    write_simple_index(args.dist, args.work / "index")
    python = fresh_venv(args.work / "venv")
    start = time.perf_counter()
    # Third-party dependencies from the usual index (pip's own configuration applies).
    run([str(python), "-m", "pip", "install", "--quiet", *core_dependencies(args.dist, version)])
    print(f"third-party dependencies installed in {time.perf_counter() - start:.0f} s")
    with serve_index(args.work / "index") as served:
        times = check_environment(python, served.url, version, served)
    for step, seconds in times.items():
        print(f"{step}: {seconds:.1f} s")
    print(f"release-check passed: genzoo-pix2pix and genzoo-core {version} from {args.dist}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
