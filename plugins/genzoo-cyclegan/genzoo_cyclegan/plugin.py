"""genzoo hook implementations for CycleGAN (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import ModelSpec, WeightsSpec, hookimpl, schema

SPEC = ModelSpec(
    name="cyclegan",
    builder="genzoo_cyclegan.model:CycleGAN",
    description="CycleGAN (Zhu et al. 2017): unpaired image-to-image translation with two "
    "ResNet generators, two PatchGAN discriminators and a cycle-consistency loss",
    components=("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"),
    roles={
        "generator_ab": "generator",
        "generator_ba": "generator",
        "discriminator_a": "discriminator",
        "discriminator_b": "discriminator",
    },
    condition="unpaired_domains",
    capabilities=("sample", "translate"),
    default_config={
        "image_shape": [64, 64, 3],
        "generator_filters": 16,
        "residual_blocks": 6,
        "discriminator_filters": 32,
        "leaky_relu_slope": 0.2,
        "cycle_weight": 10.0,
        "identity_weight": 0.5,
        "pool_size": 50,
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "epochs": 200,
        "decay_epochs": 100,
        "batch_size": 1,
    },
    # At the bounds each generator has about 75M parameters and each history pool holds
    # 100 images of 512x512x4 (model.py requires a square side divisible by 4 and 1 to 4
    # channels). The pool is not saved with the weights, so its size may change on resume.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=512,
                                   description="square, side divisible by 4, 1 to 4 channels"),
        "generator_filters": schema.Int(min=1, max=128),
        "residual_blocks": schema.Int(min=0, max=16),
        "discriminator_filters": schema.Int(min=1, max=256),
        "leaky_relu_slope": schema.Float(min=0, max=1),
        "cycle_weight": schema.Float(min=0, max=1000, training=True),
        "identity_weight": schema.Float(min=0, max=100, training=True,
                                        description="a fraction of cycle_weight"),
        "pool_size": schema.Int(min=0, max=100, training=True),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "beta_1": schema.Float(min=0, max=0.9999, training=True),
        "epochs": schema.Int(min=1, max=10000, training=True,
                             description="the length of the learning-rate schedule"),
        "decay_epochs": schema.Int(min=0, max=10000, training=True,
                                   description="at most epochs"),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
    weights=(
        WeightsSpec(
            name="summer2winter",
            file="weights/summer2winter.h5",
            sha256="2276a1ecb0520e9fcb33712cdc2992b2da947ca219aaefac4cd7dcd1f6cece3b",
            size=5259760,
            dataset="summer2winter:train",
            description="summer2winter_yosemite train (150 + 150 photos) at 64x64, 30 epochs, "
            "float16; see the model card",
            metrics={
                "cycle_l1_a": 0.11117,
                "cycle_l1_b": 0.10277,
                "cycle_l1_a_untrained": 0.34387,
                "cycle_l1_b_untrained": 0.30652,
                "random_inception_fid_ab_translated": 15.6117,
                "random_inception_fid_ba_translated": 15.6482,
                "random_inception_fid_untranslated": 3.8393,
                "random_inception_kid_ab_translated": 1.139085,
                "random_inception_kid_ba_translated": 0.703717,
                "random_inception_kid_untranslated": -0.322952,
                "colour_fid_ab_translated": 0.01203,
                "colour_fid_ba_translated": 0.02931,
                "colour_fid_untranslated": 0.00786,
                "train_seconds": 2183.3,
            },
        ),
    ),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.2,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'cyclegan' model."""
    return [SPEC]
