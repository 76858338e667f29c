"""The hooks a genzoo plugin implements.

A plugin is a module named by an entry point in the group ``genzoo``; it defines
some of these functions, each decorated with ``@genzoo_core.hookimpl``. The
plugin-author guide (CONTRIBUTING.md, "The hooks") gives a complete example of
each hook and the rules every plugin follows.
"""

from __future__ import annotations

import pluggy

from genzoo_core.spec import DatasetSpec, FeatureExtractorSpec, MetricSpec, ModelSpec

PROJECT_NAME = "genzoo"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def genzoo_api_range() -> str:  # type: ignore[empty-body]
    """Return the PEP 440 range of ``genzoo_core.API_VERSION`` the plugin supports.

    Required: a plugin without it, or whose range excludes the running API, is refused.
    """


@hookspec
def genzoo_register_models() -> list[ModelSpec]:  # type: ignore[empty-body]
    """Return the :class:`~genzoo_core.ModelSpec` of every model the plugin provides."""


@hookspec
def genzoo_register_datasets() -> list[DatasetSpec]:  # type: ignore[empty-body]
    """Return the :class:`~genzoo_core.DatasetSpec` of every named dataset the plugin provides.

    Reserved: ``mnist``, ``binarized-mnist``, ``fashion-mnist``. A dataset may declare where
    its files lie under ``$GENZOO_DATA`` and the archive to download them from
    (``folder``, ``archive_url``, ...): the core then finds or fetches them.
    """


@hookspec
def genzoo_register_feature_extractors() -> list[FeatureExtractorSpec]:  # type: ignore[empty-body]
    """Return the :class:`~genzoo_core.FeatureExtractorSpec` of every feature extractor provided.

    Reserved: ``inception-v3``, ``mnist-cnn``, ``fashion-mnist-cnn``, ``image-stats``.
    """


@hookspec
def genzoo_register_metrics() -> list[MetricSpec]:  # type: ignore[empty-body]
    """Return the :class:`~genzoo_core.plugin.MetricSpec` of every evaluation metric provided.

    Reserved: the metrics genzoo-core registers (``fid``, ``kid``, ``is``, ``pr``,
    ``label_accuracy``, ``nll``, ``l1``, ``ssim``, ``sharpness``, ``cycle_l1``,
    ``domain_accuracy``, ``attribute_accuracy``).
    """
