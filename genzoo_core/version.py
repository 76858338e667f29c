"""Version numbers of genzoo-core and of the plugin API it provides."""

__version__ = "0.1.0"

API_VERSION = "1.0"
"""The plugin API version. The major number changes on any breaking change to the
hooks, the spec dataclasses or the model contract; plugins declare the range they
support through the ``genzoo_api_range`` hook."""
