"""genzoo-core: the stable core of genzoo, a zoo of generative models for Keras 3.

This namespace is for users of pretrained models and of the trainer; what a
plugin author writes a plugin with is in :mod:`genzoo_core.plugin`. Importing
this package is cheap: the names that need TensorFlow (``Trainer``,
``evaluate``, ``save_grid``, ...) are imported on first use.

Models by name:
    ``list_models``, ``get_spec``, ``resolve_weights``, ``load``, ``create``.

Training:
    ``train``, ``Trainer``, and ``precision`` (mixed-precision training:
    ``precision.precision_scope``, ``precision.TRAINING_PRECISIONS``).

Recipes and publishing (how every pretrained weight is made):
    ``get_recipe``, ``run_recipe``, ``Recipe``, ``RecipeError``, ``publish``.

Data:
    ``load_data``, ``load_paired_folder``, ``load_unpaired_folders``,
    ``load_captioned_folder``, ``read_image``, ``BINARIZATION_SEED``.

Evaluation:
    ``evaluate``, ``evaluate_folders``, ``metrics``, ``get_feature_extractor``.

Images and weight files:
    ``save_grid``, ``make_grid``, ``save_weights``, ``load_weights``,
    ``read_header``, ``sha256_file``.

Plugins:
    ``Registry``, ``default_registry``.

Errors:
    ``GenzooError`` and its subclasses ``ConfigError``, ``DataError``,
    ``DownloadError``, ``DuplicateModelError``, ``PluginError``,
    ``TrainingDiverged``, ``UnknownNameError``, ``WeightsError`` (and
    ``RecipeError``, a ``ConfigError``).

Version:
    ``__version__``.

The author names this namespace used to export (``ModelSpec``,
``GenerativeModel``, ``hookimpl``, ``losses``, ...) still resolve here for one
minor release, with a ``DeprecationWarning`` naming their new home.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

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
from genzoo_core.registry import Registry, default_registry
from genzoo_core.version import __version__

# Public names whose modules import TensorFlow: resolved lazily by __getattr__.
_LAZY = {
    "Trainer": "genzoo_core.trainer",
    # the seed that binarizes binarized-mnist's test split, for reports of likelihoods on it
    "BINARIZATION_SEED": "genzoo_core.data",
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
    "metrics": "genzoo_core.metrics",
    "precision": "genzoo_core.precision",
    "get_feature_extractor": "genzoo_core.features",
    "evaluate": "genzoo_core.evaluation",
    "evaluate_folders": "genzoo_core.evaluation",
    "Recipe": "genzoo_core.recipes",
    "RecipeError": "genzoo_core.recipes",
    "get_recipe": "genzoo_core.recipes",
    "run_recipe": "genzoo_core.recipes",
    "publish": "genzoo_core.publishing",
}

# The lazy names that are modules themselves.
_MODULES = frozenset({"metrics", "precision"})

# Author names exported here up to API 1.1, now in genzoo_core.plugin: they still resolve,
# with a DeprecationWarning, until the next minor release removes them.
DEPRECATED_AUTHOR_NAMES = frozenset({
    "API_VERSION", "Autoencoder", "Capability", "CaptionedDataSource", "Condition",
    "DataSource", "DatasetSpec", "Decoder", "Discriminator", "Encoder", "FeatureExtractor",
    "FeatureExtractorSpec", "GenerativeModel", "Generator", "LikelihoodModel",
    "ModelContract", "ModelSpec", "PairedDataSource", "Translator", "UnpairedDataSource",
    "WeightsSpec", "hookimpl", "input_images", "losses", "replica_scale", "resized_images",
    "schema",
})

__all__ = [
    "ConfigError",
    "DataError",
    "DownloadError",
    "DuplicateModelError",
    "GenzooError",
    "PluginError",
    "Registry",
    "TrainingDiverged",
    "UnknownNameError",
    "WeightsError",
    "__version__",
    "create",
    "default_registry",
    "get_spec",
    "list_models",
    "load",
    "resolve_weights",
    "train",
    *_LAZY,
]

# Importing the core binds its submodules as attributes of this package; the deprecated
# module names must go through __getattr__ so that reaching them here warns.
for _name in ("schema", "losses"):
    globals().pop(_name, None)
del _name


def __getattr__(name: str) -> Any:
    """Import TensorFlow-backed names on first access; warn for the moved author names."""
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if name in _MODULES else getattr(module, name)
        globals()[name] = value
        return value
    if name in DEPRECATED_AUTHOR_NAMES:
        warnings.warn(
            f"genzoo_core.{name} is deprecated and goes away in the next minor release: "
            f"import {name} from genzoo_core.plugin",
            DeprecationWarning, stacklevel=2,
        )
        value = getattr(importlib.import_module("genzoo_core.plugin"), name)
        globals().pop(name, None)  # a submodule import may have bound it here meanwhile
        return value
    raise AttributeError(f"module 'genzoo_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
