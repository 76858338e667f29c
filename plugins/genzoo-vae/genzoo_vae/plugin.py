"""genzoo hook implementations for the VAE (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import ModelSpec, hookimpl, published_weights, schema

SPEC = ModelSpec(
    name="vae",
    builder="genzoo_vae.model:VAE",
    description="Variational autoencoder (Kingma & Welling 2014), convolutional; "
    "log_prob by the importance-weighted bound",
    components=("encoder", "decoder"),
    roles={"encoder": "encoder", "decoder": "decoder"},
    condition="unconditional",
    capabilities=("sample", "log_prob", "encode", "decode", "reconstruct"),
    default_config={
        "image_shape": [28, 28, 1],
        "latent_dim": 32,
        "encoder_filters": [32, 64],
        "decoder_filters": [64, 32],
        "hidden_units": 256,
        "likelihood": "bernoulli",
        "beta": 1.0,
        "learning_rate": 1e-3,
        "batch_size": 100,
        "importance_samples": 5000,
    },
    # The largest admitted model (one convolution at 64x64: 32 * 32 * 256 features into
    # 512 hidden units, and back) has about 270M parameters. model.py requires equal
    # filter list lengths and an image side divisible by 2 per filter.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=64),
        "latent_dim": schema.Int(min=1, max=1024),
        "encoder_filters": schema.Ints(length=(1, 6), min=1, max=256),
        "decoder_filters": schema.Ints(length=(1, 6), min=1, max=256),
        "hidden_units": schema.Int(min=1, max=512),
        "likelihood": schema.Choice("bernoulli", "gaussian",
                                    description="gaussian adds a learned scale per channel"),
        "beta": schema.Float(min=0, max=1000, training=True, description="the KL weight"),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
        "importance_samples": schema.Int(min=1, max=100000,
                                         description="the default k of log_prob"),
    },
    weights=published_weights(__package__, "vae"),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'vae' model."""
    return [SPEC]
