"""genzoo hook implementations for StackGAN and captioned shapes (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import (
    DatasetSpec,
    FeatureExtractorSpec,
    ModelSpec,
    hookimpl,
    published_weights,
    schema,
)
from genzoo_stackgan.captions import MAX_CAPTION_WORDS, contrast_word_groups, vocabulary

SPEC = ModelSpec(
    name="stackgan",
    builder="genzoo_stackgan.model:StackGAN",
    description="StackGAN (Zhang et al. 2017): text to a 32x32 Stage-I image, refined to "
    "64x64 by Stage-II; conditioning augmentation and a matching-aware discriminator",
    components=(
        "text_encoder",
        "stage1_generator",
        "stage1_discriminator",
        "stage2_generator",
        "stage2_discriminator",
    ),
    # the text encoder maps text embeddings to the conditioning vector: none of the roles
    roles={
        "stage1_generator": "generator",
        "stage1_discriminator": "discriminator",
        "stage2_generator": "generator",
        "stage2_discriminator": "discriminator",
    },
    condition="text",
    capabilities=("sample",),
    default_config={
        "image_shape": [64, 64, 3],
        "stage": 1,
        "text_encoder": "builtin",
        "vocabulary": vocabulary(),
        "max_caption_words": MAX_CAPTION_WORDS,
        "word_dim": 64,
        "text_units": 128,
        "embedding_dim": 128,
        "condition_dim": 64,
        "latent_dim": 64,
        "kl_weight": 2.0,
        "contrast_words": contrast_word_groups(),
        "contrast_fraction": 0.5,
        "contrast_exchange": 0.0,
        "matching_weight": 0.0,
        "matching_scale": 10.0,
        "reconstruction_weight": 0.0,
        "stage1_generator_filters": [128, 64, 32, 16],
        "stage1_discriminator_filters": [32, 64, 128],
        "stage2_generator_filters": [32, 16, 8],
        "stage2_residual_blocks": 2,
        "stage2_discriminator_filters": [16, 32, 64, 128],
        "leaky_relu_slope": 0.2,
        "discriminator_projection": False,
        "grid_condition": False,
        "text_map_units": 0,
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "batch_size": 64,
    },
    # At the bounds (256x256 images, 512-wide filters, 1024-d text) the largest layers
    # have about 70M parameters. config.py checks what one key's rule cannot: a square
    # RGB image whose side is a multiple of 32, a Stage-I start map of at most 8x8, with
    # grid_condition an embedding that splits into the 4x4 maps' cells, and the form of
    # contrast_words. stage is architecture: each stage has its own optimizers.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=256,
                                   description="square RGB, side a multiple of 32"),
        "stage": schema.Choice(1, 2),
        "text_encoder": schema.Choice("builtin", "embeddings"),
        "vocabulary": schema.Strs(length=(1, 10000)),
        "max_caption_words": schema.Int(min=1, max=256),
        "word_dim": schema.Int(min=1, max=1024),
        "text_units": schema.Int(min=1, max=1024),
        "embedding_dim": schema.Int(min=1, max=1024),
        "condition_dim": schema.Int(min=1, max=1024),
        "latent_dim": schema.Int(min=1, max=1024),
        "kl_weight": schema.Float(min=0, max=1000, training=True),
        "contrast_words": schema.Json(training=True,
                                      description="groups of interchangeable word classes"),
        "contrast_fraction": schema.Float(min=0, max=1, training=True),
        "contrast_exchange": schema.Float(min=0, max=1, training=True),
        "matching_weight": schema.Float(min=0, max=1000, training=True),
        "matching_scale": schema.Float(min=0, max=1000, min_inclusive=False, training=True),
        "reconstruction_weight": schema.Float(min=0, max=1000, training=True),
        "stage1_generator_filters": schema.Ints(length=(1, 8), min=1, max=512),
        "stage1_discriminator_filters": schema.Ints(length=(1, 8), min=1, max=512),
        "stage2_generator_filters": schema.Ints(
            length=3, min=1, max=512, description="encoder width, then 2 doublings"),
        "stage2_residual_blocks": schema.Int(min=0, max=8),
        "stage2_discriminator_filters": schema.Ints(length=(1, 8), min=1, max=512),
        "leaky_relu_slope": schema.Float(min=0, max=1),
        "discriminator_projection": schema.Bool(),
        "grid_condition": schema.Bool(),
        "text_map_units": schema.Int(min=0, max=2048, description="0: off"),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "beta_1": schema.Float(min=0, max=0.9999, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
    weights=published_weights(__package__, "stackgan"),
)

TEXT_ENCODER_SPEC = ModelSpec(
    name="stackgan-text-encoder",
    builder="genzoo_stackgan.encoders:ContrastiveTextEncoder",
    description="StackGAN's text encoder with a grid image encoder, trained contrastively "
    "(InfoNCE, hard negatives) on captioned images; stage 'text-encoder' of stackgan/shapes",
    components=("text_encoder", "image_encoder", "logit_scale"),
    condition="text",
    capabilities=(),
    auxiliary="stackgan",
    default_config={
        "image_shape": [64, 64, 3],
        "vocabulary": vocabulary(),
        "max_caption_words": MAX_CAPTION_WORDS,
        "word_dim": SPEC.default_config["word_dim"],
        "text_units": SPEC.default_config["text_units"],
        "embedding_dim": SPEC.default_config["embedding_dim"],
        "image_layout": "grid",
        "hard_negatives": True,
        "hard_exchange": 0.5,
        "contrast_words": contrast_word_groups(),
        "train_text_encoder": True,
        "learning_rate": 1e-3,
        "batch_size": 128,
    },
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=256,
                                   description="square RGB, side 64 to 256"),
        "vocabulary": schema.Strs(length=(1, 10000)),
        "max_caption_words": schema.Int(min=1, max=256),
        "word_dim": schema.Int(min=1, max=1024),
        "text_units": schema.Int(min=1, max=1024),
        "embedding_dim": schema.Int(min=16, max=1024,
                                    description="a multiple of 16 with the grid layout"),
        "image_layout": schema.Choice("grid", "dense"),
        "hard_negatives": schema.Bool(training=True),
        "hard_exchange": schema.Float(min=0, max=1, training=True),
        "contrast_words": schema.Json(training=True,
                                      description="groups of interchangeable word classes"),
        "train_text_encoder": schema.Bool(description="false: only the image encoder learns"),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
)

# The attribute classifier that scores StackGAN's images (the shapes-cnn extractor): a
# registered auxiliary model, made by its recipe (recipes/attribute-classifier.toml) with
# genzoo train and published with genzoo publish into weights/, whose manifest records
# its sha256.
ATTRIBUTE_CLASSIFIER = "stackgan-attribute-classifier/shapes"
ATTRIBUTE_CLASSIFIER_SPEC = ModelSpec(
    name="stackgan-attribute-classifier",
    builder="genzoo_stackgan.classifier:AttributeClassifierModel",
    description="CNN reading shape, colour and size at each of the 5 positions of a "
    "captioned-shapes image; the shapes-cnn extractor that scores stackgan",
    components=("classifier",),
    condition="text",
    capabilities=(),
    auxiliary="stackgan",
    default_config={
        "image_shape": [64, 64, 3],
        "noise": 0.05,
        "extra_renders": 20000,
        "extra_seed": 10,
        "learning_rate": 1e-3,
        "batch_size": 64,
    },
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=64, description="64x64 RGB only"),
        "noise": schema.Float(min=0, max=1, training=True,
                              description="std of the Gaussian pixel noise in training"),
        "extra_renders": schema.Int(min=0, max=1_000_000, training=True,
                                    description="renders added to the shapes split"),
        "extra_seed": schema.Int(min=0, max=2**31 - 1, training=True),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
    },
    weights=published_weights(__package__, "stackgan-attribute-classifier"),
)
CLASSIFIER_SHA256 = next((w.sha256 for w in ATTRIBUTE_CLASSIFIER_SPEC.weights
                          if w.name == ATTRIBUTE_CLASSIFIER.partition("/")[2]), "")
# On the 2,000 test renders (seed 1), by genzoo_stackgan.classifier.held_out_accuracy():
# shape, colour and size per stated object, position per image (exactly the stated
# positions occupied). See the model card.
CLASSIFIER_METRICS = {
    "test_accuracy_shape": 1.0,
    "test_accuracy_colour": 1.0,
    "test_accuracy_size": 1.0,
    "test_accuracy_position": 1.0,
}

SHAPES_DATASET = DatasetSpec(
    name="shapes",
    loader="genzoo_stackgan.shapes:load_shapes",
    description="captioned shapes: 64x64 RGB, one or two coloured circles, squares or "
    "triangles at 5 positions, 5 captions each; 10k train / 2k test, drawn on the fly",
    condition="text",
    image_shape=(64, 64, 3),
    features="shapes-cnn",
    classifiers={"attributes": "shapes-cnn"},
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register 'stackgan', its text encoder and the attribute classifier that scores it."""
    return [SPEC, TEXT_ENCODER_SPEC, ATTRIBUTE_CLASSIFIER_SPEC]


@hookimpl
def genzoo_register_datasets() -> list[DatasetSpec]:
    """Register the captioned-shapes dataset as 'shapes'."""
    return [SHAPES_DATASET]


@hookimpl
def genzoo_register_feature_extractors() -> list[FeatureExtractorSpec]:
    """Register the published attribute classifier as 'shapes-cnn' (its penultimate features)."""
    if not CLASSIFIER_SHA256:
        return []
    return [
        FeatureExtractorSpec(
            name="shapes-cnn",
            builder="genzoo_stackgan.classifier:shapes_cnn",
            description="CNN trained on captioned-shapes renders, per position shape/colour/"
            f"size, 100% test accuracy; penultimate 128-d features ({ATTRIBUTE_CLASSIFIER})",
            image_shape=(64, 64, 3),
            feature_dim=128,
            num_classes=0,
            sha256=CLASSIFIER_SHA256,
            metrics=dict(CLASSIFIER_METRICS),
        )
    ]
