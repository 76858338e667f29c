"""genzoo hook implementations for pix2pix (no Keras import here)."""

from __future__ import annotations

from genzoo_core.plugin import DatasetSpec, ModelSpec, hookimpl, published_weights, schema

# The losses of genzoo_core.losses.GAN_LOSSES without a gradient penalty (the
# per-patch critic has batch norm), named here: no TensorFlow import.
GAN_LOSSES = ("minimax", "non-saturating", "least-squares", "wasserstein", "hinge")

SPEC = ModelSpec(
    name="pix2pix",
    builder="genzoo_pix2pix.model:Pix2Pix",
    description="pix2pix (Isola et al. 2017): paired image-to-image translation with a "
    "U-Net generator and a 70x70 PatchGAN discriminator",
    components=("generator", "discriminator"),
    roles={"generator": "generator", "discriminator": "discriminator"},
    condition="paired_image",
    capabilities=("sample", "translate"),
    default_config={
        "image_shape": [128, 128, 3],
        "generator_filters": 14,
        "discriminator_filters": 16,
        "dropout": 0.5,
        "dropout_blocks": 3,
        "leaky_relu_slope": 0.2,
        "loss": "non-saturating",
        "adversarial_weight": 1.0,
        "l1_weight": 100.0,
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "batch_size": 1,
        "inference_dropout": False,
    },
    # At the bounds (512x512, base width 128) the U-Net has about 270M parameters;
    # model.py requires a square image with a power-of-two side of at least 8. The
    # dropout rate and blocks stay architecture: inference_dropout keeps them on in sample.
    config_schema={
        "image_shape": schema.Ints(length=3, min=1, max=512,
                                   description="square, a power-of-two side of 8 to 512"),
        "generator_filters": schema.Int(min=1, max=128),
        "discriminator_filters": schema.Int(min=1, max=256),
        "dropout": schema.Float(min=0, max=0.9),
        "dropout_blocks": schema.Int(min=0, max=16),
        "leaky_relu_slope": schema.Float(min=0, max=1),
        "loss": schema.Choice(*GAN_LOSSES, training=True),
        "adversarial_weight": schema.Float(min=0, max=10000, training=True),
        "l1_weight": schema.Float(min=0, max=10000, training=True),
        "learning_rate": schema.Float(min=0, max=1, min_inclusive=False, training=True),
        "beta_1": schema.Float(min=0, max=0.9999, training=True),
        "batch_size": schema.Int(min=1, max=4096, training=True),
        "inference_dropout": schema.Bool(),
    },
    weights=published_weights(__package__, "pix2pix"),
)


@hookimpl
def genzoo_api_range() -> str:
    """Declare the genzoo API versions this plugin is written for (1.x)."""
    return ">=1.3,<2"


@hookimpl
def genzoo_register_models() -> list[ModelSpec]:
    """Register the 'pix2pix' model."""
    return [SPEC]


# The official archive, as the pix2pix authors' datasets/download_pix2pix_dataset.sh
# (junyanz/pytorch-CycleGAN-and-pix2pix) fetches it: http, as their script has it; the
# sha256 check is what vouches for the bytes. Its size, 250242400 bytes, is the one a
# public wget log of this URL reports and the one hard-coded for maps.tar.gz in public
# pix2pix loaders. No published sha256 of it was found (tensorflow_datasets has no pix2pix
# maps; its cycle_gan checksums cover the CycleGAN maps.zip, a different file), so none
# is recorded and the archive is not downloaded unverified: without a maps/ copy under
# GENZOO_DATA the loader's error names this URL and where to unpack it. Record the
# archive's sha256 here to have it downloaded on first use.
MAPS_DATASET = DatasetSpec(
    name="maps",
    loader="genzoo_pix2pix.data:load_maps",
    description="pix2pix maps: aerial photo | map pairs (A|B), train/ and val/, read at "
    "256x256",
    condition="paired_image",
    image_shape=(256, 256, 3),
    features="image-stats",
    folder="pix2pix/maps",
    archive_url="http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/maps.tar.gz",
    archive_size=250242400,
    archive_folder="maps",
)


@hookimpl
def genzoo_register_datasets() -> list[DatasetSpec]:
    """Register pix2pix's aerial photo -> map pairs as 'maps'."""
    return [MAPS_DATASET]
