"""'legacy' passes the genzoo conformance kit: one test per check."""

from genzoo_core.testing import parametrize_with_checks


# A check you know fails goes into expected_failed_checks with the reason, e.g.
# expected_failed_checks={"legacy": {"check_train_step": "needs paired data"}}.
@parametrize_with_checks(["legacy"])
def test_genzoo_conformance(model, check):
    """Run one conformance check on the model."""
    check(model)
