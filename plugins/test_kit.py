"""Every installed genzoo plugin passes the conformance kit.

The ``genzoo_model`` and ``genzoo_check`` fixtures come from the kit's pytest
plugin (``genzoo_core.testing.pytest_plugin``), which parametrizes this test
over every model the installed plugins register and every check. The same
plugin points an unset ``GENZOO_DATA`` at ``shared/data`` beside the checkout.
"""

from __future__ import annotations

import pytest


def test_plugin_passes_the_conformance_kit(genzoo_model, genzoo_check):
    """One kit check on one installed model."""
    genzoo_check(genzoo_model)


# A diffusion model runs its network once per sampling step: the kit checks it at
# half its width and 5 steps, so its sampling checks cost seconds, not minutes.
SMALL_DIFFUSION = {"channels": [16, 32, 32], "timesteps": 200, "sampling_steps": 5,
                   "preview_steps": 3, "likelihood_timesteps": 5}


# Inference under JAX: check_backend_inference runs for a few representative models (an
# unconditional GAN, a likelihood model with encode/decode, a translator, a text model),
# in one JAX process for the session; tests/test_backends.py compares every pretrained
# weight of every first-party model on JAX and TensorFlow.
BACKEND_CHECKED = ("gan", "vae", "cyclegan", "stackgan")

# The RBM's log_prob estimates log Z by AIS when no estimate is stored (a fresh model):
# 14,500 temperatures by default, minutes of NumPy; the kit checks the contract with fewer.
SMALL_AIS = {"ais_temperatures": 500, "ais_runs": 10}


@pytest.fixture
def genzoo_kit_options():
    """Every model as its plugin ships it, the diffusion models at a smaller size."""
    from genzoo_core.testing import KitOptions

    small = KitOptions(config=SMALL_DIFFUSION, backends=())
    rbm = KitOptions(config=SMALL_AIS, backends=())
    return lambda name: small if name in ("ddpm", "ddpm-guided") else rbm if name == "rbm" \
        else (KitOptions() if name in BACKEND_CHECKED else KitOptions(backends=()))
