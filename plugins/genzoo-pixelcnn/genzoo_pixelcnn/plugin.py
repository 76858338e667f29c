"""genzoo hook implementations for the gated PixelCNN (no Keras import here)."""

from __future__ import annotations

from genzoo_core import ModelSpec, WeightsSpec, hookimpl

SPEC = ModelSpec(
    name="pixelcnn",
    builder="genzoo_pixelcnn.model:PixelCNN",
    description="Gated PixelCNN (van den Oord et al. 2016): exact log-likelihood, "
    "cached fast sampling",
    components=("pixelcnn",),
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
    weights=(
        WeightsSpec(
            name="mnist",
            file="weights/mnist.h5",
            sha256="d208a43e944371fdef53ec6469ea8de7b97c2b3d8539f11135de8ce502f44188",
            dataset="binarized-mnist:train",
            description="5 epochs at 1e-3 and 4 at 2e-4 on dynamically binarized MNIST; "
            "exact test NLL 84.5 nats",
        ),
    ),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.0,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'pixelcnn' model."""
    return [SPEC]
