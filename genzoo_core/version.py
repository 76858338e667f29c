"""Version numbers of genzoo-core and of the plugin API it provides."""

__version__ = "0.1.0"

API_VERSION = "1.2"
"""The plugin API version. The major number changes on any breaking change to the
hooks, the spec dataclasses or the model contract; plugins declare the range they
support through the ``genzoo_api_range`` hook.

1.1 added ``ModelSpec.config_schema`` (with :mod:`genzoo_core.schema`) and
``WeightsSpec.size``; a plugin that uses them declares ``>=1.1,<2``.

1.2 added the author namespace :mod:`genzoo_core.plugin` (the author names of
``genzoo_core`` still resolve, deprecated, until 1.3), ``ModelSpec.roles`` with
:class:`~genzoo_core.plugin.Role`, and ``GenerativeModel.example_data``; a plugin
that uses them declares ``>=1.2,<2``."""
