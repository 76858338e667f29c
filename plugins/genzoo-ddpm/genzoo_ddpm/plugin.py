"""genzoo hook implementations for denoising diffusion (no Keras import here).

Two models share one class: ``ddpm`` draws unconditionally, ``ddpm-guided``
draws a given class with classifier-free guidance (Ho & Salimans 2022).
"""

from __future__ import annotations

from genzoo_core.plugin import ModelSpec, hookimpl, published_weights, schema

SAMPLERS = ("ddim", "ddpm")

_CONFIG = {
    "image_shape": [28, 28, 1],
    "timesteps": 1000,
    "schedule": "linear",
    "channels": [32, 64, 64],
    "blocks_per_level": 1,
    "attention_levels": [2],
    "groups": 8,
    "dropout": 0.0,
    "learning_rate": 5e-4,
    "gradient_clip": 1.0,
    "ema_decay": 0.999,
    "batch_size": 128,
    "sampler": "ddim",
    "sampling_steps": 50,
    "eta": 0.0,
    "preview_steps": 20,
    "likelihood_timesteps": 100,
}

# The largest admitted network (5 levels of 512 channels, 3 blocks each, at 128x128)
# has about 400M parameters. model.py requires the image side divisible by
# 2 ** (len(channels) - 1) and every channel count divisible by groups.
_SCHEMA = {
    "image_shape": schema.Ints(length=3, min=1, max=128,
                               description="height and width divisible by 2 per extra level"),
    "timesteps": schema.Int(min=2, max=4000, description="T, the diffusion steps"),
    "schedule": schema.Choice("linear", "cosine",
                              description="the noise schedule: Ho et al. or Nichol & Dhariwal"),
    "channels": schema.Ints(length=(1, 5), min=1, max=512,
                            description="U-Net width per resolution level"),
    "blocks_per_level": schema.Int(min=1, max=3),
    "attention_levels": schema.Ints(length=(0, 5), min=0, max=4,
                                    description="levels (0 = full size) with self-attention"),
    "groups": schema.Int(min=1, max=64, description="group normalization groups"),
    "dropout": schema.Float(min=0, max=0.9, training=True),
    "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
    "gradient_clip": schema.Float(min=0, max=1000, training=True,
                                  description="global gradient norm cap, 0 for none"),
    "ema_decay": schema.Float(min=0, max=1, training=True,
                              description="decay of the averaged network used for sampling"),
    "batch_size": schema.Int(min=1, max=4096, training=True),
    "sampler": schema.Choice(*SAMPLERS, training=True, description="the default sampler"),
    "sampling_steps": schema.Int(min=1, max=4000, training=True,
                                 description="the default number of sampling steps"),
    "eta": schema.Float(min=0, max=1, training=True,
                        description="DDIM's noise: 0 deterministic, 1 like DDPM"),
    "preview_steps": schema.Int(min=1, max=4000, training=True,
                                description="DDIM steps of the per-epoch preview"),
    "likelihood_timesteps": schema.Int(min=1, max=4000, training=True,
                                       description="timesteps log_prob evaluates (T for all)"),
}

_SAMPLE_OPTIONS = {
    "sampler": schema.Choice(*SAMPLERS, description="ddim (deterministic at eta 0) or ddpm "
                             "(ancestral)"),
    "steps": schema.Int(min=1, max=4000, description="network evaluations; at most timesteps"),
    "eta": schema.Float(min=0, max=1, description="DDIM's noise scale"),
}

SPEC = ModelSpec(
    name="ddpm",
    builder="genzoo_ddpm.model:DDPM",
    description="Denoising diffusion (Ho et al. 2020): a small U-Net, DDIM or ancestral "
    "sampling, a variational bound on log-likelihood",
    components=("denoiser", "ema_denoiser"),
    component_use={"denoiser": "training", "ema_denoiser": "inference"},
    roles={},
    condition="unconditional",
    capabilities=("sample", "log_prob"),
    default_config=_CONFIG,
    config_schema=_SCHEMA,
    sample_options=_SAMPLE_OPTIONS,
    weights=published_weights(__package__, "ddpm"),
)

GUIDED_SPEC = ModelSpec(
    name="ddpm-guided",
    builder="genzoo_ddpm.model:GuidedDDPM",
    description="Class-conditional denoising diffusion with classifier-free guidance "
    "(Ho & Salimans 2022)",
    components=("denoiser", "ema_denoiser"),
    component_use={"denoiser": "training", "ema_denoiser": "inference"},
    roles={},
    condition="class_label",
    capabilities=("sample",),
    default_config={**_CONFIG, "num_classes": 10, "label_dropout": 0.1, "guidance": 2.0},
    config_schema={
        **_SCHEMA,
        "num_classes": schema.Int(min=1, max=1000),
        "label_dropout": schema.Float(min=0, max=1, training=True,
                                      description="share of steps trained without the label"),
        "guidance": schema.Float(min=0, max=50, training=True,
                                 description="the default guidance scale: 0 unconditional, "
                                 "1 conditional"),
    },
    sample_options={
        **_SAMPLE_OPTIONS,
        "guidance": schema.Float(min=0, max=50, description="0 unconditional, 1 conditional, "
                                 "more follows the label harder"),
    },
    weights=published_weights(__package__, "ddpm-guided"),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.4 on, sample options)."""
    return ">=1.4,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register 'ddpm' and 'ddpm-guided'."""
    return [SPEC, GUIDED_SPEC]
