"""``genzoo new-plugin NAME``: write a ready-to-install plugin skeleton.

The skeleton is a working model, not a stub: a small MLP GAN with its spec and
hooks, a pyproject with the ``genzoo`` entry point, a test that runs the
conformance kit, and a model-card README to fill in. It installs with
``pip install -e ./genzoo-NAME`` and passes the kit unchanged.
"""

from __future__ import annotations

import importlib.resources
import string
from pathlib import Path

from genzoo_core.errors import ConfigError
from genzoo_core.spec import NAME_PATTERN
from genzoo_core.version import API_VERSION, __version__

TEMPLATE = "templates/plugin"
SUFFIX = ".tmpl"


def core_requirement() -> str:
    """The genzoo-core version range a new plugin depends on, e.g. ``>=1.5,<2``.

    The same range as the plugin API range the skeleton declares
    (``genzoo_api_range``): genzoo-core's ``MAJOR.MINOR`` is the plugin API
    version it provides, so the releases from this API up to its next breaking
    (major) version are the ones the plugin works with.
    """
    major = int(API_VERSION.split(".")[0])
    return f">={API_VERSION},<{major + 1}"


def plugin_files(name: str) -> dict[str, str]:
    """Relative path -> text of every file of the skeleton for model ``name``."""
    if not NAME_PATTERN.match(name):
        raise ConfigError(
            f"{name!r} is not a valid model name: use lowercase letters, digits, '-' and '_', "
            f"starting with a letter (e.g. 'mygan')"
        )
    package = "genzoo_" + name.replace("-", "_")
    major = int(API_VERSION.split(".")[0])
    values = {
        "name": name,
        "package": package,
        "class_name": "".join(part.capitalize() for part in name.replace("-", "_").split("_")),
        "core_version": __version__,
        "core_requirement": core_requirement(),
        "api_major": str(major),
        "api_version": API_VERSION,  # the skeleton uses what this API offers (config_schema)
        "api_next": str(major + 1),
    }
    root = importlib.resources.files("genzoo_core").joinpath(TEMPLATE)
    files: dict[str, str] = {}

    def walk(folder: importlib.resources.abc.Traversable, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                target = package if entry.name == "package" else entry.name
                walk(entry, f"{prefix}{target}/")
            elif entry.name.endswith(SUFFIX):
                text = string.Template(entry.read_text(encoding="utf-8")).substitute(values)
                files[prefix + entry.name[: -len(SUFFIX)]] = text

    walk(root, "")
    return files


def new_plugin(name: str, directory: str | Path = ".") -> Path:
    """Write the skeleton of plugin ``name`` into ``directory/genzoo-NAME``; return it.

    Raises:
        ConfigError: ``name`` is not a valid model name, or the target folder
            exists and is not empty (nothing is overwritten).
    """
    files = plugin_files(name)
    target = Path(directory) / f"genzoo-{name}"
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not empty: pick another --dir or name")
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
