"""A run folder and its one owner, :class:`Run`: what a training run writes, and resume.

What a run writes to its folder (``out_dir``):

- ``checkpoint.h5``: components, optimizer state and the completed epoch, after
  every epoch, written atomically; a new ``fit`` in the same folder resumes from it;
- ``samples/epoch_NNNN.png``: a sample grid per epoch, from a fixed seed;
- ``log.csv``: the epoch-mean losses, the seconds per epoch and the seconds of
  each epoch's sample grid (``preview_seconds``);
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
  trainer's ``batch_size``, ``epochs``, ``steps_per_epoch`` and ``precision``
  (see :mod:`genzoo_core.precision`; the weights are float32 in each) may
  change. Each change is printed, appended to ``resume.log`` and recorded in
  the metadata of ``checkpoint.h5`` and ``model.h5`` as ``config_changes``: a list of
  ``{"epoch", "key", "from", "to"}`` where ``epoch`` is the number of epochs
  completed when the change took effect and trainer options are keyed
  ``trainer.batch_size``, ``trainer.epochs``, ``trainer.steps_per_epoch`` and
  ``trainer.precision``;
  a new learning rate takes effect although the optimizer state is restored;
- ``epochs`` below the checkpoint's epoch is refused; ``epochs`` equal to it
  finishes the run (writes ``model.h5`` if a kill came before it);
- a checkpoint that cannot be read is an error naming the run folder, the
  last epoch ``log.csv`` records and how to start over; nothing is changed.

All of this is decided in one place, :meth:`Run.resume`; :func:`genzoo_core.train`
and the :class:`~genzoo_core.trainer.Trainer` both ask it. This module imports
no TensorFlow: the checkpoint's header is read with h5py alone.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genzoo_core import weights as weights_io
from genzoo_core._files import atomic_path
from genzoo_core.errors import GenzooError, WeightsError
from genzoo_core.run_files import (
    CHECKPOINT_NAME,
    FINAL_NAME,
    LOG_NAME,
    RESUME_LOG_NAME,
    SAMPLES_DIR,
    TENSORBOARD_DIR,
    TRAINER_KEYS,
    epoch_seconds,
    last_logged_epoch,
    recorded_changes,
    remove_stale_temp_files,
    resume_error,
    trim_run,
)

__all__ = [
    "CHECKPOINT_NAME", "FINAL_NAME", "LOG_NAME", "RESUME_LOG_NAME", "SAMPLES_DIR",
    "TENSORBOARD_DIR", "TRAINER_KEYS", "Resume", "Run", "epoch_seconds", "last_logged_epoch",
    "read_checkpoint_header", "recorded_changes", "remove_stale_temp_files", "resume_error",
    "trim_run",
]


def read_checkpoint_header(out_dir: str | Path) -> weights_io.WeightsHeader | None:
    """The header of ``out_dir/checkpoint.h5``; ``None`` when there is none.

    Reads the file every time it is called; :meth:`Run.header` reads it once.

    Raises:
        GenzooError: the checkpoint exists but cannot be read (see :func:`resume_error`).
    """
    return Run(out_dir).header()


def _show(value: Any) -> str:
    return json.dumps(value)


@dataclass(frozen=True)
class Resume:
    """What :meth:`Run.resume` decided: the checkpoint a run goes on from, and what changed.

    Attributes:
        header: the checkpoint's header.
        epoch: the epochs the checkpoint holds.
        changes: each change since the checkpoint, as ``{"epoch", "key", "from", "to"}``:
            training keys of the config first, then the trainer's options
            (``trainer.batch_size``, ...) when they were asked about.
    """

    header: weights_io.WeightsHeader
    epoch: int
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every change of the run so far: those the checkpoint records, then these."""
        return recorded_changes(self.header) + self.changes

    @property
    def said(self) -> str:
        """The changes in words (``learning_rate 0.01 -> 0.001, ...``); ``""`` when none."""
        return ", ".join(f"{c['key']} {_show(c['from'])} -> {_show(c['to'])}"
                         for c in self.changes)


