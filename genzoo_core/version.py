"""Version numbers of genzoo-core and of the plugin API it provides."""

__version__ = "1.5.0"

API_VERSION = "1.5"
"""The plugin API version. The major number changes on any breaking change to the
hooks, the spec dataclasses or the model contract; plugins declare the range they
support through the ``genzoo_api_range`` hook.

1.1 added ``ModelSpec.config_schema`` (with :mod:`genzoo_core.schema`) and
``WeightsSpec.size``; a plugin that uses them declares ``>=1.1,<2``.

1.2 added the author namespace :mod:`genzoo_core.plugin` (the author names of
``genzoo_core`` still resolve there, deprecated, until the next minor release of
genzoo-core), ``ModelSpec.roles`` with :class:`~genzoo_core.plugin.Role`, and
``GenerativeModel.example_data``; a plugin that uses them declares ``>=1.2,<2``.

1.3 added recipes (``<package>/recipes/*.toml``, :mod:`genzoo_core.recipes`) and
the weights manifest that ``genzoo publish`` writes and
:func:`~genzoo_core.plugin.published_weights` reads; ``ModelSpec.auxiliary``
(networks that draw no images); ``GenerativeModel.initialize_from``; the
``genzoo_register_metrics`` hook with :class:`~genzoo_core.plugin.MetricSpec`;
and the ``DatasetSpec`` fields ``features``, ``classifiers``, ``compare_with``,
``folder`` and ``archive_*``. A plugin that uses any of them declares
``>=1.3,<2``.

1.4 added iterative samplers: ``ModelSpec.sample_options`` (options ``sample``
checks and hands to ``generate``, passed by ``genzoo sample --steps`` and
``evaluate(sample_options=...)``), ``GenerativeModel.report_progress``,
``ModelSpec.component_use`` (components only sampling or only training needs,
left out of published files) and ``GenerativeModel.restore_components``. A plugin
that uses them declares ``>=1.4,<2``.

1.5 added inference on every Keras backend (the sampling paths use ``keras.ops``
and numpy; training needs TensorFlow), the conformance kit's backend check,
``genzoo train --strategy multi-worker`` (which reads ``TF_CONFIG``) and
``--json`` on every listing command. Plugins written for 1.4 keep working.

genzoo-core's own version is ``MAJOR.MINOR.PATCH`` with ``MAJOR.MINOR`` equal to
this API version, so a plugin's dependency on genzoo-core is the same range as
its ``genzoo_api_range`` (``genzoo-core>=1.3,<2`` for ``>=1.3,<2``)."""
