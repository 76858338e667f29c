"""genzoo hook implementations for the class-conditional GAN (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import ModelSpec, hookimpl, published_weights, schema

# The adversarial losses of genzoo_core.losses.GAN_LOSSES (named here: no TensorFlow import).
GAN_LOSSES = ("minimax", "non-saturating", "least-squares", "wasserstein", "wasserstein-gp",
              "hinge")

SPEC = ModelSpec(
    name="cgan",
    builder="genzoo_cgan.model:ConditionalGAN",
    description="Conditional GAN (Mirza & Osindero 2014): the class label feeds a "
    "convolutional generator and discriminator",
    components=("generator", "discriminator"),
    roles={"generator": "generator", "discriminator": "discriminator"},
    condition="class_label",
    capabilities=("sample",),
    default_config={
        "image_shape": [28, 28, 1],
        "num_classes": 10,
        "latent_dim": 100,
        "embedding_dim": 50,
        "generator_filters": [128, 64],
        "discriminator_filters": [64, 128],
        "kernel_size": 3,
        "dropout": 0.3,
        "leaky_relu_slope": 0.2,
        "loss": "non-saturating",
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "batch_size": 128,
    },
    # The largest admitted model stays near 400M parameters: the per-class projection
    # of a one-convolution critic at 64x64 (32 * 32 * 256 features x 1000 classes) and
    # the generator's projection (1024 inputs x 16 * 16 * 512). model.py requires a
    # height and width divisible by 4.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=64,
                                   description="height and width divisible by 4, channels"),
        "num_classes": schema.Int(min=1, max=1000),
        "latent_dim": schema.Int(min=1, max=512),
        "embedding_dim": schema.Int(min=1, max=512),
        "generator_filters": schema.Ints(length=2, min=1, max=512,
                                         description="the projected map, the upsampling"),
        "discriminator_filters": schema.Ints(length=(1, 4), min=1, max=256),
        "kernel_size": schema.Int(min=1, max=7),
        "dropout": schema.Float(min=0, max=0.9, training=True,
                                description="discriminator dropout rate"),
        "leaky_relu_slope": schema.Float(min=0, max=1),
        "loss": schema.Choice(*GAN_LOSSES, training=True),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "beta_1": schema.Float(min=0, max=0.9999, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
    weights=published_weights(__package__, "cgan"),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'cgan' model."""
    return [SPEC]
