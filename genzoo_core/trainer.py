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
- ``model.h5``: the final weights with their metadata, when training completes;
- ``resume.log``: one line per resume: when, at which epoch, and what changed.

Each epoch writes its grid, then its ``log.csv`` row, then TensorBoard events,
then runs your callbacks, and writes ``checkpoint.h5`` last: a run killed at
any moment has a checkpoint no newer than its log and grids. Every file is
written through a temporary ``.NAME.XXXX.tmp`` file renamed into place.

Resume rules (a new ``fit`` in a folder that holds ``checkpoint.h5``):

- stale ``.NAME.XXXX.tmp`` files of a killed write are removed from the run
  folder and ``samples/``; ``log.csv`` rows and sample grids of epochs beyond
  the checkpoint's are dropped, so an epoch run again is logged once;
- architecture keys of the config (every key not marked ``training=True`` in
  the model's schema, see ``ModelSpec.training_keys``) must equal the
  checkpoint's, or the run is refused naming the key and both values;
- training keys (learning rates, loss weights, ``batch_size``, ...) and the
  trainer's ``batch_size``, ``epochs`` and ``steps_per_epoch`` may change. Each
  change is printed, appended to ``resume.log`` and recorded in the metadata
  of ``checkpoint.h5`` and ``model.h5`` as ``config_changes``: a list of
  ``{"epoch", "key", "from", "to"}`` where ``epoch`` is the number of epochs
  completed when the change took effect and trainer options are keyed
  ``trainer.batch_size``, ``trainer.epochs`` and ``trainer.steps_per_epoch``;
  a new learning rate takes effect although the optimizer state is restored;
- ``epochs`` below the checkpoint's epoch is refused; ``epochs`` equal to it
  finishes the run (writes ``model.h5`` if a kill came before it);
- a checkpoint that cannot be read is an error naming the run folder, the
  last epoch ``log.csv`` records and how to start over; nothing is changed.

Under a multi-worker strategy only the chief writes files, and every worker
reads ``checkpoint.h5`` to resume: give all workers the same, shared ``out_dir``
(as Keras' ``BackupAndRestore`` also requires).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genzoo_core import weights as weights_io
from genzoo_core._files import atomic_path
from genzoo_core.data import SOURCE_TYPES, DataSource
from genzoo_core.errors import DataError, GenzooError, TrainingDiverged, WeightsError
from genzoo_core.images import save_grid

CHECKPOINT_NAME = "checkpoint.h5"
FINAL_NAME = "model.h5"
LOG_NAME = "log.csv"
SAMPLES_DIR = "samples"
RESUME_LOG_NAME = "resume.log"
TRAINER_KEYS = ("batch_size", "epochs", "steps_per_epoch")
"""Trainer options that may change on resume, recorded as ``trainer.<name>``."""

# The temporary files _files.atomic_path makes: '.<target>.<mkstemp suffix>.tmp'.
_STALE_TMP = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")
_GRID = re.compile(r"^epoch_(\d+)\.png$")


def remove_stale_temp_files(out_dir: str | Path) -> list[Path]:
    """Delete the temporary files a killed write left in a run folder and its ``samples/``.

    Only names of the ``.NAME.XXXX.tmp`` form that atomic writes use are touched.
    Returns the removed paths.
    """
    removed = []
    for folder in (Path(out_dir), Path(out_dir) / SAMPLES_DIR):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if _STALE_TMP.match(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _logged_epochs(path: Path) -> tuple[list[str], list[int]]:
    """The lines of ``log.csv`` and the epoch of each row (header excluded)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return [], []
    epochs = []
    for line in lines[1:]:
        first = line.split(",", 1)[0]
        epochs.append(int(first) if first.isdigit() else -1)
    return lines, epochs


def last_logged_epoch(out_dir: str | Path) -> int:
    """The last epoch ``out_dir/log.csv`` records a row for (0 when none)."""
    _, epochs = _logged_epochs(Path(out_dir) / LOG_NAME)
    return max(epochs, default=0) if epochs else 0


def trim_run(out_dir: str | Path, epoch: int) -> None:
    """Drop ``log.csv`` rows and sample grids of epochs after ``epoch``.

    A run killed after an epoch's log row or grid but before its checkpoint
    re-runs that epoch on resume; without this its row would appear twice. A
    row cut short by the kill (no newline, or too few fields) is dropped too.
    The log is rewritten atomically.
    """
    out_dir = Path(out_dir)
    path = out_dir / LOG_NAME
    lines, epochs = _logged_epochs(path)
    if lines:
        fields = lines[0].count(",")
        kept = [lines[0]] + [
            line for line, row in zip(lines[1:], epochs)
            if 0 < row <= epoch and line.endswith("\n") and line.count(",") == fields
        ]
        if kept != lines:
            with atomic_path(path) as tmp:
                Path(tmp).write_text("".join(kept), encoding="utf-8")
    samples = out_dir / SAMPLES_DIR
    if samples.is_dir():
        for grid in samples.iterdir():
            match = _GRID.match(grid.name)
            if match and int(match.group(1)) > epoch:
                grid.unlink(missing_ok=True)


def resume_error(out_dir: str | Path, reason: BaseException | str) -> GenzooError:
    """The error for a run folder whose ``checkpoint.h5`` cannot be resumed from.

    It names the folder, the last epoch ``log.csv`` records, how to start over,
    and ``model.h5`` when that holds finished weights worth keeping.
    """
    out_dir = Path(out_dir)
    checkpoint, final = out_dir / CHECKPOINT_NAME, out_dir / FINAL_NAME
    # A weights file from the hub is re-downloaded; a checkpoint cannot be: keep the reason,
    # drop the advice.
    reason = str(getattr(reason, "reason", reason)).rstrip(". ")
    last = last_logged_epoch(out_dir)
    logged = (f"log.csv records epoch {last} as the last completed" if last
              else "log.csv records no completed epoch")
    keep = ""
    if final.is_file():
        try:
            epochs = weights_io.read_header(final).metadata.get("metrics", {}).get("epochs")
            keep = (f"; {final} is intact (the weights after epoch {epochs}): copy it "
                    f"elsewhere first to keep it")
        except WeightsError:
            pass
    return GenzooError(
        f"cannot resume the run in {out_dir}: {reason}. {logged}. To start over, delete "
        f"{checkpoint} or train into another --out{keep}"
    )


def read_checkpoint_header(out_dir: str | Path) -> weights_io.WeightsHeader | None:
    """The header of ``out_dir/checkpoint.h5``; ``None`` when there is none.

    Raises:
        GenzooError: the checkpoint exists but cannot be read (see :func:`resume_error`).
    """
    path = Path(out_dir) / CHECKPOINT_NAME
    if not path.is_file():
        return None
    try:
        return weights_io.read_header(path)
    except WeightsError as exc:
        raise resume_error(out_dir, exc) from None


def recorded_changes(header: weights_io.WeightsHeader) -> list[dict[str, Any]]:
    """The ``config_changes`` a weights file's metadata records (``[]`` when none)."""
    value = header.metadata.get("config_changes", [])
    if isinstance(value, str):  # non-scalar metadata is stored as JSON text
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return list(value) if isinstance(value, list) else []


def _show(value: Any) -> str:
    return json.dumps(value)


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
        checkpoint_header: the header of ``out_dir/checkpoint.h5`` when the caller
            has read it already (:func:`genzoo_core.train` does, to build the model
            from its config); the first :meth:`restore` uses it instead of reading
            the file again.
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
        checkpoint_header: weights_io.WeightsHeader | None = None,
    ) -> None:
        self.model = model
        self._checkpoint_header = checkpoint_header
        self.out_dir = Path(out_dir)
        self.strategy = strategy or tf.distribute.get_strategy()
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise GenzooError(f"batch_size must be at least 1, got {batch_size!r}")
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
        self._resumed: weights_io.WeightsHeader | None = None
        self._config_changes: list[dict[str, Any]] = []
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

    def _dataset(
        self, data: DataSource | tf.data.Dataset, capped: bool = False
    ) -> tuple[Any, int]:
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
            if cardinality == tf.data.INFINITE_CARDINALITY and not capped:
                raise DataError(
                    "the tf.data.Dataset is infinite (it repeats): pass steps_per_epoch "
                    "(--steps-per-epoch) to say how many steps make an epoch"
                )
            if 0 <= cardinality < self.batch_size:
                raise DataError(
                    f"the tf.data.Dataset has {cardinality} examples, fewer than one batch "
                    f"of {self.batch_size}: lower --batch-size"
                )
            steps = cardinality // self.batch_size if cardinality > 0 else -1
            dataset = data.batch(self.batch_size, drop_remainder=True)
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        dataset = dataset.with_options(options)
        return self.strategy.experimental_distribute_dataset(dataset), steps


    # -- the run folder ------------------------------------------------------------

    def _check_out_dir(self) -> bool:
        """Refuse an out_dir that cannot hold a run; return whether it must be created."""
        out = self.out_dir
        if out.exists():
            if not out.is_dir():
                raise GenzooError(f"{out} is a file, not a folder: pass a folder for the run "
                                  f"as --out (out_dir)")
            if not os.access(out, os.W_OK | os.X_OK):
                raise GenzooError(f"cannot write to {out} (permission denied): choose a "
                                  f"writable --out (out_dir)")
            return False
        parent = out.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            why = "is a file" if parent.exists() and not parent.is_dir() else "is not writable"
            raise GenzooError(f"cannot create {out}: {parent} {why}; choose another --out "
                              f"(out_dir)")
        return True

    def _make_out_dir(self) -> None:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GenzooError(f"cannot create {self.out_dir} ({exc.strerror}): choose "
                              f"another --out (out_dir)") from None

    def _remove_if_empty(self) -> None:
        """Remove a run folder this call created when nothing was written to it."""
        for folder in (self.out_dir / SAMPLES_DIR, self.out_dir):
            try:
                folder.rmdir()
            except OSError:  # absent, or holds files: keep it
                pass

    # -- checkpoints -------------------------------------------------------------

    def restore(self) -> int:
        """Load ``checkpoint.h5`` if present; return the number of completed epochs.

        Config keys that differ from the checkpoint's must be training keys
        (``model.spec.training_keys``); they are kept, and recorded for the
        run's ``config_changes``. The learning rates the current config sets
        take effect although the optimizer state comes from the checkpoint.

        Raises:
            GenzooError: the checkpoint cannot be read, is another model's, or
                differs in an architecture key; nothing is changed.
        """
        self._resumed, self._config_changes = None, []
        # The header handed in serves the first restore only: training rewrites the checkpoint.
        header = self._checkpoint_header or read_checkpoint_header(self.out_dir)
        self._checkpoint_header = None
        if header is None:
            return 0
        path = self.checkpoint_path
        spec = self.model.spec
        if header.model != spec.name:
            raise GenzooError(
                f"{path} is a checkpoint of model '{header.model}', not '{spec.name}': train "
                f"into another --out (out_dir)"
            )
        epoch = int(header.training_state.get("epoch", 0))
        config, training = self.model.config, spec.training_keys
        changes = []
        for key in sorted(set(config) | set(header.config)):
            here, there = config.get(key), header.config.get(key)
            if here == there:
                continue
            if key not in training:
                allowed = ", ".join(sorted(training)) or "none for this model"
                raise GenzooError(
                    f"cannot resume: config key '{key}' is {_show(here)} here but "
                    f"{_show(there)} in {path}, and only training keys ({allowed}) may change "
                    f"on resume: resume with --config {key}={_show(there)}, or train into "
                    f"another --out"
                )
            changes.append({"epoch": epoch, "key": key, "from": there, "to": here})
        optimizers = self.model.optimizers
        # The optimizer state holds each learning rate as a variable: keep the configured one.
        rates = {
            (name, index): variable.numpy()
            for name, optimizer in optimizers.items()
            for index, variable in enumerate(optimizer.variables)
            if variable.name == "learning_rate"
        }
        try:
            # Passing the header also skips load_weights' check that the file fits its own
            # config: the loop above made that config this model's, but for training keys
            # (which change no variable), and load_weights compares the file with this model.
            weights_io.load_weights(self.model, path, optimizers=optimizers, header=header)
        except WeightsError as exc:
            raise resume_error(self.out_dir, exc) from None
        if changes:
            for (name, index), value in rates.items():
                optimizers[name].variables[index].assign(value)
        self._resumed, self._config_changes = header, changes
        return epoch

    def _trainer_changes(
        self, epoch: int, epochs: int, steps_per_epoch: int | None
    ) -> list[dict[str, Any]]:
        """Changes of the trainer's own options since the checkpoint was written."""
        if self._resumed is None:
            return []
        state = self._resumed.training_state
        now = {"batch_size": self.batch_size, "epochs": epochs,
               "steps_per_epoch": steps_per_epoch}
        config_moves = {(c["key"], _show(c["from"]), _show(c["to"]))
                        for c in self._config_changes}
        changes = []
        for key in TRAINER_KEYS:
            if key not in state or state[key] == now[key]:
                continue  # checkpoints of older versions do not store the options
            if (key, _show(state[key]), _show(now[key])) in config_moves:
                continue  # the config key of the same name already says it
            changes.append({"epoch": epoch, "key": f"trainer.{key}", "from": state[key],
                            "to": now[key]})
        return changes

    def _record_resume(self, epoch: int, epochs: int, changes: list[dict[str, Any]]) -> None:
        """Print the resume and append it to ``resume.log``; keep changes for the metadata."""
        assert self._resumed is not None
        history = recorded_changes(self._resumed) + changes
        if history:
            self.metadata["config_changes"] = history
        said = ", ".join(f"{c['key']} {_show(c['from'])} -> {_show(c['to'])}" for c in changes)
        line = (f"resuming from {self.checkpoint_path}: {epoch} of {epochs} epochs done"
                + (f"; changed: {said}" if said else ""))
        if self.verbose:
            print(line)
        if self.chief:
            path = self.out_dir / RESUME_LOG_NAME
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            before = path.read_text(encoding="utf-8") if path.is_file() else ""
            if before and not before.endswith("\n"):
                before += "\n"
            with atomic_path(path) as tmp:
                Path(tmp).write_text(
                    f"{before}{stamp} resumed at epoch {epoch} of {epochs}: "
                    f"{said or 'no changes'}\n", encoding="utf-8")

    def _learning_rate_advice(self) -> str:
        """``--config KEY=VALUE`` lowering each learning rate of the config tenfold."""
        pairs = [
            f"--config {key}={value / 10:g}"
            for key, value in self.model.config.items()
            if ("learning_rate" in key or key in ("lr", "g_lr", "d_lr"))
            and isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        ]
        return f" ({' '.join(pairs)})" if pairs else ""

    def _save_final(self, metrics: Mapping[str, float], epochs: int, seconds: float) -> None:
        metadata = dict(self.metadata)
        metadata["metrics"] = {
            **{k: round(v, 6) for k, v in metrics.items() if k != "seconds"},
            "epochs": epochs,
            "train_seconds_this_run": round(seconds, 1),
        }
        weights_io.save_weights(self.model, self.final_path, metadata=metadata)

    # -- the loop ----------------------------------------------------------------

    def fit(
        self,
        data: DataSource | tf.data.Dataset,
        *,
        epochs: int,
        steps_per_epoch: int | None = None,
    ) -> keras.callbacks.History:
        """Train until ``epochs`` epochs are complete, resuming from ``out_dir``.

        See the module docstring for what a run writes and the resume rules.

        Args:
            data: a :class:`~genzoo_core.data.DataSource` (or a paired or unpaired
                source, for image-to-image models), or an unbatched
                ``tf.data.Dataset`` of dicts as the model's ``train_step`` expects.
            epochs: the total number of epochs (resumed runs count those done).
            steps_per_epoch: cap on steps per epoch (default: one pass over the data;
                required for an infinite ``tf.data.Dataset``).

        Returns:
            The Keras ``History`` of the epochs run in this call.

        Raises:
            TrainingDiverged: a loss became NaN or infinite; ``checkpoint.h5``
                still holds the last good epoch.
            GenzooError: bad settings, an unusable ``out_dir``, or a checkpoint
                that cannot be resumed (nothing in ``out_dir`` is changed).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise GenzooError(f"epochs must be at least 1, got {epochs!r}")
        if steps_per_epoch is not None and (
            isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int)
            or steps_per_epoch < 1
        ):
            raise GenzooError(f"steps_per_epoch must be at least 1, got {steps_per_epoch!r} "
                              f"(leave it out for one pass over the data)")
        create = self._check_out_dir() if self.chief else False
        dataset, steps = self._dataset(data, capped=steps_per_epoch is not None)
        if steps_per_epoch:
            steps = min(steps, steps_per_epoch) if steps > 0 else steps_per_epoch
        initial_epoch = self.restore()
        if initial_epoch > epochs:
            raise GenzooError(
                f"{self.checkpoint_path} already holds {initial_epoch} epochs, more than the "
                f"{epochs} asked for: pass --epochs {initial_epoch} or more to go on, or train "
                f"into another --out"
            )
        if self.chief:
            self._make_out_dir()
            remove_stale_temp_files(self.out_dir)
            trim_run(self.out_dir, initial_epoch)
        if initial_epoch:
            changes = self._config_changes + self._trainer_changes(
                initial_epoch, epochs, steps_per_epoch)
            self._record_resume(initial_epoch, epochs, changes)
        if initial_epoch == epochs:
            if self.chief and not self.final_path.is_file():
                # A kill between the last checkpoint and model.h5: finish the run.
                assert self._resumed is not None
                metrics = self._resumed.metadata.get("metrics", {})
                self._save_final(metrics if isinstance(metrics, dict) else {}, epochs, 0.0)
            if self.verbose:
                print(f"{self.out_dir}: all {epochs} epochs already complete "
                      f"({self.final_path})")
            return keras.callbacks.History()

        guard = NaNGuard()
        history = keras.callbacks.History()
        # Order matters: the progress bar's epoch line before the (slow) grid, so its ms/step
        # times the steps alone; the checkpoint last, so it is never newer than log and grids.
        callbacks: list[keras.callbacks.Callback] = [guard, history]
        if self.verbose > 0:
            callbacks.append(keras.callbacks.ProgbarLogger())
        checkpoint = None
        if self.chief:
            if self.preview_count:
                callbacks.append(SampleGrid(
                    self.out_dir / SAMPLES_DIR, self.preview_count, self.preview_seed
                ))
            callbacks.append(CSVLog(self.out_dir / LOG_NAME, append=initial_epoch > 0))
            if self.tensorboard:
                callbacks.append(keras.callbacks.TensorBoard(
                    str(self.out_dir / "tensorboard"), write_graph=False, update_freq="epoch"
                ))
            state = {"batch_size": self.batch_size, "epochs": epochs,
                     "steps_per_epoch": steps_per_epoch}
            checkpoint = Checkpoint(self.checkpoint_path, self.metadata, state)
        callbacks.extend(self.callbacks)
        if checkpoint is not None:
            callbacks.append(checkpoint)
        callback_list = keras.callbacks.CallbackList(
            callbacks,
            add_history=False,
            add_progbar=False,
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
            advice = self._learning_rate_advice()
            if self.checkpoint_path.exists():
                good = read_checkpoint_header(self.out_dir)
                done = good.training_state.get("epoch") if good is not None else "?"
                raise TrainingDiverged(
                    f"training diverged: {guard.failure}; {self.checkpoint_path} keeps the "
                    f"last good epoch ({done}). Lower the learning rate{advice} or try another "
                    f"loss, then run again to resume (training keys may change on resume)."
                )
            if create:
                self._remove_if_empty()
            raise TrainingDiverged(
                f"training diverged: {guard.failure}; no epoch completed, so no checkpoint was "
                f"written: start again with a lower learning rate{advice}, or another loss."
            )
        if self.chief and epoch_logs and completed >= epochs:
            self._save_final(epoch_logs, epochs, time.perf_counter() - started)
        return history
