"""genzoo hook implementations for CycleGAN (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import (
    DatasetSpec,
    FeatureExtractorSpec,
    ModelSpec,
    hookimpl,
    published_weights,
    schema,
)

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
    weights=published_weights(__package__, "cyclegan"),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register 'cyclegan' and the domain classifier that scores it."""
    return [SPEC, DOMAIN_CLASSIFIER_SPEC]


# The official archive, at the address the CycleGAN authors' download scripts use since
# the datasets moved from people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/ (http,
# as their scripts have it; the sha256 check is what vouches for the bytes). Its size and
# sha256 are those tensorflow_datasets records for the same file at that earlier address:
# tensorflow_datasets/url_checksums/cycle_gan.txt (tensorflow/datasets, commit
# ffe36c8b371cabc3622f317047618cb1c1030c67). The archive unpacks to
# summer2winter_yosemite/{trainA,trainB,testA,testB}/, the layout GENZOO_DATA holds.
SUMMER2WINTER_DATASET = DatasetSpec(
    name="summer2winter",
    loader="genzoo_cyclegan.data:load_summer2winter",
    description="CycleGAN summer2winter_yosemite: summer (A) and winter (B) photos, "
    "unpaired, read at 256x256",
    condition="unpaired_domains",
    image_shape=(256, 256, 3),
    features="summer2winter-domain",
    classifiers={"domain": "summer2winter-domain"},
    folder="cyclegan/summer2winter_yosemite",
    archive_url="http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/"
    "summer2winter_yosemite.zip",
    archive_sha256="167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9",
    archive_size=132640856,
    archive_folder="summer2winter_yosemite",
)


@hookimpl
def genzoo_register_datasets() -> list[DatasetSpec]:
    """Register CycleGAN's summer2winter_yosemite photos as 'summer2winter'."""
    return [SUMMER2WINTER_DATASET]


# The summer/winter domain classifier that scores CycleGAN's translations: a registered
# auxiliary model, made by its recipe (recipes/domain-classifier.toml) with genzoo train and
# published with genzoo publish into weights/, where the manifest records its sha256.
DOMAIN_CLASSIFIER = "cyclegan-domain-classifier/summer2winter"
DOMAIN_CLASSIFIER_SPEC = ModelSpec(
    name="cyclegan-domain-classifier",
    builder="genzoo_cyclegan.domain:DomainClassifierModel",
    description="CNN telling summer (domain A, 0) from winter (domain B, 1) photos, trained "
    "on unpaired domains; the summer2winter-domain extractor that scores cyclegan",
    components=("classifier",),
    condition="unpaired_domains",
    capabilities=(),
    auxiliary="cyclegan",
    default_config={
        "image_shape": [64, 64, 3],
        "filters": [16, 32, 64, 64],
        "feature_dim": 16,
        "dropout": 0.3,
        "mirror": True,
        "shift": 4,
        "learning_rate": 1e-3,
        "batch_size": 15,
    },
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=512,
                                   description="square, side at least 8, 1 to 4 channels"),
        "filters": schema.Ints(length=(1, 8), min=1, max=512,
                               description="one stride-2 convolution each"),
        "feature_dim": schema.Int(min=1, max=1024),
        "dropout": schema.Float(min=0, max=0.95, training=True),
        "mirror": schema.Bool(training=True, description="random mirroring in training"),
        "shift": schema.Int(min=0, max=64, training=True,
                            description="random shifts in training, in pixels each way"),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True,
                                 description="photos of each domain per step"),
    },
    weights=published_weights(__package__, "cyclegan-domain-classifier"),
)
DOMAIN_CLASSIFIER_WEIGHTS = DOMAIN_CLASSIFIER_SPEC.weights
# On the 80 summer2winter test photos (40 per domain), never trained on, by
# genzoo_cyclegan.domain.held_out_accuracy(); see the README.
DOMAIN_CLASSIFIER_METRICS = {
    "test_accuracy": 0.75,
    "test_accuracy_summer": 0.775,
    "test_accuracy_winter": 0.725,
}


@hookimpl
def genzoo_register_feature_extractors() -> list[FeatureExtractorSpec]:
    """Register the published summer/winter domain classifier as 'summer2winter-domain'."""
    if not DOMAIN_CLASSIFIER_WEIGHTS:
        return []
    return [
        FeatureExtractorSpec(
            name="summer2winter-domain",
            builder="genzoo_cyclegan.domain:summer2winter_domain",
            description="CNN telling summer (0) from winter (1) photos at 64x64, trained on "
            f"summer2winter train; 16-d penultimate features ({DOMAIN_CLASSIFIER})",
            image_shape=(64, 64, 3),
            feature_dim=16,
            num_classes=2,
            sha256=DOMAIN_CLASSIFIER_WEIGHTS[0].sha256,
            metrics=dict(DOMAIN_CLASSIFIER_METRICS),
        )
    ]
