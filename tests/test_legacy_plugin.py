"""A plugin written against the first contract keeps working.

``tests/legacy_plugin`` is the ``genzoo new-plugin`` skeleton as it was generated
before ``GenerativeModel.minimize``, the default ``make_optimizers`` and
``settings`` existed: its ``train_step`` scales losses with ``replica_scale``,
takes and applies the gradients itself, and it makes its own optimizers. It is
kept as generated (do not modernise it); here it is installed as a distribution
and must pass the whole conformance kit.
"""

from __future__ import annotations

from pathlib import Path

from conftest import write_distribution

LEGACY = Path(__file__).resolve().parent / "legacy_plugin"


def test_the_legacy_skeleton_passes_the_kit(tmp_path, monkeypatch):
    import genzoo_core
    from genzoo_core import registry as registry_module
    from genzoo_core.testing import CHECKS, check_model

    site = tmp_path / "legacy-site"
    write_distribution(site, "genzoo-legacy", "0.1.0", {"legacy": "genzoo_legacy.plugin"}, {})
    monkeypatch.syspath_prepend(str(LEGACY))
    registry = registry_module.Registry(path=[str(site)])
    monkeypatch.setattr(registry_module, "_default", registry)

    source = (LEGACY / "genzoo_legacy" / "model.py").read_text()
    assert "replica_scale(" in source and "def make_optimizers" in source  # still old-style

    outcome = check_model("legacy", registry=registry)
    assert len(outcome) == len(CHECKS)
    assert [c for c, result in outcome.items() if result != "passed"] == [
        "check_pretrained_weights"  # the skeleton ships no weights
    ], outcome
    model = genzoo_core.create("legacy", registry=registry)
    assert model.sample(2, seed=0).shape == (2, 28, 28, 1)
