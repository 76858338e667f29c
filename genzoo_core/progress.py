"""Progress of long sampling: what a model reports and where it is shown.

An iterative sampler (a diffusion model runs its network once per step)
calls :meth:`GenerativeModel.report_progress` after each step. Nothing is
shown unless a caller has opened a display with :func:`sampling_progress`, as
``genzoo sample`` and ``genzoo eval`` do: inside it, every ``model.sample(k)``
call advances a Keras progress bar (with its time-left estimate) by ``k``
images, fractionally as its steps finish. Inside :func:`quiet` (``-q`` on the
command line) no progress is shown at all: no bars, no download percentages.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

_ACTIVE: ContextVar[SamplingProgress | None] = ContextVar("genzoo_sampling_progress",
                                                          default=None)
_QUIET = [False]  # one switch for the process: downloads may run on other threads


@contextlib.contextmanager
def quiet(on: bool = True) -> Iterator[None]:
    """Show no progress inside this block when ``on`` (what ``-q`` does for a command).

    Sampling bars and the percentages of weight and dataset downloads stay
    hidden; errors, warnings and results are printed as ever.
    """
    saved = _QUIET[0]
    _QUIET[0] = saved or bool(on)
    try:
        yield
    finally:
        _QUIET[0] = saved


def shown() -> bool:
    """Whether progress may be shown: ``False`` inside :func:`quiet`."""
    return not _QUIET[0]


class SamplingProgress:
    """A progress bar over ``total`` images, advanced by the sample calls made inside it.

    Args:
        total: the images that will be drawn in all.
        label: printed on its own line before the bar.
        verbose: 0 shows nothing (the calls still count), 1 a Keras progress bar.
    """

    def __init__(self, total: int, label: str = "sampling", verbose: int = 1) -> None:
        self.total = int(total)
        self.done = 0.0
        self._call_images = 0
        self._bar: Any = None
        if verbose and shown():
            import keras

            print(label)
            self._bar = keras.utils.Progbar(self.total, verbose=verbose)

    @contextlib.contextmanager
    def call(self, images: int) -> Iterator[None]:
        """One ``sample`` call of ``images`` images: its steps advance the bar within it."""
        start, self._call_images = self.done, images
        try:
            yield
        finally:
            self._call_images = 0
            self.done = start
            self.advance(images)

    def step(self, done: int, total: int) -> None:
        """``done`` of ``total`` steps of the current call are finished."""
        if self._bar is not None and self._call_images and total > 0:
            self._bar.update(min(self.total, int(self.done + self._call_images * done / total)))

    def advance(self, images: int) -> None:
        """``images`` more images are finished."""
        self.done = min(float(self.total), self.done + images)
        if self._bar is not None:
            self._bar.update(int(self.done))


@contextlib.contextmanager
def sampling_progress(total: int, label: str = "sampling",
                      verbose: int = 1) -> Iterator[SamplingProgress]:
    """Show the progress of the ``model.sample`` calls made inside this block.

    Args:
        total: the number of images those calls will draw in all.
        label: the line printed above the bar.
        verbose: 0 counts silently, 1 shows a progress bar with the time left.
    """
    progress = SamplingProgress(total, label, verbose)
    token = _ACTIVE.set(progress)
    try:
        yield progress
    finally:
        _ACTIVE.reset(token)


def active() -> SamplingProgress | None:
    """The display opened by the innermost :func:`sampling_progress`, if any."""
    return _ACTIVE.get()
