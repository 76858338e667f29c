"""Every installed genzoo plugin passes the conformance kit.

The ``genzoo_model`` and ``genzoo_check`` fixtures come from the kit's pytest
plugin (``genzoo_core.testing.pytest_plugin``), which parametrizes this test
over every model the installed plugins register and every check.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if not os.environ.get("GENZOO_DATA") and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["GENZOO_DATA"] = str(ROOT.parent / "shared" / "data")


def test_plugin_passes_the_conformance_kit(genzoo_model, genzoo_check):
    """One kit check on one installed model."""
    genzoo_check(genzoo_model)
