"""genzoo hook implementations for the class-conditional GAN (no Keras import here)."""

from __future__ import annotations

from genzoo_core import ModelSpec, WeightsSpec, hookimpl

SPEC = ModelSpec(
    name="cgan",
    builder="genzoo_cgan.model:ConditionalGAN",
    description="Conditional GAN (Mirza & Osindero 2014): the class label feeds a "
    "convolutional generator and discriminator",
    components=("generator", "discriminator"),
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
    weights=(
        WeightsSpec(
            name="mnist",
            file="weights/mnist.h5",
            sha256="a363e9dd485d08e767299439e38a22b377881dcc6c886659d023d0902fc11dc5",
            dataset="mnist:train",
            description="MNIST train split, 10 epochs, float32; see the model card",
        ),
        WeightsSpec(
            name="fashion-mnist",
            file="weights/fashion-mnist.h5",
            sha256="c92f8c9335e7e306f738cc93b926d864bd417080d0c320da2e11c7efb89a1475",
            dataset="fashion-mnist:train",
            description="Fashion-MNIST train split, 10 epochs, float32; see the model card",
        ),
    ),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.0,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'cgan' model."""
    return [SPEC]
