"""genzoo-core: the stable core of genzoo, a zoo of generative models for Keras 3.

Importing this package is cheap: the names below that need TensorFlow
(``GenerativeModel``, ``Trainer``, ``losses``, ...) are imported on first use.
Plugins import only what this module exports.
"""

from __future__ import annotations

import importlib
from typing import Any

from genzoo_core import schema
from genzoo_core.api import create, get_spec, list_models, load, resolve_weights, train
from genzoo_core.errors import (
    ConfigError,
    DataError,
    DownloadError,
    DuplicateModelError,
    GenzooError,
    PluginError,
    TrainingDiverged,
    UnknownNameError,
    WeightsError,
)
from genzoo_core.hookspecs import hookimpl
from genzoo_core.protocols import (
    Autoencoder,
    Decoder,
    Discriminator,
    Encoder,
    FeatureExtractor,
    Generator,
    LikelihoodModel,
    ModelContract,
    Translator,
)
from genzoo_core.registry import Registry, default_registry
from genzoo_core.spec import (
    Capability,
    Condition,
    DatasetSpec,
    FeatureExtractorSpec,
    ModelSpec,
    WeightsSpec,
)
from genzoo_core.version import API_VERSION, __version__

# Public names whose modules import TensorFlow: resolved lazily by __getattr__.
_LAZY = {
    "GenerativeModel": "genzoo_core.model",
    "replica_scale": "genzoo_core.model",
    "input_images": "genzoo_core.model",
    "resized_images": "genzoo_core.model",
    "Trainer": "genzoo_core.trainer",
    "DataSource": "genzoo_core.data",
    # the seed that binarizes binarized-mnist's test split, for reports of likelihoods on it
    "BINARIZATION_SEED": "genzoo_core.data",
    "CaptionedDataSource": "genzoo_core.data",
    "PairedDataSource": "genzoo_core.data",
    "UnpairedDataSource": "genzoo_core.data",
    "load_captioned_folder": "genzoo_core.data",
    "load_data": "genzoo_core.data",
    "load_paired_folder": "genzoo_core.data",
    "load_unpaired_folders": "genzoo_core.data",
    "read_image": "genzoo_core.data",
    "save_grid": "genzoo_core.images",
    "make_grid": "genzoo_core.images",
    "save_weights": "genzoo_core.weights",
    "load_weights": "genzoo_core.weights",
    "read_header": "genzoo_core.weights",
    "sha256_file": "genzoo_core._files",
    "losses": "genzoo_core.losses",
    "metrics": "genzoo_core.metrics",
    "get_feature_extractor": "genzoo_core.features",
    "evaluate": "genzoo_core.evaluation",
    "evaluate_folders": "genzoo_core.evaluation",
}

__all__ = [
    "API_VERSION",
    "Autoencoder",
    "Capability",
    "Condition",
    "ConfigError",
    "DataError",
    "DatasetSpec",
    "Decoder",
    "Discriminator",
    "DownloadError",
    "DuplicateModelError",
    "Encoder",
    "FeatureExtractor",
    "FeatureExtractorSpec",
    "GenzooError",
    "Generator",
    "LikelihoodModel",
    "ModelContract",
    "ModelSpec",
    "PluginError",
    "Registry",
    "TrainingDiverged",
    "Translator",
    "UnknownNameError",
    "WeightsError",
    "WeightsSpec",
    "__version__",
    "create",
    "default_registry",
    "get_spec",
    "hookimpl",
    "list_models",
    "load",
    "resolve_weights",
    "schema",
    "train",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    """Import TensorFlow-backed names on first access."""
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if name in ("losses", "metrics") else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genzoo_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