class Run:
    """The one owner of a run folder: its files, its timing and the resume decision.

    It knows the folder's files (:attr:`checkpoint_path`, :attr:`log_path`,
    :attr:`resume_log_path`, :attr:`samples_dir`, :attr:`final_path`), reads the
    checkpoint's header once (:meth:`header`), decides whether and how a run
    resumes (:meth:`resume`, :meth:`config_for`), restores the checkpoint into a
    model (:meth:`restore`), tidies the folder for a resumed run
    (:meth:`prepare`), times the epochs (:meth:`start`, :meth:`start_epoch`,
    :meth:`epoch_seconds`, :meth:`seconds`) and writes ``resume.log`` and
    ``model.h5``. It writes nothing until asked: under a multi-worker strategy
    only the chief asks.

    Args:
        out_dir: the run folder (it need not exist yet).
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir)
        self._header: weights_io.WeightsHeader | None = None
        self._header_stamp: tuple[int, int, int] | None = None
        self._started = self._epoch_started = time.perf_counter()

    def __repr__(self) -> str:
        return f"Run({str(self.out_dir)!r})"

    # -- the files ---------------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path:
        """``out_dir/checkpoint.h5``."""
        return self.out_dir / CHECKPOINT_NAME

    @property
    def final_path(self) -> Path:
        """``out_dir/model.h5``, written when training completes."""
        return self.out_dir / FINAL_NAME

    @property
    def log_path(self) -> Path:
        """``out_dir/log.csv``."""
        return self.out_dir / LOG_NAME

    @property
    def resume_log_path(self) -> Path:
        """``out_dir/resume.log``."""
        return self.out_dir / RESUME_LOG_NAME

    @property
    def samples_dir(self) -> Path:
        """``out_dir/samples``, the folder of the sample grids."""
        return self.out_dir / SAMPLES_DIR

    @property
    def tensorboard_dir(self) -> Path:
        """``out_dir/tensorboard``."""
        return self.out_dir / TENSORBOARD_DIR

    def last_logged_epoch(self) -> int:
        """The last epoch ``log.csv`` records a row for (0 when none)."""
        return last_logged_epoch(self.out_dir)

    def error(self, reason: BaseException | str) -> GenzooError:
        """The error for a checkpoint that cannot be resumed from (see :func:`resume_error`)."""
        return resume_error(self.out_dir, reason)

    # -- the checkpoint ----------------------------------------------------------

    def header(self) -> weights_io.WeightsHeader | None:
        """The header of ``checkpoint.h5``, ``None`` when there is none.

        The file is read once and the header kept for as long as the file is the
        same one (a checkpoint written since, by training or another process, is
        read anew).

        Raises:
            GenzooError: the checkpoint exists but cannot be read (see :func:`resume_error`).
        """
        try:
            stat = self.checkpoint_path.stat()
        except FileNotFoundError:
            stat = None
        if stat is None or not self.checkpoint_path.is_file():
            self._header = self._header_stamp = None
            return None
        # Each checkpoint is written to a new file renamed into place: another inode.
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._header_stamp:
            try:
                self._header = weights_io.read_header(self.checkpoint_path)
            except WeightsError as exc:
                raise self.error(exc) from None
            self._header_stamp = stamp
        return self._header

    def config_for(self, spec: Any, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The config to build the run's model from: ``config`` over the checkpoint's.

        A new run resolves ``config`` alone; a resumed run starts from the
        checkpoint's config, so the same command resumes. Whether the result may
        resume is for :meth:`resume` to say.

        Raises:
            GenzooError: the checkpoint cannot be read or is another model's.
        """
        header = self.header()
        if header is None:
            return spec.resolve_config(config)
        self._check_model(header, spec)
        return spec.resolve_config({**header.config, **(config or {})})

    def _check_model(self, header: weights_io.WeightsHeader, spec: Any) -> None:
        if header.model != spec.name:
            raise GenzooError(
                f"{self.checkpoint_path} is a checkpoint of model '{header.model}', not "
                f"'{spec.name}': train into another --out (out_dir)"
            )

    def resume(
        self,
        spec: Any,
        config: Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
    ) -> Resume | None:
        """Decide whether a model of ``spec`` with ``config`` resumes here, and what changed.

        Args:
            spec: the model's :class:`~genzoo_core.ModelSpec`.
            config: the model's config.
            options: the trainer's ``batch_size``, ``epochs``, ``steps_per_epoch``
                and ``precision`` for this run; their changes are recorded and
                ``epochs`` is checked.
                Without them only the config is decided on.

        Returns:
            ``None`` for a new run (no checkpoint), else the :class:`Resume`.

        Raises:
            GenzooError: the checkpoint cannot be read, is another model's,
                differs in an architecture key, or holds more epochs than asked
                for. Nothing is changed.
        """
        header = self.header()
        if header is None:
            return None
        self._check_model(header, spec)
        path, epoch = self.checkpoint_path, int(header.training_state.get("epoch", 0))
        training = spec.training_keys
        changes = []
        # A key the model gained after the checkpoint was written had its default then.
        stored = {**spec.default_config, **header.config}
        for key in sorted(set(config) | set(stored)):
            here, there = config.get(key), stored.get(key)
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
        if options is not None:
            if epoch > options["epochs"]:
                raise GenzooError(
                    f"{path} already holds {epoch} epochs, more than the {options['epochs']} "
                    f"asked for: pass --epochs {epoch} or more to go on, or train into "
                    f"another --out"
                )
            changes += self._option_changes(header, epoch, options, changes)
        return Resume(header, epoch, changes)

    @staticmethod
    def _option_changes(
        header: weights_io.WeightsHeader,
        epoch: int,
        options: Mapping[str, Any],
        config_changes: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Changes of the trainer's own options since the checkpoint was written."""
        state = header.training_state
        config_moves = {(c["key"], _show(c["from"]), _show(c["to"])) for c in config_changes}
        changes = []
        for key in TRAINER_KEYS:
            if key not in state or state[key] == options.get(key):
                continue  # checkpoints of older versions do not store the options
            if key not in options:
                continue  # a caller that does not say (the precision, say) changes nothing
            if (key, _show(state[key]), _show(options.get(key))) in config_moves:
                continue  # the config key of the same name already says it
            changes.append({"epoch": epoch, "key": f"trainer.{key}", "from": state[key],
                            "to": options.get(key)})
        return changes

    def restore(self, model: Any, resume: Resume) -> None:
        """Load the checkpoint ``resume`` decided on into ``model`` and its optimizers.

        The learning rates of ``model``'s config stay in force when the config
        changed, although the optimizer state comes from the checkpoint.

        Raises:
            GenzooError: the checkpoint cannot be loaded; the model is unchanged.
        """
        optimizers = model.optimizers
        # The optimizer state holds each learning rate as a variable: keep the configured one.
        rates = {
            (name, index): variable.numpy()
            for name, optimizer in optimizers.items()
            for index, variable in enumerate(optimizer.variables)
            if variable.name == "learning_rate"
        }
        try:
            # Passing the header also skips load_weights' check that the file fits its own
            # config: resume() made that config this model's, but for training keys (which
            # change no variable), and load_weights compares the file with this model.
            weights_io.load_weights(model, self.checkpoint_path, optimizers=optimizers,
                                    header=resume.header)
        except WeightsError as exc:
            raise self.error(exc) from None
        if any(not c["key"].startswith("trainer.") for c in resume.changes):
            for (name, index), value in rates.items():
                optimizers[name].variables[index].assign(value)

    # -- writing the folder ------------------------------------------------------

    def check(self) -> bool:
        """Refuse a folder that cannot hold a run; return whether it must be created."""
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

    def prepare(self, epoch: int) -> None:
        """Create the folder, remove stale temp files, drop what lies beyond ``epoch``."""
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GenzooError(f"cannot create {self.out_dir} ({exc.strerror}): choose "
                              f"another --out (out_dir)") from None
        remove_stale_temp_files(self.out_dir)
        trim_run(self.out_dir, epoch)

    def remove_if_empty(self) -> None:
        """Remove the folder (and ``samples/``) when nothing was written to it."""
        for folder in (self.samples_dir, self.out_dir):
            try:
                folder.rmdir()
            except OSError:  # absent, or holds files: keep it
                pass

    def resume_line(self, resume: Resume, epochs: int) -> str:
        """What a resume prints: ``resuming from PATH: N of M epochs done; changed: ...``."""
        return (f"resuming from {self.checkpoint_path}: {resume.epoch} of {epochs} epochs done"
                + (f"; changed: {resume.said}" if resume.said else ""))

    def log_resume(self, resume: Resume, epochs: int) -> None:
        """Append the resume's line (UTC time, epoch, changes) to ``resume.log``."""
        path = self.resume_log_path
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        before = path.read_text(encoding="utf-8") if path.is_file() else ""
        if before and not before.endswith("\n"):
            before += "\n"
        with atomic_path(path) as tmp:
            Path(tmp).write_text(
                f"{before}{stamp} resumed at epoch {resume.epoch} of {epochs}: "
                f"{resume.said or 'no changes'}\n", encoding="utf-8")

    def save_final(
        self,
        model: Any,
        metadata: Mapping[str, Any],
        metrics: Mapping[str, float],
        epochs: int,
        seconds: float | None = None,
    ) -> None:
        """Write ``model.h5``: the weights, ``metadata``, the final ``metrics`` and the time.

        ``seconds`` is this call's training time, default :meth:`seconds`. First
        the optimizers' moving averages, if any, become the weights
        (:meth:`~genzoo_core.GenerativeModel.finalize_weights`); the file's
        ``averaged_weights`` metadata names those optimizers.
        """
        metadata = dict(metadata)
        finalize = getattr(model, "finalize_weights", None)
        averaged = finalize() if callable(finalize) else []
        if averaged:  # the file holds averaged weights; say of which optimizers
            metadata["averaged_weights"] = list(averaged)
        # The per-epoch times of the whole run (resumes included), from log.csv.
        per_epoch = epoch_seconds(self.out_dir)
        metadata["epoch_seconds"] = per_epoch
        previews = epoch_seconds(self.out_dir, "preview_seconds")
        if previews:  # the sample grids' times, apart from the training they follow
            metadata["preview_seconds"] = previews
        metadata["metrics"] = {
            **{k: round(v, 6) for k, v in metrics.items()
               if k not in ("seconds", "preview_seconds")},
            "epochs": epochs,
            "train_seconds": round(sum(per_epoch), 1),
            "train_seconds_this_run": round(self.seconds() if seconds is None else seconds, 1),
        }
        weights_io.save_weights(model, self.final_path, metadata=metadata)

    # -- timing ------------------------------------------------------------------

    def start(self) -> None:
        """Start timing this call's training (the total of :meth:`seconds`)."""
        self._started = self._epoch_started = time.perf_counter()

    def start_epoch(self) -> None:
        """Start timing an epoch."""
        self._epoch_started = time.perf_counter()

    def epoch_seconds(self) -> float:
        """Seconds since :meth:`start_epoch` (the ``seconds`` column of ``log.csv``)."""
        return time.perf_counter() - self._epoch_started

    def seconds(self) -> float:
        """Seconds since :meth:`start` (``train_seconds_this_run`` of ``model.h5``)."""
        return time.perf_counter() - self._started
