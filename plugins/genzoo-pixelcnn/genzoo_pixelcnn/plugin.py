"""genzoo hook implementations for the gated PixelCNN (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import ModelSpec, hookimpl, published_weights, schema

SPEC = ModelSpec(
    name="pixelcnn",
    builder="genzoo_pixelcnn.model:PixelCNN",
    description="Gated PixelCNN (van den Oord et al. 2016): exact log-likelihood, "
    "cached fast sampling",
    components=("pixelcnn",),
    # autoregressive: images to per-pixel distributions, none of the four roles
    roles={},
    condition="unconditional",
    capabilities=("sample", "log_prob"),
    default_config={
        "image_shape": [28, 28, 1],
        "output": "bernoulli",
        "filters": 32,
        "gated_layers": 6,
        "kernel_size": 5,
        "output_filters": 64,
        "num_classes": 0,
        "learning_rate": 1e-3,
        "batch_size": 64,
    },
    # At the bounds (20 gated layers of 256 channels, kernel 9) the network has about
    # 150M parameters. model.py requires an odd kernel_size and one channel.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=256,
                                   description="height, width, 1 (one channel)"),
        "output": schema.Choice("bernoulli", "categorical"),
        "filters": schema.Int(min=1, max=256),
        "gated_layers": schema.Int(min=1, max=20),
        "kernel_size": schema.Int(min=3, max=9, description="odd"),
        "output_filters": schema.Int(min=1, max=1024),
        "num_classes": schema.Int(min=0, max=1000, description="0: unconditional"),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
    weights=published_weights(__package__, "pixelcnn"),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'pixelcnn' model."""
    return [SPEC]
