from genzoo_core import ModelSpec, hookimpl

SPEC = ModelSpec(
    name="toygan",
    builder="toyzoo.model:ToyGAN",
    description="a tiny test GAN",
    components=("generator", "discriminator"),
    condition="unconditional",
    capabilities=("sample",),
    default_config={
        "image_shape": [4, 4, 1],
        "latent_dim": 3,
        "units": 8,
        "learning_rate": 1e-2,
        "batch_size": 8,
        "loss": "non-saturating",
    },
)


@hookimpl
def genzoo_api_range():
    return ">=1.0,<2"


@hookimpl
def genzoo_register_models():
    return [SPEC]
