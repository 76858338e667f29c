"""The genzoo trainer: each model's own ``train_step`` in a compiled loop.

Why not ``Model.fit``? ``fit`` fails under ``MultiWorkerMirroredStrategy`` in
Keras 3.15 (tensorflow/tensorflow#72388), while a ``tf.function`` around
``strategy.run(model.train_step)`` works under every strategy. Everything else
is Keras: models are ``keras.Model`` subclasses with a ``train_step``, and the
loop drives a ``keras.callbacks.CallbackList`` (the Keras progress bar, the
checkpoint, grid and CSV callbacks below, and any callbacks you pass).

What a run writes to ``out_dir``:

- ``checkpoint.h5``: components, optimizer state and the completed epoch, after
  every epoch, written atomically; a new ``fit`` in the same folder resumes from it;
- ``samples/epoch_NNNN.png``: a sample grid per epoch, from a fixed seed;
- ``log.csv``: the epoch-mean losses and the seconds per epoch;
- ``tensorboard/``: the same as TensorBoard events, if asked for;
- ``model.h5``: the final weights with their metadata, when training completes.

Under a multi-worker strategy only the chief writes files, and every worker
reads ``checkpoint.h5`` to resume: give all workers the same, shared ``out_dir``
(as Keras' ``BackupAndRestore`` also requires).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import weights as weights_io
from genzoo_core.data import SOURCE_TYPES, DataSource
from genzoo_core.errors import DataError, GenzooError, TrainingDiverged
from genzoo_core.images import save_grid

CHECKPOINT_NAME = "checkpoint.h5"
FINAL_NAME = "model.h5"
LOG_NAME = "log.csv"
SAMPLES_DIR = "samples"


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True unless this process is a non-chief worker of a multi-worker strategy."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


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


class SampleGrid(keras.callbacks.Callback):
    """Saves ``model.preview(n, seed=seed)`` as ``directory/epoch_NNNN.png`` each epoch."""

    def __init__(self, directory: str | Path, n: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.n = n
        self.seed = seed

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        """Write the grid for the epoch just completed."""
        save_grid(self.directory / f"epoch_{epoch + 1:04d}.png", self.model.preview(
            self.n, seed=self.seed
        ))


class Checkpoint(keras.callbacks.Callback):
    """Writes ``path`` (components + optimizer state + epoch) atomically each epoch."""

    def __init__(self, path: str | Path, metadata: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.metadata = dict(metadata or {})

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
            training_state={"epoch": epoch + 1},
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


class Trainer:
    """Train a :class:`~genzoo_core.GenerativeModel` with checkpoints and resume.

    Args:
        model: the model; under a strategy, create it inside ``strategy.scope()``.
        out_dir: where checkpoints, grids, logs and the final weights go.
        strategy: any ``tf.distribute.Strategy``; default the current one.
        batch_size: global batch size; default ``model.config["batch_size"]``.
        callbacks: extra Keras callbacks.
        preview_count: images in each epoch's sample grid (0 disables the grids).
        preview_seed: seed of the grids, fixed so epochs are comparable.
        seed: shuffling seed; workers of one multi-worker job must share it.
        jit_compile: compile each replica's step with XLA. ``None`` follows the
            model's ``jit_compile`` attribute (chosen by measurement per model) on
            a single replica, and is off under multi-replica strategies.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch, ``"auto"``: 1 on
            a terminal, else 2.
        tensorboard: also write TensorBoard logs to ``out_dir/tensorboard``
            (needs ``pip install genzoo-core[tensorboard]``).
        metadata: stored in the checkpoint and final weights (``dataset``,
            ``training_command``, ...).
    """

    def __init__(
        self,
        model: Any,
        out_dir: str | Path,
        *,
        strategy: tf.distribute.Strategy | None = None,
        batch_size: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        preview_count: int = 64,
        preview_seed: int = 0,
        seed: int = 0,
        jit_compile: bool | None = None,
        verbose: int | str = "auto",
        tensorboard: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.out_dir = Path(out_dir)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.batch_size = int(batch_size or model.config.get("batch_size") or 64)
        self.callbacks = list(callbacks)
        self.preview_count = preview_count
        self.preview_seed = preview_seed
        self.seed = seed
        if jit_compile is None:
            single = self.strategy.num_replicas_in_sync == 1
            jit_compile = bool(getattr(model, "jit_compile", False)) and single
        self.jit_compile = jit_compile
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        self.verbose = int(verbose)
        self.metadata = dict(metadata or {})
        self.tensorboard = tensorboard
        if tensorboard:
            try:
                import tensorboard as _tensorboard  # noqa: F401
            except ImportError:
                raise GenzooError(
                    "TensorBoard logs need the tensorboard package: "
                    "pip install 'genzoo-core[tensorboard]'"
                ) from None
        self.chief = is_chief(self.strategy)
        self._check_scope()
        with self.strategy.scope():
            if not model._genzoo_optimizers:
                model.compile()
            model.build_optimizers()
        self._step = self._make_step()

    @property
    def checkpoint_path(self) -> Path:
        """``out_dir/checkpoint.h5``."""
        return self.out_dir / CHECKPOINT_NAME

    @property
    def final_path(self) -> Path:
        """``out_dir/model.h5``, written when training completes."""
        return self.out_dir / FINAL_NAME

    def _check_scope(self) -> None:
        if self.strategy.num_replicas_in_sync == 1:
            return
        variable = self.model.variables[0].value if self.model.variables else None
        if getattr(variable, "_distribute_strategy", None) is not self.strategy:
            raise GenzooError(
                "the model was not created under this strategy: build it inside "
                "'with strategy.scope():' (genzoo_core.train does this for you)"
            )

    def _make_step(self) -> Any:
        model, strategy = self.model, self.strategy
        replica_step = model.train_step
        if self.jit_compile:  # XLA compiles the per-replica step, as Keras' own fit does
            replica_step = tf.function(model.train_step, jit_compile=True, reduce_retracing=True)

        def step(batch: Any) -> dict[str, tf.Tensor]:
            per_replica = strategy.run(replica_step, args=(batch,))
            return {
                name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                for name, value in per_replica.items()
            }

        return tf.function(step, reduce_retracing=True)

    # -- data ------------------------------------------------------------------

    def _dataset(self, data: DataSource | tf.data.Dataset) -> tuple[Any, int]:
        if isinstance(data, SOURCE_TYPES):
            if hasattr(self.model, "prepare_data"):
                data = self.model.prepare_data(data)
            elif hasattr(self.model, "check_data"):
                self.model.check_data(data)
            steps = len(data) // self.batch_size
            if steps == 0:
                raise DataError(
                    f"{data.name} has {len(data)} examples, fewer than one batch of "
                    f"{self.batch_size}: lower --batch-size"
                )
            dataset = data.dataset(shuffle=True, seed=self.seed, batch_size=self.batch_size)
        else:
            cardinality = int(data.cardinality())
            steps = cardinality // self.batch_size if cardinality > 0 else -1
            dataset = data.batch(self.batch_size, drop_remainder=True)
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        dataset = dataset.with_options(options)
        return self.strategy.experimental_distribute_dataset(dataset), steps

    # -- checkpoints -------------------------------------------------------------

    def restore(self) -> int:
        """Load ``checkpoint.h5`` if present; return the number of completed epochs."""
        if not self.checkpoint_path.exists():
            return 0
        header = weights_io.read_header(self.checkpoint_path)
        if header.config != self.model.config:
            raise GenzooError(
                f"{self.checkpoint_path} was written by a model with another config "
                f"({header.config}); resume with that config, or train into another folder"
            )
        weights_io.load_weights(
            self.model, self.checkpoint_path, optimizers=self.model.optimizers
        )
        return int(header.training_state.get("epoch", 0))

    # -- the loop ----------------------------------------------------------------

    def fit(
        self,
        data: DataSource | tf.data.Dataset,
        *,
        epochs: int,
        steps_per_epoch: int | None = None,
    ) -> keras.callbacks.History:
        """Train until ``epochs`` epochs are complete, resuming from ``out_dir``.

        Args:
            data: a :class:`~genzoo_core.data.DataSource` (or a paired or unpaired
                source, for image-to-image models), or an unbatched
                ``tf.data.Dataset`` of dicts as the model's ``train_step`` expects.
            epochs: the total number of epochs (resumed runs count those done).
            steps_per_epoch: cap on steps per epoch (default: one pass over the data).

        Returns:
            The Keras ``History`` of the epochs run in this call.

        Raises:
            TrainingDiverged: a loss became NaN or infinite; ``checkpoint.h5``
                still holds the last good epoch.
        """
        if epochs < 1:
            raise GenzooError(f"epochs must be at least 1, got {epochs}")
        dataset, steps = self._dataset(data)
        if steps_per_epoch:
            steps = min(steps, steps_per_epoch) if steps > 0 else steps_per_epoch
        initial_epoch = self.restore()
        if initial_epoch and self.verbose:
            print(f"resuming from {self.checkpoint_path}: {initial_epoch} of {epochs} epochs done")

        guard = NaNGuard()
        history = keras.callbacks.History()
        callbacks: list[keras.callbacks.Callback] = [guard, history, *self.callbacks]
        if self.chief:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            callbacks.append(Checkpoint(self.checkpoint_path, self.metadata))
            if self.preview_count:
                callbacks.append(SampleGrid(
                    self.out_dir / SAMPLES_DIR, self.preview_count, self.preview_seed
                ))
            callbacks.append(CSVLog(self.out_dir / LOG_NAME, append=initial_epoch > 0))
            if self.tensorboard:
                callbacks.append(keras.callbacks.TensorBoard(
                    str(self.out_dir / "tensorboard"), write_graph=False, update_freq="epoch"
                ))
        callback_list = keras.callbacks.CallbackList(
            callbacks,
            add_history=False,
            add_progbar=self.verbose > 0,
            model=self.model,
            verbose=self.verbose,
            epochs=epochs,
            steps=steps if steps > 0 else None,
        )
        self.model.stop_training = False
        started = time.perf_counter()
        epoch_logs: dict[str, float] = {}
        completed = initial_epoch
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            epoch_start = time.perf_counter()
            totals: dict[str, float] = {}
            count = 0
            for batch_index, batch in enumerate(dataset):
                callback_list.on_train_batch_begin(batch_index)
                logs = {k: float(v) for k, v in self._step(batch).items()}
                count += 1
                for k, v in logs.items():
                    totals[k] = totals.get(k, 0.0) + v
                callback_list.on_train_batch_end(batch_index, logs)
                if self.model.stop_training or (steps > 0 and count >= steps):
                    break
            if guard.failure:
                break
            epoch_logs = {k: v / max(count, 1) for k, v in totals.items()}
            epoch_logs["seconds"] = time.perf_counter() - epoch_start
            callback_list.on_epoch_end(epoch, epoch_logs)
            completed = epoch + 1
            if self.model.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        if guard.failure:
            kept = (
                f"{self.checkpoint_path} keeps the last good epoch"
                if self.checkpoint_path.exists()
                else "no epoch completed, so no checkpoint was written"
            )
            raise TrainingDiverged(
                f"training diverged: {guard.failure}; {kept}. Lower the learning rate, "
                f"or try another loss, then run again to resume."
            )
        if self.chief and epoch_logs and completed >= epochs:
            metadata = dict(self.metadata)
            metadata["metrics"] = {
                **{k: round(v, 6) for k, v in epoch_logs.items() if k != "seconds"},
                "epochs": epochs,
                "train_seconds_this_run": round(time.perf_counter() - started, 1),
            }
            weights_io.save_weights(self.model, self.final_path, metadata=metadata)
        return history
