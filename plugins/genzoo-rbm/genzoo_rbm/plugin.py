"""genzoo hook implementations for the RBM (no Keras import here)."""

from __future__ import annotations

from genzoo_core import ModelSpec, WeightsSpec, hookimpl

SPEC = ModelSpec(
    name="rbm",
    builder="genzoo_rbm.model:RBM",
    description="Bernoulli-Bernoulli RBM: CD-k or persistent CD, Gibbs sampling, "
    "AIS log-likelihood",
    components=("rbm",),
    condition="unconditional",
    capabilities=("sample", "log_prob", "encode", "decode", "reconstruct"),
    default_config={
        "image_shape": [28, 28, 1],
        "hidden_units": 500,
        "persistent": True,
        "gibbs_steps": 1,
        "learning_rate": 0.05,
        "learning_rate_decay_steps": 0,
        "momentum": 0.5,
        "weight_decay": 2e-4,
        "batch_size": 100,
        "sample_burn_in": 1000,
        "ais_temperatures": 14500,
        "ais_runs": 100,
    },
    weights=(
        WeightsSpec(
            name="mnist",
            file="weights/mnist.h5",
            sha256="d7cfb1c435b8016341e7820504700dd17b223d210c69ceacfc802d4ecd636eee",
            dataset="binarized-mnist:train",
            description="500 hidden units, PCD-1, 40 epochs; test NLL 89.0 nats (AIS)",
        ),
    ),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.0,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'rbm' model."""
    return [SPEC]
