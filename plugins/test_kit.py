"""Every installed genzoo plugin passes the conformance kit.

The ``genzoo_model`` and ``genzoo_check`` fixtures come from the kit's pytest
plugin (``genzoo_core.testing.pytest_plugin``), which parametrizes this test
over every model the installed plugins register and every check. The same
plugin points an unset ``GENZOO_DATA`` at ``shared/data`` beside the checkout.
"""

from __future__ import annotations


def test_plugin_passes_the_conformance_kit(genzoo_model, genzoo_check):
    """One kit check on one installed model."""
    genzoo_check(genzoo_model)
