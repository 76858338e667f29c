"""genzoo_core.plugin: what a plugin author writes a model plugin with.

A plugin imports these names from here, the names a user needs (errors,
``load``, ``create``, ``save_grid``, ...) from :mod:`genzoo_core`, and, in its
tests, the conformance kit from :mod:`genzoo_core.testing`; nothing else of the
core. Importing this module is as cheap as importing :mod:`genzoo_core` (a
plugin's ``plugin.py`` is imported by ``genzoo list``): the names that need
TensorFlow are imported on first use.

Registering a plugin (API version and hooks):
    ``API_VERSION``, ``hookimpl``.

Describing a model (specs, imported without TensorFlow):
    ``ModelSpec``, ``WeightsSpec``, ``DatasetSpec``, ``FeatureExtractorSpec``,
    ``MetricSpec``,
    ``Condition``, ``Capability``, ``Role``, and ``schema`` (the rules of
    ``ModelSpec.config_schema``); ``published_weights`` (the weights
    ``genzoo publish`` recorded in the package's ``weights/manifest.json``).

Writing the model:
    ``GenerativeModel`` (its author contract: ``generate``, ``train_step``,
    ``make_optimizers``, ``optimizer_variables``, ``prepare_data``,
    ``check_data``, ``preview``, ``example_data``; the update helper
    ``minimize`` and the read-only ``settings``), ``replica_scale``,
    ``input_images``, ``resized_images``, and ``losses``.

Inference on every Keras backend:
    ``inference_function`` (a ``tf.function`` on TensorFlow, the plain function
    on JAX and PyTorch), ``to_numpy``, ``keras_backend``, ``require_tensorflow``.

Data a model trains on:
    ``DataSourceProtocol`` (what the trainer needs of a source) and the core's
    sources ``DataSource``, ``PairedDataSource``, ``UnpairedDataSource``,
    ``CaptionedDataSource``.

Contracts (runtime-checkable protocols):
    ``ModelContract``; the capabilities ``Translator``, ``LikelihoodModel``,
    ``Autoencoder``; the component roles ``Generator``, ``Discriminator``,
    ``Encoder``, ``Decoder`` with ``role_problem`` (the check of a role);
    ``FeatureExtractor``.

Testing a plugin:
    the conformance kit, :mod:`genzoo_core.testing`
    (``parametrize_with_checks``, ``check_model``, the checks).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from genzoo_core.hookspecs import hookimpl
from genzoo_core.manifest import published_weights
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
    role_problem,
)
from genzoo_core.spec import (
    Capability,
    Condition,
    DatasetSpec,
    FeatureExtractorSpec,
    MetricSpec,
    ModelSpec,
    Role,
    WeightsSpec,
)
from genzoo_core.version import API_VERSION

# Not 'from genzoo_core import schema': that name of genzoo_core is deprecated (and warns).
schema = importlib.import_module("genzoo_core.schema")

# Names whose modules import TensorFlow: resolved on first access by __getattr__.
_LAZY = {
    "GenerativeModel": "genzoo_core.model",
    "update_average": "genzoo_core.averaging",
    "average_decay": "genzoo_core.averaging",
    "replica_scale": "genzoo_core.model",
    "input_images": "genzoo_core.model",
    "resized_images": "genzoo_core.model",
    "losses": "genzoo_core.losses",
    "DataSourceProtocol": "genzoo_core.data",
    "DataSource": "genzoo_core.data",
    "PairedDataSource": "genzoo_core.data",
    "UnpairedDataSource": "genzoo_core.data",
    "CaptionedDataSource": "genzoo_core.data",
    "inference_function": "genzoo_core.backend",
    "to_numpy": "genzoo_core.backend",
    "require_tensorflow": "genzoo_core.backend",
    "keras_backend": "genzoo_core.backend",
}

_MODULES = frozenset({"losses"})

__all__ = [
    "API_VERSION",
    "Autoencoder",
    "Capability",
    "Condition",
    "DatasetSpec",
    "Decoder",
    "Discriminator",
    "Encoder",
    "FeatureExtractor",
    "FeatureExtractorSpec",
    "Generator",
    "LikelihoodModel",
    "MetricSpec",
    "ModelContract",
    "ModelSpec",
    "Role",
    "Translator",
    "WeightsSpec",
    "hookimpl",
    "published_weights",
    "role_problem",
    "schema",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    """Import the TensorFlow-backed names on first access."""
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if name in _MODULES else getattr(module, name)
        globals()[name] = value
        if name in _MODULES:
            # Importing a submodule binds it on the package too, where reaching it must
            # go through genzoo_core's __getattr__ (which warns: it moved here).
            sys.modules["genzoo_core"].__dict__.pop(name, None)
        return value
    raise AttributeError(f"module 'genzoo_core.plugin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
