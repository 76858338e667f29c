"""The genzoo trainer: each model's own ``train_step`` in a compiled loop.

Why not ``Model.fit``? ``fit`` fails under ``MultiWorkerMirroredStrategy`` in
Keras 3.15 (tensorflow/tensorflow#72388), while a ``tf.function`` around
``strategy.run(model.train_step)`` works under every strategy. Everything else
is Keras: models are ``keras.Model`` subclasses with a ``train_step``, and the
loop drives a ``keras.callbacks.CallbackList`` (the Keras progress bar, the
checkpoint, grid and CSV callbacks of :mod:`genzoo_core.callbacks`, and any
callbacks you pass).

What a run writes to ``out_dir``, and when it resumes, is the business of its
:class:`~genzoo_core.run.Run` (see :mod:`genzoo_core.run` for the files and the
resume rules); the trainer only runs the epochs.

Under a multi-worker strategy only the chief writes files, and every worker
reads ``checkpoint.h5`` to resume: give all workers the same, shared ``out_dir``
(as Keras' ``BackupAndRestore`` also requires).

The names of the run folder and the callbacks stay importable from here.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import keras
import tensorflow as tf

from genzoo_core.callbacks import (
    Checkpoint,
    CSVLog,
    LearningRateScheduler,
    NaNGuard,
    SampleGrid,
)
from genzoo_core.data import DataSource, is_data_source
from genzoo_core.errors import DataError, GenzooError, TrainingDiverged
from genzoo_core.jit import JitDecision, decide, parse_setting
from genzoo_core.precision import training_precision
from genzoo_core.run import (
    CHECKPOINT_NAME,
    FINAL_NAME,
    LOG_NAME,
    RESUME_LOG_NAME,
    SAMPLES_DIR,
    TRAINER_KEYS,
    Resume,
    Run,
    last_logged_epoch,
    read_checkpoint_header,
    recorded_changes,
    remove_stale_temp_files,
    resume_error,
    trim_run,
)
from genzoo_core.spec_enums import Capability

__all__ = [
    "CHECKPOINT_NAME", "FINAL_NAME", "LOG_NAME", "RESUME_LOG_NAME", "SAMPLES_DIR",
    "TRAINER_KEYS", "CSVLog", "Checkpoint", "NaNGuard", "Run", "SampleGrid", "Trainer",
    "is_chief", "last_logged_epoch", "read_checkpoint_header", "recorded_changes",
    "remove_stale_temp_files", "resume_error", "trim_run",
]


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True unless this process is a non-chief worker of a multi-worker strategy."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


class Trainer:
    """Train a :class:`~genzoo_core.GenerativeModel` with checkpoints and resume.

    Args:
        model: the model; under a strategy, create it inside ``strategy.scope()``.
        out_dir: where checkpoints, grids, logs and the final weights go: a folder,
            or the :class:`~genzoo_core.run.Run` that owns it (:func:`genzoo_core.train`
            hands in the one that chose the model's config, so the checkpoint's
            header is read once).
        strategy: any ``tf.distribute.Strategy``; default the current one.
        batch_size: global batch size; default ``model.config["batch_size"]``.
        callbacks: extra Keras callbacks.
        preview_count: images in each epoch's sample grid (0 disables the grids).
        preview_seed: seed of the grids, fixed so epochs are comparable.
        seed: shuffling seed; workers of one multi-worker job must share it.
        jit_compile: compile each replica's step with XLA: ``True``, ``False`` or
            ``"auto"`` (measure at the start of :meth:`fit` on the model, the
            run's data and device, and cache the decision; see
            :mod:`genzoo_core.jit`). ``None`` follows the environment variable
            ``GENZOO_JIT`` (``on``, ``off`` or ``auto``) and is ``"auto"`` when it is
            unset. ``"auto"`` is off under a multi-replica strategy.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch, ``"auto"``: 1 on
            a terminal, else 2.
        tensorboard: also write TensorBoard logs to ``out_dir/tensorboard``
            (needs ``pip install genzoo-core[tensorboard]``).
        metadata: stored in the checkpoint and final weights (``dataset``,
            ``training_command``, ...).
        learning_rate_schedule: a per-epoch factor of every optimizer's configured
            rate: a :class:`~genzoo_core.recipes.LearningRateSchedule`, its kind
            name (``"linear-decay"``) or its table; default constant.

    The precision is the model's own: a model built under
    :func:`~genzoo_core.precision.precision_scope` (as :func:`genzoo_core.train`
    with ``precision=`` builds it) trains in that precision (:attr:`precision`),
    which the checkpoint records, and a resumed run records a change of it as
    ``trainer.precision``; ``model.h5`` records it as ``training_precision``.
    A model built under ``mixed_float16`` is refused on a machine without a GPU.
    """

    def __init__(
        self,
        model: Any,
        out_dir: str | os.PathLike[str] | Run,
        *,
        strategy: tf.distribute.Strategy | None = None,
        batch_size: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        preview_count: int = 64,
        preview_seed: int = 0,
        seed: int = 0,
        jit_compile: bool | Literal["auto", "on", "off"] | None = None,
        verbose: int | str = "auto",
        tensorboard: bool = False,
        metadata: Mapping[str, Any] | None = None,
        learning_rate_schedule: Any = None,
    ) -> None:
        from genzoo_core.backend import require_tensorflow
        from genzoo_core.recipes import LearningRateSchedule

        require_tensorflow("training")  # one line, before anything is built or read
        self.model = model
        self.run = out_dir if isinstance(out_dir, Run) else Run(out_dir)
        self.strategy = strategy or tf.distribute.get_strategy()
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise GenzooError(f"batch_size must be at least 1, got {batch_size!r}")
        self.batch_size = int(batch_size or model.config.get("batch_size") or 64)
        self.callbacks = list(callbacks)
        # An auxiliary network draws no images, so its runs have no sample grids.
        drawn = Capability.SAMPLE in getattr(getattr(model, "spec", None), "capabilities",
                                             {Capability.SAMPLE})
        self.preview_count = preview_count if drawn else 0
        self.preview_seed = preview_seed
        self.seed = seed
        setting, source = parse_setting(jit_compile)
        self.jit_probe: dict[str, Any] | None = None
        """The measured decision (:meth:`JitDecision.metadata`) once ``fit`` made it."""
        self._jit: JitDecision | None = None
        if setting == "auto" and self.strategy.num_replicas_in_sync > 1:
            self._jit = JitDecision(False, "multi-replica")
        elif setting != "auto":
            self._jit = JitDecision(bool(setting), source or "explicit")
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
        # The layers took their dtype policy when the model was built: that is the precision.
        self.precision = training_precision(model)
        self._check_scope()
        with self.strategy.scope():
            if not model._genzoo_optimizers:
                model.compile()
            model.build_optimizers()
        self.learning_rate_schedule = LearningRateSchedule.parse(learning_rate_schedule)
        # Before any restore: the configured rates the schedule multiplies.
        self._base_rates = {name: float(keras.ops.convert_to_numpy(opt.learning_rate))
                            for name, opt in model.optimizers.items()}
        self._step = self._make_step(self._jit.choice) if self._jit is not None else None

    @property
    def jit_compile(self) -> bool | None:
        """Whether the step is compiled with XLA; ``None`` until ``fit`` resolves ``"auto"``."""
        return self._jit.choice if self._jit is not None else None

    @property
    def jit_decision(self) -> JitDecision | None:
        """Whether the step is compiled with XLA and why; ``None`` until ``fit`` decides."""
        return self._jit

    @property
    def out_dir(self) -> Path:
        """The run folder."""
        return self.run.out_dir

    @property
    def checkpoint_path(self) -> Path:
        """``out_dir/checkpoint.h5``."""
        return self.run.checkpoint_path

    @property
    def final_path(self) -> Path:
        """``out_dir/model.h5``, written when training completes."""
        return self.run.final_path

    def _check_scope(self) -> None:
        if self.strategy.num_replicas_in_sync == 1:
            return
        variable = self.model.variables[0].value if self.model.variables else None
        if getattr(variable, "_distribute_strategy", None) is not self.strategy:
            raise GenzooError(
                "the model was not created under this strategy: build it inside "
                "'with strategy.scope():' (genzoo_core.train does this for you)"
            )

    def _make_step(self, jit_compile: bool) -> Any:
        """The compiled training step: ``model.train_step`` on each replica, losses averaged."""
        model, strategy = self.model, self.strategy
        replica_step = model.train_step
        if jit_compile:  # XLA compiles the per-replica step, as Keras' own fit does
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
        if is_data_source(data):
            data = self.model.prepare_data(data)  # checks the data by default
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

    # -- resume ------------------------------------------------------------------

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
        resume = self._restore(None)
        return resume.epoch if resume is not None else 0

    def _restore(self, options: Mapping[str, Any] | None) -> Resume | None:
        """Ask the run whether and how to resume (see :meth:`Run.resume`); load if so."""
        resume = self.run.resume(self.model.spec, self.model.config, options)
        if resume is not None:
            self.run.restore(self.model, resume)
        return resume

    def _learning_rate_advice(self) -> str:
        """``--config KEY=VALUE`` lowering each learning rate of the config tenfold."""
        pairs = [
            f"--config {key}={value / 10:g}"
            for key, value in self.model.config.items()
            if ("learning_rate" in key or key in ("lr", "g_lr", "d_lr"))
            and isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        ]
        return f" ({' '.join(pairs)})" if pairs else ""

    # -- the loop ----------------------------------------------------------------

    def fit(
        self,
        data: DataSource | tf.data.Dataset,
        *,
        epochs: int,
        steps_per_epoch: int | None = None,
    ) -> keras.callbacks.History:
        """Train until ``epochs`` epochs are complete, resuming from ``out_dir``.

        See :mod:`genzoo_core.run` for what a run writes and the resume rules.

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
        run = self.run
        create = run.check() if self.chief else False
        dataset, steps = self._dataset(data, capped=steps_per_epoch is not None)
        if steps_per_epoch:
            steps = min(steps, steps_per_epoch) if steps > 0 else steps_per_epoch
        state = {"batch_size": self.batch_size, "epochs": epochs,
                 "steps_per_epoch": steps_per_epoch, "precision": self.precision}
        resume = self._restore(state)
        initial_epoch = resume.epoch if resume is not None else 0
        if self.chief:
            run.prepare(initial_epoch)
        metadata = {**self.metadata, "training_precision": self.precision}
        if resume is not None and initial_epoch:
            if resume.history:
                metadata["config_changes"] = resume.history
            if self.verbose:
                print(run.resume_line(resume, epochs))
            if self.chief:
                run.log_resume(resume, epochs)
        if initial_epoch == epochs:
            assert resume is not None
            if self.chief and not self.final_path.is_file():
                # A kill between the last checkpoint and model.h5: finish the run.
                metrics = resume.header.metadata.get("metrics", {})
                run.save_final(self.model, metadata, metrics if isinstance(metrics, dict)
                               else {}, epochs, seconds=0.0)
            if self.verbose:
                print(f"{self.out_dir}: all {epochs} epochs already complete "
                      f"({self.final_path})")
            self._wait_for_workers()
            return keras.callbacks.History()

        # "auto": measure XLA on the first batch, which the first epoch then trains on first.
        first: list[Any] = []
        iterator: Any = None
        if self._jit is None:
            iterator = iter(dataset)

            def first_batch() -> Any:
                try:
                    first.append(next(iterator))
                except StopIteration:
                    raise DataError(f"the data gave no batch of {self.batch_size} examples: "
                                    f"lower --batch-size") from None
                return first[0]

            self._jit, self._step = decide(self.model, self.batch_size, self._make_step,
                                           first_batch)
            self.jit_probe = self._jit.metadata()
            if self.verbose:
                print(self._jit.describe())
        metadata["jit_compile"] = self._jit.metadata()

        guard = NaNGuard()
        history = keras.callbacks.History()
        # Order matters: the progress bar's epoch line before the (slow) grid, so its ms/step
        # times the steps alone; the checkpoint last, so it is never newer than log and grids.
        callbacks: list[keras.callbacks.Callback] = [guard, history]
        if self.learning_rate_schedule.kind != "constant":
            scheduler = LearningRateScheduler(self.model.optimizers,
                                              self.learning_rate_schedule, epochs)
            scheduler.base_rates = dict(self._base_rates)
            callbacks.insert(0, scheduler)
        if self.verbose > 0:
            callbacks.append(keras.callbacks.ProgbarLogger())
        checkpoint = None
        if self.chief:
            if self.preview_count:
                callbacks.append(SampleGrid(run.samples_dir, self.preview_count,
                                            self.preview_seed, verbose=self.verbose))
            callbacks.append(CSVLog(run.log_path, append=initial_epoch > 0))
            if self.tensorboard:
                callbacks.append(keras.callbacks.TensorBoard(
                    str(run.tensorboard_dir), write_graph=False, update_freq="epoch"
                ))
            checkpoint = Checkpoint(run.checkpoint_path, metadata, state)
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
        run.start()
        epoch_logs: dict[str, float] = {}
        completed = initial_epoch
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            run.start_epoch()
            totals: dict[str, float] = {}
            count = 0
            batches = dataset
            if iterator is not None:  # the first epoch goes on with the probe's iterator
                batches = itertools.chain(first, iterator) if first else iterator
                iterator = None
            for batch_index, batch in enumerate(batches):
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
            epoch_logs["seconds"] = run.epoch_seconds()
            callback_list.on_epoch_end(epoch, epoch_logs)
            completed = epoch + 1
            if self.model.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        if guard.failure:
            self._diverged(guard.failure, create)
        if self.chief and epoch_logs and completed >= epochs:
            run.save_final(self.model, metadata, epoch_logs, epochs)
        self._wait_for_workers()
        return history

    def _wait_for_workers(self) -> None:
        """Under several workers, return once all are here: the chief has written its files.

        So ``fit`` returns on no worker before ``model.h5`` exists (a recipe's next stage
        loads it). A one-value all-reduce over the workers is the barrier.
        """
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if resolver is None or not resolver.task_type:
            return
        strategy = self.strategy

        @tf.function
        def barrier() -> tf.Tensor:
            ones = strategy.run(lambda: tf.constant(1.0))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, ones, axis=None)

        barrier()

    def _diverged(self, failure: str, created: bool) -> None:
        """Raise :class:`TrainingDiverged` for ``failure``, saying how to go on."""
        advice = self._learning_rate_advice()
        good = self.run.header()  # the checkpoint training wrote since the resume
        if good is not None:
            raise TrainingDiverged(
                f"training diverged: {failure}; {self.checkpoint_path} keeps the "
                f"last good epoch ({good.training_state.get('epoch', '?')}). Lower the learning "
                f"rate{advice} or try another loss, then run again to resume (training keys "
                f"may change on resume)."
            )
        if created:
            self.run.remove_if_empty()
        raise TrainingDiverged(
            f"training diverged: {failure}; no epoch completed, so no checkpoint was "
            f"written: start again with a lower learning rate{advice}, or another loss."
        )
