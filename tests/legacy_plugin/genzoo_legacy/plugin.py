"""genzoo hook implementations for 'legacy'.

This module is imported by ``genzoo list``: keep Keras and TensorFlow out of it.
The model class is named by an import string and loaded only when a model is built.
"""

from __future__ import annotations

from genzoo_core import ModelSpec, hookimpl, schema

SPEC = ModelSpec(
    name="legacy",
    builder="genzoo_legacy.model:Legacy",
    description="legacy: a small MLP GAN (replace with what your model is)",
    components=("generator", "discriminator"),
    condition="unconditional",
    capabilities=("sample",),
    default_config={
        "image_shape": [28, 28, 1],
        "latent_dim": 32,
        "units": 128,
        "learning_rate": 2e-4,
        "batch_size": 64,
    },
    # The type and range of every config key, checked before the model is built (a key
    # left out is only checked against its default's type). Bound every width so the
    # largest model this admits still fits in memory. training=True marks keys that change
    # training but not the variables: they may change when a run resumes.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=32),
        "latent_dim": schema.Int(min=1, max=1024),
        "units": schema.Int(min=1, max=2048),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
    # Pretrained weights: WeightsSpec(name="mnist", file="weights/mnist.h5", sha256=...)
    # for a file packaged in genzoo_legacy/weights/, or url=... and sha256=... for a hosted one.
    weights=(),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo plugin API versions this plugin is written for."""
    return ">=1.1,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'legacy' model."""
    return [SPEC]
