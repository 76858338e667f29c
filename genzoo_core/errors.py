"""Exceptions raised by genzoo.

Every error genzoo raises on bad input is a :class:`GenzooError`; its message says
what went wrong and what to do about it. The CLI prints that message alone, without
a traceback.
"""

from __future__ import annotations


class GenzooError(Exception):
    """Base class of every error genzoo raises deliberately."""


class PluginError(GenzooError):
    """A plugin could not be loaded, is incompatible, or declares an invalid spec."""


class DuplicateModelError(PluginError):
    """Two distributions register the same model (or dataset) name.

    ``specs`` holds the conflicting spec entries.
    """

    specs: list = []


class UnknownNameError(GenzooError, KeyError):
    """A model, weights or dataset name that nothing registers."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsError(GenzooError):
    """A weights file is missing, corrupt, or does not fit the model.

    ``reason`` is what is wrong without the advice on what to do, for callers
    whose advice differs (a damaged training checkpoint cannot be re-downloaded).
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class DownloadError(GenzooError):
    """Fetching pretrained weights failed; nothing was left in the cache."""


class DataError(GenzooError):
    """A dataset cannot be found or does not fit the model."""


class TrainingDiverged(GenzooError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class ConfigError(GenzooError):
    """A model configuration names unknown keys or holds invalid values."""
