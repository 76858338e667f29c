"""Version numbers of genzoo-core and of the plugin API it provides."""

__version__ = "0.1.0"

API_VERSION = "1.1"
"""The plugin API version. The major number changes on any breaking change to the
hooks, the spec dataclasses or the model contract; plugins declare the range they
support through the ``genzoo_api_range`` hook.

1.1 added ``ModelSpec.config_schema`` (with :mod:`genzoo_core.schema`) and
``WeightsSpec.size``; a plugin that uses them declares ``>=1.1,<2``."""
