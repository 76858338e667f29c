"""genzoo hook implementations for the RBM (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import ModelSpec, hookimpl, published_weights, schema

SPEC = ModelSpec(
    name="rbm",
    builder="genzoo_rbm.model:RBM",
    description="Bernoulli-Bernoulli RBM: CD-k or persistent CD, Gibbs sampling, "
    "AIS log-likelihood",
    components=("rbm",),
    # energy-based: visible and hidden units of one network, none of the four roles
    roles={},
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
        "ais_base_rates": "",
    },
    # At the bounds W is 16384 visible (64x64x4, model.py limits channels to 1-4) by 4096
    # hidden units, 67M floats. batch_size is architecture here: it is the number of
    # persistent chains, a variable saved with the weights.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=64,
                                   description="height, width, channels (1 to 4)"),
        "hidden_units": schema.Int(min=1, max=4096),
        "persistent": schema.Bool(training=True, description="PCD, else CD-k"),
        "gibbs_steps": schema.Int(min=1, max=1000, training=True, description="k of CD-k"),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "learning_rate_decay_steps": schema.Int(min=0, max=100_000_000, training=True),
        "momentum": schema.Float(min=0, max=0.9999, training=True),
        "weight_decay": schema.Float(min=0, max=1, training=True),
        "batch_size": schema.Int(min=1, max=4096,
                                 description="also the number of persistent chains"),
        "sample_burn_in": schema.Int(min=0, max=1_000_000),
        "ais_temperatures": schema.Int(min=10, max=1_000_000),
        "ais_runs": schema.Int(min=1, max=10_000),
        "ais_base_rates": schema.Str(
            description="a dataset whose train-split pixel means start AIS when log_prob "
            "estimates log Z (e.g. mnist); empty: sigmoid of the visible biases"),
    },
    weights=published_weights(__package__, "rbm"),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'rbm' model."""
    return [SPEC]
