"""genzoo hook implementations for the vanilla GAN (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import ModelSpec, hookimpl, published_weights, schema

# The adversarial losses of genzoo_core.losses.GAN_LOSSES (named here: no TensorFlow import).
GAN_LOSSES = ("minimax", "non-saturating", "least-squares", "wasserstein", "wasserstein-gp",
              "hinge")

SPEC = ModelSpec(
    name="gan",
    builder="genzoo_gan.model:VanillaGAN",
    description="Vanilla GAN (Goodfellow et al. 2014): MLP generator and discriminator",
    components=("generator", "discriminator"),
    roles={"generator": "generator", "discriminator": "discriminator"},
    condition="unconditional",
    capabilities=("sample",),
    default_config={
        "image_shape": [28, 28, 1],
        "latent_dim": 100,
        "generator_units": [256, 512, 1024],
        "discriminator_units": [1024, 512, 256],
        "dropout": 0.3,
        "leaky_relu_slope": 0.2,
        "loss": "non-saturating",
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "batch_size": 128,
    },
    # Bounds keep the largest admitted model near 270M parameters (a 2048-unit layer
    # against a 128x128x4 image, in each network); model.py also limits channels to 1-4.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=128,
                                   description="height, width, channels (1 to 4)"),
        "latent_dim": schema.Int(min=1, max=4096),
        "generator_units": schema.Ints(length=(1, 8), min=1, max=2048),
        "discriminator_units": schema.Ints(length=(1, 8), min=1, max=2048),
        "dropout": schema.Float(min=0, max=0.9, training=True,
                                description="discriminator dropout rate"),
        "leaky_relu_slope": schema.Float(min=0, max=1),
        "loss": schema.Choice(*GAN_LOSSES, training=True),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "beta_1": schema.Float(min=0, max=0.9999, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
    weights=published_weights(__package__, "gan"),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'gan' model."""
    return [SPEC]
