"""The Keras callbacks of a training run: NaN guard, sample grid, checkpoint and CSV log.

The :class:`~genzoo_core.trainer.Trainer` adds them in this order (the
checkpoint last, so it is never newer than the log and grids); they also work
in any loop that drives a ``keras.callbacks.CallbackList``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from genzoo_core import weights as weights_io
from genzoo_core.errors import TrainingDiverged
from genzoo_core.images import save_grid


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the first batch whose losses are not finite."""

    def __init__(self) -> None:
        super().__init__()
        self.failure: str | None = None
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        """Remember the epoch for the message."""
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        """Stop on the first NaN or infinite log value."""
        bad = {k: v for k, v in (logs or {}).items() if not math.isfinite(v)}
        if bad:
            names = ", ".join(f"{k}={v}" for k, v in bad.items())
            self.failure = f"{names} at epoch {self.epoch + 1}, batch {batch + 1}"
            self.model.stop_training = True


SLOW_PREVIEW_SHARE = 0.1
"""A preview that takes more than this share of its epoch's training time is warned about."""


class SampleGrid(keras.callbacks.Callback):
    """Saves ``model.preview(n, seed=seed)`` as ``directory/epoch_NNNN.png`` each epoch.

    Each preview is timed: its seconds go into the epoch's logs as
    ``preview_seconds`` (a column of ``log.csv``) and into :attr:`seconds`. The
    first preview that takes more than :data:`SLOW_PREVIEW_SHARE` of its epoch's
    training time (the logs' ``seconds``) prints one warning line to stderr,
    once per run (``verbose`` 0 keeps it quiet).
    """

    def __init__(self, directory: str | Path, n: int = 64, seed: int = 0,
                 verbose: int = 1) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.n = n
        self.seed = seed
        self.verbose = verbose
        self.seconds: list[float] = []
        """The seconds each preview of this run took, in order."""
        self.warned = False

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Write the grid for the epoch just completed, and time it."""
        started = time.perf_counter()
        images = self.model.preview(self.n, seed=self.seed)
        seconds = time.perf_counter() - started
        save_grid(self.directory / f"epoch_{epoch + 1:04d}.png", images)
        self.seconds.append(seconds)
        if logs is not None:
            logs["preview_seconds"] = round(seconds, 3)
        trained = (logs or {}).get("seconds")
        if not self.warned and trained and seconds > SLOW_PREVIEW_SHARE * trained:
            self.warned = True
            if self.verbose:
                print(f"warning: the epoch {epoch + 1} preview grid took {seconds:.1f} s, "
                      f"{seconds / trained:.0%} of the epoch's {trained:.1f} s of training; "
                      f"override {type(self.model).__name__}.preview() to draw it with fewer "
                      f"steps (or train with fewer preview images)", file=sys.stderr)


class Checkpoint(keras.callbacks.Callback):
    """Writes ``path`` (components + optimizer state + epoch) atomically each epoch.

    ``training_state`` is stored beside the epoch (the trainer keeps its
    options there, to tell what changed when the run resumes).
    """

    def __init__(
        self,
        path: str | Path,
        metadata: Mapping[str, Any] | None = None,
        training_state: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.metadata = dict(metadata or {})
        self.training_state = dict(training_state or {})

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        """Save, refusing to overwrite a good checkpoint with non-finite weights."""
        for variable in self.model.variables:
            if variable.dtype.startswith("float") and not np.all(np.isfinite(variable.numpy())):
                raise TrainingDiverged(
                    f"weights became non-finite ({variable.path}) at epoch {epoch + 1}; "
                    f"{self.path} still holds the last good epoch"
                )
        weights_io.save_weights(
            self.model,
            self.path,
            metadata={**self.metadata, "metrics": dict(logs or {})},
            optimizers=self.model.optimizers,
            training_state={**self.training_state, "epoch": epoch + 1},
        )


class CSVLog(keras.callbacks.Callback):
    """Appends one row of epoch logs to a CSV file.

    Keras' ``CSVLogger`` pads every row with empty ``val_*`` columns when a run
    has no validation data, which is always the case for these models.
    """

    def __init__(self, path: str | Path, append: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.append = append

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        """Start a fresh file unless resuming."""
        if not self.append and self.path.exists():
            self.path.unlink()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        """Write the epoch's row (and the header, for a new file)."""
        logs = dict(logs or {})
        new = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", encoding="utf-8") as f:
            if new:
                f.write(",".join(["epoch", *logs]) + "\n")
            f.write(",".join([str(epoch + 1), *(f"{v:.6g}" for v in logs.values())]) + "\n")


class LearningRateScheduler(keras.callbacks.Callback):
    """Set every optimizer's learning rate to its configured rate times a per-epoch factor.

    ``schedule`` has ``multiplier(epoch, epochs)`` (a
    :class:`genzoo_core.recipes.LearningRateSchedule`). The base rates are read
    when the callback is made, before a resumed run restores its optimizers, so
    the rate of every epoch depends on the epoch alone and a resumed run follows
    the same schedule.
    """

    def __init__(self, optimizers: Mapping[str, Any], schedule: Any, epochs: int) -> None:
        super().__init__()
        self.optimizers = dict(optimizers)
        self.schedule = schedule
        self.epochs = epochs
        self.base_rates = {name: float(keras.ops.convert_to_numpy(opt.learning_rate))
                           for name, opt in self.optimizers.items()}

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        """Set this epoch's rates."""
        factor = self.schedule.multiplier(epoch, self.epochs)
        for name, optimizer in self.optimizers.items():
            optimizer.learning_rate.assign(self.base_rates[name] * factor)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Log the factor (``lr_factor`` in ``log.csv``)."""
        if logs is not None:
            logs["lr_factor"] = round(self.schedule.multiplier(epoch, self.epochs), 6)
