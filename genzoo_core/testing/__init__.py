"""The conformance kit: checks that a genzoo model plugin keeps the model contract.

Plugin authors run it in their own test suite, one test per check::

    from genzoo_core.testing import parametrize_with_checks

    @parametrize_with_checks(["mymodel"])
    def test_genzoo_conformance(model, check):
        check(model)

or all checks in one call, ``check_model("mymodel")``. Each check builds the
model by name through the public API (``genzoo_core.create`` / ``load``) and
tests only the contract: the spec, ``sample``, ``config``, ``components``,
``capabilities`` and their protocols, the HDF5 weights functions, one step of
the core ``Trainer``, the pretrained entries, and the same inference on JAX as
on TensorFlow (when JAX is installed). A check that cannot apply
(say, a pretrained URL while ``GENZOO_OFFLINE`` is set) is skipped with a
reason; a check you know fails is listed in ``expected_failed_checks`` with
the reason, and becomes an expected failure.

Image-to-image models (paired images, unpaired domains) are fed random input
images of their config's ``image_shape``. Models conditioned on anything else
(captions, ...) cannot be sampled or trained from nothing: such a model
samples with ``condition=None`` from a documented default and offers
``example_data(n)`` (a data source of ``n`` examples), or the test passes
``conditions`` (a function ``n -> condition``) and ``train_data`` (a function
returning a data source or a ``tf.data.Dataset`` of the dicts its
``train_step`` expects).

The checks live in :mod:`genzoo_core.testing.checks`, the runner in
:mod:`genzoo_core.testing.kit`; every name is importable from here.
``check_recipe("MODEL/WEIGHTS")`` (:mod:`genzoo_core.testing.recipes`) checks
that a shipped weight's recipe spells out the config its file stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genzoo_core.testing.checks import (
    CHECKS,
    CheckSkipped,
    KitOptions,
    check_backend_inference,
    check_capabilities,
    check_component_use,
    check_config_roundtrip,
    check_config_schema,
    check_load_by_name,
    check_pretrained_weights,
    check_roles,
    check_sample,
    check_sampling_options,
    check_spec,
    check_train_step,
    check_weights_roundtrip,
)

# Private helpers kept importable from here, as before the split: the pytest plugin and
# the kit's own tests use them. bound_checks is the runner behind parametrize_with_checks.
from genzoo_core.testing.checks import _check_images as _check_images
from genzoo_core.testing.kit import _run_check as _run_check
from genzoo_core.testing.kit import bound_checks as bound_checks
from genzoo_core.testing.kit import check_model, parametrize_with_checks
from genzoo_core.testing.recipes import check_recipe

if TYPE_CHECKING:  # at run time through __getattr__, so that the kit needs no pytest
    from genzoo_core.testing.pytest_plugin import require_data

__all__ = [
    "CHECKS",
    "CheckSkipped",
    "KitOptions",
    "check_backend_inference",
    "check_capabilities",
    "check_component_use",
    "check_config_roundtrip",
    "check_config_schema",
    "check_load_by_name",
    "check_model",
    "check_pretrained_weights",
    "check_recipe",
    "check_roles",
    "check_sample",
    "check_sampling_options",
    "check_spec",
    "check_train_step",
    "check_weights_roundtrip",
    "parametrize_with_checks",
    "require_data",
]


def __getattr__(name: str) -> Any:
    """``require_data`` of the pytest plugin, imported on first use (it imports pytest)."""
    if name == "require_data":
        from genzoo_core.testing.pytest_plugin import require_data

        return require_data
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
