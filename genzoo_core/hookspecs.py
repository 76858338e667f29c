"""The hooks a genzoo plugin implements.

A plugin is a module named by an entry point in the group ``genzoo``::

    [project.entry-points.genzoo]
    mymodel = "genzoo_mymodel.plugin"

The module defines functions with these names, each decorated with
``@genzoo_core.hookimpl``. Keep the module light: import nothing heavy (no Keras,
no TensorFlow) at its top level, so that ``genzoo list`` stays fast; the model
class is named by an import string and loaded only when a model is built.

Every hook is called once per plugin, inside its own guard: a plugin whose hook
raises (anything but ``KeyboardInterrupt``, ``SystemExit`` included), returns
something other than what its spec below says, or implements a function named
like a hook that is not one, is refused as a whole. ``genzoo plugins`` shows
which hook did what, and the other plugins keep working.
"""

from __future__ import annotations

import pluggy

from genzoo_core.spec import DatasetSpec, FeatureExtractorSpec, ModelSpec

PROJECT_NAME = "genzoo"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def genzoo_api_range() -> str:  # type: ignore[empty-body]
    """Return the range of genzoo core API versions this plugin supports.

    A PEP 440 version specifier string, compared with ``genzoo_core.API_VERSION``.
    A plugin whose range does not contain the running API version is refused with
    a message that says which release to install; one that returns anything but
    a non-empty specifier string is refused as failed. Every plugin must
    implement this hook.

    Example::

        @hookimpl
        def genzoo_api_range() -> str:
            return ">=1.0,<2"
    """


@hookspec
def genzoo_register_models() -> list[ModelSpec]:  # type: ignore[empty-body]
    """Return the :class:`~genzoo_core.ModelSpec` of every model the plugin provides.

    Return a list (or tuple) of specs, possibly empty. Model names are global: two
    distributions registering the same name is an error that names both, and
    neither model is used until one is uninstalled. One plugin returning a name
    twice is that plugin's bug: the plugin is refused.

    Example::

        @hookimpl
        def genzoo_register_models() -> list[ModelSpec]:
            return [ModelSpec(name="mymodel", builder="genzoo_mymodel.model:MyModel",
                              components=("generator",), default_config={...})]
    """


@hookspec
def genzoo_register_datasets() -> list[DatasetSpec]:  # type: ignore[empty-body]
    """Return the :class:`~genzoo_core.DatasetSpec` of every named dataset provided.

    Named datasets are what ``genzoo train NAME --data DATASET`` accepts besides a
    path. genzoo-core registers ``mnist``, ``binarized-mnist``, ``fashion-mnist``,
    ``maps`` and ``summer2winter`` through this same hook, and those names are
    reserved: a plugin that returns one is refused (rename yours, e.g.
    ``mymodel-mnist``), whether or not the core's own datasets are loaded. As with
    models, a name another distribution registers too disables both, and one
    plugin returning a name twice is refused.

    Example::

        @hookimpl
        def genzoo_register_datasets() -> list[DatasetSpec]:
            return [DatasetSpec(name="shapes", loader="genzoo_mymodel.data:load_shapes",
                                condition="text", image_shape=(64, 64, 3))]
    """


@hookspec
def genzoo_register_feature_extractors() -> list[FeatureExtractorSpec]:  # type: ignore[empty-body]
    """Return the :class:`~genzoo_core.FeatureExtractorSpec` of every feature extractor provided.

    Feature extractors turn images into the features FID, KID and precision/recall
    compare, and (with a classifier head) the class probabilities the Inception
    Score and label accuracy use. genzoo-core registers ``inception-v3``,
    ``mnist-cnn`` and ``fashion-mnist-cnn`` through this same hook, and those
    names are reserved: a plugin that returns one is refused (rename yours, e.g.
    ``mymodel-cnn``). A name another distribution registers too disables both,
    and one plugin returning a name twice is refused.

    Example::

        @hookimpl
        def genzoo_register_feature_extractors() -> list[FeatureExtractorSpec]:
            return [FeatureExtractorSpec(name="faces-net", builder="genzoo_faces.features:build",
                                         feature_dim=512)]
    """
