"""genzoo hook implementations for the DCGAN (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import ModelSpec, hookimpl, published_weights, schema

# The adversarial losses of genzoo_core.losses.GAN_LOSSES (named here: no TensorFlow import).
GAN_LOSSES = ("minimax", "non-saturating", "least-squares", "wasserstein", "wasserstein-gp",
              "hinge")

SPEC = ModelSpec(
    name="dcgan",
    builder="genzoo_dcgan.model:DCGAN",
    description="DCGAN (Radford et al. 2016): strided (transposed) convolutions, batch norm",
    components=("generator", "discriminator"),
    roles={"generator": "generator", "discriminator": "discriminator"},
    condition="unconditional",
    capabilities=("sample",),
    default_config={
        "image_shape": [28, 28, 1],
        "latent_dim": 100,
        "generator_filters": 64,
        "discriminator_filters": 64,
        "loss": "non-saturating",
        "critic_steps": 1,
        "discriminator_batch_norm": True,
        "discriminator_dropout": 0.0,
        "generator_ema": 0.0,
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "beta_2": 0.999,
        "batch_size": 128,
    },
    # A 64x64 generator has 16 * generator_filters channels at 4x4 (2048 at the bound);
    # the largest admitted model has about 150M parameters. model.py requires a square
    # 28, 32 or 64 pixel image. The loss is architecture: wasserstein-gp drops the
    # critic's batch norm.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=64,
                                   description="[28, 28, C], [32, 32, C] or [64, 64, C]"),
        "latent_dim": schema.Int(min=1, max=1024),
        "generator_filters": schema.Int(min=1, max=128),
        "discriminator_filters": schema.Int(min=1, max=256),
        "loss": schema.Choice(*GAN_LOSSES),
        "critic_steps": schema.Int(min=1, max=100, training=True),
        "discriminator_batch_norm": schema.Bool(
            description="batch norm after each critic layer but the first (the paper's)"),
        "discriminator_dropout": schema.Float(min=0, max=0.9,
                                              description="dropout after each critic layer"),
        # Not a training key: the average is optimizer state a checkpoint must match.
        "generator_ema": schema.Float(min=0, max=0.99999,
                                      description="momentum of the generator's weight "
                                                  "average (0: none)"),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "beta_1": schema.Float(min=0, max=0.9999, training=True),
        "beta_2": schema.Float(min=0, max=0.9999, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
    weights=published_weights(__package__, "dcgan"),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'dcgan' model."""
    return [SPEC]
