from dataclasses import replace

from genzoo_core import DatasetSpec, FeatureExtractorSpec, ModelSpec, hookimpl, schema

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
    # Training keys may change when a run resumes; the rest is architecture.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=64),
        "latent_dim": schema.Int(min=1, max=64),
        # Left unbounded below on purpose: tests check that the model's own error is reported.
        "units": schema.Int(max=4096),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
        "loss": schema.Str(training=True),
    },
)


CONDITIONAL_SPEC = replace(
    SPEC, name="toycgan", builder="toyzoo.model:ToyCGAN", condition="class_label",
    default_config={**SPEC.default_config, "num_classes": 2},
    config_schema={**SPEC.config_schema, "num_classes": schema.Int(min=1, max=1000)},
)


LIKELIHOOD_SPEC = replace(
    SPEC, name="toylik", builder="toyzoo.model:ToyLikelihood",
    capabilities=("sample", "log_prob"),
)


@hookimpl
def genzoo_api_range():
    return ">=1.0,<2"


@hookimpl
def genzoo_register_models():
    return [SPEC, CONDITIONAL_SPEC, LIKELIHOOD_SPEC]


@hookimpl
def genzoo_register_feature_extractors():
    return [FeatureExtractorSpec(name="toy-pixels", builder="toyzoo.features:build",
                                 image_shape=(4, 4, 1), feature_dim=16, num_classes=2,
                                 sha256="toy-pixels-v1")]


@hookimpl
def genzoo_register_datasets():
    return [DatasetSpec(name="toy-data", loader="toyzoo.features:load_data",
                        image_shape=(4, 4, 1))]
