"""Whether the Trainer compiles the train step with XLA: measured once per setup, then cached.

XLA makes some train steps faster and others slower, and which depends on the
machine as much as on the model (a DCGAN step measured 103 ms without XLA and
131 ms with it on one CPU, the opposite on another). So no model fixes the
choice: under ``jit_compile="auto"`` (the default) on a single replica, the
:class:`~genzoo_core.Trainer` measures at the start of ``fit``, on the real model,
the first batch of the run's data and the run's device:

1. it builds the step both ways (``tf.function(model.train_step,
   jit_compile=True)`` and the plain ``tf.function``, each inside
   ``strategy.run`` as training runs it) and runs each once, which compiles it;
2. it times the two alternately, at most :data:`PROBE_STEPS` steps each, and
   stops early once another pair of steps would take the probe past
   :data:`PROBE_SECONDS` seconds (compilation included; at least one pair is
   always timed);
3. XLA wins when its median step is at least :data:`XLA_MARGIN` faster than the
   plain one; otherwise (plain compiles faster) it is off. An XLA compilation or
   step that fails chooses plain, and says why.

The step it chose is the one training runs: nothing is compiled twice. Every
variable the probe's steps touch (the model's weights, each optimizer's slots and
iteration count, seed-generator states) is set back afterwards to its value
before the probe, and the batch it measured on is the first one training sees,
so training starts from exactly the state it would have started from. (Stateful
TensorFlow random ops such as ``tf.random.normal`` keep no variable: their draws
go on from where the probe left them.)

The decision is cached, one JSON file per setup in ``$GENZOO_HOME/jit/``
(default ``~/.cache/genzoo/jit``), keyed by the model's name and class, a hash of
its architecture config (the config without its training keys), the batch size,
the dtype policy, the devices (their types, the GPU names, the CPU model and the
number of CPUs), and the TensorFlow and Keras versions. A run with the same key
reads the decision instead of measuring. A cache file that cannot be read or
parsed is ignored and written anew; one that cannot be written is reported and
training goes on. Delete the folder to measure again.

``jit_compile=True``/``False`` (``genzoo train --jit on|off``) skips the probe,
and so does the environment variable :data:`ENV` (``GENZOO_JIT=on|off|auto``),
which sets the choice when ``jit_compile`` is not given (the test suites set
``GENZOO_JIT=off`` so that no test spends time measuring). Under a
multi-replica strategy ``auto`` means off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from genzoo_core._files import atomic_path
from genzoo_core.errors import GenzooError

ENV = "GENZOO_JIT"
"""The environment variable that sets the choice when ``jit_compile`` is not given."""

PROBE_STEPS = 8
"""The most steps the probe times each way (after one compiling step each)."""

PROBE_SECONDS = 60.0
"""The probe's wall-clock budget in seconds, compilation included."""

XLA_MARGIN = 0.03
"""How much faster XLA's median step must be (a fraction of the plain one) to be chosen."""

CACHE_DIR = "jit"
"""The folder of ``$GENZOO_HOME`` that holds the cached decisions."""

Setting = Literal["auto"] | bool
Source = Literal["explicit", "environment", "multi-replica", "probe", "cache"]

_WORDS: dict[str, Setting] = {
    "auto": "auto", "on": True, "off": False, "true": True, "false": False,
    "1": True, "0": False, "yes": True, "no": False,
}


def parse_setting(value: bool | str | None) -> tuple[Setting, Source | None]:
    """Resolve a ``jit_compile`` argument against :data:`ENV`.

    Returns the setting (``True``, ``False`` or ``"auto"``) and where a fixed
    choice came from (``"explicit"``, ``"environment"``), ``None`` for ``"auto"``.
    ``None`` (not given) follows ``GENZOO_JIT``, else ``"auto"``; ``True``,
    ``False``, ``"on"``, ``"off"`` and ``"auto"`` are used as given.

    Raises:
        GenzooError: an argument or a ``GENZOO_JIT`` value that is none of these.
    """
    if isinstance(value, bool):
        return value, "explicit"
    if value is None:
        raw = os.environ.get(ENV, "").strip().lower()
        if not raw:
            return "auto", None
        if raw not in _WORDS:
            raise GenzooError(f"{ENV} must be on, off or auto, got {os.environ[ENV]!r}")
        setting = _WORDS[raw]
        return setting, None if setting == "auto" else "environment"
    if isinstance(value, str) and value.strip().lower() in ("auto", "on", "off"):
        setting = _WORDS[value.strip().lower()]
        return setting, None if setting == "auto" else "explicit"
    raise GenzooError(f"jit_compile must be True, False, 'auto' (or 'on'/'off'), got {value!r}")


@dataclass(frozen=True)
class JitDecision:
    """Whether the Trainer compiles with XLA, and why.

    Attributes:
        choice: compile each replica's step with XLA.
        source: ``"explicit"`` (the ``jit_compile`` argument), ``"environment"``
            (``GENZOO_JIT``), ``"multi-replica"`` (``auto`` under a multi-replica
            strategy), ``"probe"`` (measured now) or ``"cache"`` (measured earlier).
        xla_ms: the probe's median ms/step with XLA (``None`` when not measured).
        plain_ms: the probe's median ms/step without XLA.
        probe_seconds: how long the probe took, compilation included.
        steps: how many steps the probe timed each way.
        error: why XLA was not measured (its compilation or a step failed).
        date: when the probe ran (UTC, ISO 8601).
        cache_path: the cache file the decision was read from or written to.
        cache_error: why the decision could not be cached.
    """

    choice: bool
    source: Source
    xla_ms: float | None = None
    plain_ms: float | None = None
    probe_seconds: float | None = None
    steps: int | None = None
    error: str | None = None
    date: str | None = None
    cache_path: str | None = None
    cache_error: str | None = None

    @property
    def measured(self) -> bool:
        """Whether a probe (now or earlier) made the decision."""
        return self.source in ("probe", "cache")

    def metadata(self) -> dict[str, Any]:
        """What a run stores about the decision (``model.h5``'s ``jit_compile``)."""
        record: dict[str, Any] = {"choice": self.choice, "source": self.source}
        if self.measured:
            record.update(xla_ms=self.xla_ms, plain_ms=self.plain_ms,
                          probe_seconds=self.probe_seconds, steps=self.steps, date=self.date)
            if self.error:
                record["error"] = self.error
        return record

    def describe(self) -> str:
        """One line saying what was chosen and why (printed by a verbose Trainer)."""
        choice = "on" if self.choice else "off"
        if self.source == "probe":
            measured = (f"compiling or running the step with XLA failed ({self.error})"
                        if self.error else
                        f"{_ms(self.xla_ms)} ms/step with XLA, {_ms(self.plain_ms)} ms/step "
                        f"without")
            cached = (f"cached in {self.cache_path}" if self.cache_error is None
                      else f"not cached: {self.cache_error}")
            return f"XLA probe: {measured} -> {choice} (probe {self.probe_seconds:.1f} s; {cached})"
        if self.source == "cache":
            date = (self.date or "?")[:10]
            measured = (f"XLA failed: {self.error}" if self.error else
                        f"{_ms(self.xla_ms)} ms/step with XLA, {_ms(self.plain_ms)} without")
            return f"XLA: {choice} (cached decision from {date}: {measured}; {self.cache_path})"
        reason = {"explicit": "jit_compile", "environment": ENV,
                  "multi-replica": "auto under a multi-replica strategy"}[self.source]
        return f"XLA: {choice} ({reason})"


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


# -- the cache -----------------------------------------------------------------------------


def _cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                name, sep, value = line.partition(":")
                if sep and name.strip() in ("model name", "Hardware", "cpu model"):
                    return value.strip()
    return platform.processor() or platform.machine()


def devices() -> dict[str, Any]:
    """The device part of the cache key: device types and counts, GPU names, CPU model."""
    import tensorflow as tf

    counts: dict[str, int] = {}
    for device in tf.config.list_logical_devices():
        counts[device.device_type] = counts.get(device.device_type, 0) + 1
    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            gpus.append(str(tf.config.experimental.get_device_details(gpu).get("device_name",
                                                                                 "GPU")))
        except Exception:  # noqa: BLE001 - the details are a nicety of some builds
            gpus.append("GPU")
    return {"logical_devices": dict(sorted(counts.items())), "gpus": gpus,
            "cpu": _cpu_model(), "cpu_count": os.cpu_count()}


def cache_key(model: Any, batch_size: int) -> dict[str, Any]:
    """What the decision depends on: the model and its architecture, batch, dtypes, machine."""
    import keras
    import tensorflow as tf

    spec = getattr(model, "spec", None)
    training = getattr(spec, "training_keys", frozenset())
    config = {k: v for k, v in dict(getattr(model, "config", {})).items() if k not in training}
    config_hash = hashlib.sha256(
        json.dumps(config, sort_keys=True, default=str).encode()
    ).hexdigest()
    cls = type(model)
    policy = getattr(model, "dtype_policy", None)
    return {
        "model": getattr(spec, "name", cls.__name__),
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "config_sha256": config_hash,
        "batch_size": int(batch_size),
        "dtype_policy": keras.config.dtype_policy().name,
        "model_dtype_policy": getattr(policy, "name", str(policy)),
        **devices(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def cache_path(key: Mapping[str, Any]) -> Path:
    """The cache file of ``key``: ``$GENZOO_HOME/jit/<model>-<hash of the key>.json``."""
    from genzoo_core.hub import genzoo_home

    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    return genzoo_home() / CACHE_DIR / f"{key['model']}-{digest[:16]}.json"


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def read_cache(key: Mapping[str, Any]) -> JitDecision | None:
    """The cached decision for ``key``; ``None`` when absent, unreadable or not for ``key``."""
    path = cache_path(key)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        expected = json.loads(json.dumps(key, default=str))
        if not isinstance(record, dict) or record.get("key") != expected:
            return None
        choice = record["choice"]
        if not isinstance(choice, bool):
            return None
        error = record.get("error")
        return JitDecision(
            choice=choice, source="cache",
            xla_ms=_number(record.get("xla_ms")), plain_ms=_number(record.get("plain_ms")),
            probe_seconds=_number(record.get("probe_seconds")),
            steps=int(record["steps"]) if isinstance(record.get("steps"), int) else None,
            error=str(error) if error else None, date=str(record.get("date") or ""),
            cache_path=str(path),
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None  # a missing or damaged file: measure again and write it anew


def write_cache(key: Mapping[str, Any], decision: JitDecision) -> tuple[Path, str | None]:
    """Write ``decision`` for ``key`` atomically; return the path and the error, if any."""
    path = cache_path(key)
    record = {"key": dict(key), "choice": decision.choice, "xla_ms": decision.xla_ms,
              "plain_ms": decision.plain_ms, "probe_seconds": decision.probe_seconds,
              "steps": decision.steps, "error": decision.error, "date": decision.date}
    try:
        with atomic_path(path) as tmp:
            Path(tmp).write_text(json.dumps(record, indent=2, default=str) + "\n",
                                 encoding="utf-8")
    except OSError as exc:
        return path, f"{path}: {exc.strerror or exc}"
    return path, None


# -- the probe -----------------------------------------------------------------------------


def _time_step(step: Callable[[Any], Mapping[str, Any]], batch: Any, xla: bool) -> float:
    """Seconds one call of ``step`` takes, until its losses are ready (as training waits)."""
    start = time.perf_counter()
    logs = step(batch)
    for value in logs.values():
        float(value)
    return time.perf_counter() - start


class _Snapshot:
    """The values of a set of variables, to set them back."""

    def __init__(self) -> None:
        self._saved: dict[int, tuple[Any, Any]] = {}

    def add(self, variables: Iterable[Any]) -> None:
        """Remember the current value of each variable not seen before."""
        for variable in variables:
            handle = getattr(variable, "_value", None)  # a Keras variable's tf.Variable
            if not hasattr(handle, "assign"):
                handle = variable
            if id(handle) not in self._saved:
                self._saved[id(handle)] = (handle, handle.numpy().copy())

    def restore(self) -> None:
        """Set every remembered variable back to its remembered value."""
        for variable, value in self._saved.values():
            variable.assign(value)

    def __len__(self) -> int:
        return len(self._saved)


def state_variables(model: Any) -> list[Any]:
    """The model's variables (seed-generator states included) and every optimizer's."""
    variables = list(model.variables)
    for optimizer in getattr(model, "optimizers", {}).values():
        variables.extend(optimizer.variables)
    return variables


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip().rstrip(":")[:300]


@dataclass(frozen=True)
class ProbeResult:
    """What :func:`probe` measured."""

    choice: bool
    xla_ms: float | None
    plain_ms: float
    seconds: float
    steps: int
    error: str | None


def probe(
    model: Any,
    make_step: Callable[[bool], Callable[[Any], Mapping[str, Any]]],
    batch: Any,
    *,
    max_steps: int = PROBE_STEPS,
    budget: float = PROBE_SECONDS,
    margin: float = XLA_MARGIN,
) -> tuple[ProbeResult, Callable[[Any], Mapping[str, Any]]]:
    """Time ``make_step(True)`` (XLA) against ``make_step(False)`` on ``batch``.

    Returns what was measured and the chosen step, already compiled. Every
    variable the steps use is set back to its value before the probe, also when
    a step raises. An XLA step that fails chooses plain; a plain step that fails
    raises, as training would.
    """
    start = time.perf_counter()
    plain, xla = make_step(False), make_step(True)
    saved = _Snapshot()
    saved.add(state_variables(model))
    try:
        # Trace before running, so that variables a step captures beyond the model's and
        # the optimizers' (a global seed generator, say) are saved before either changes them.
        saved.add(plain.get_concrete_function(batch).variables)
        _time_step(plain, batch, False)  # compiles
        error = None
        try:
            saved.add(xla.get_concrete_function(batch).variables)
            _time_step(xla, batch, True)  # compiles with XLA
        except Exception as exc:  # noqa: BLE001 - any XLA failure means: train without it
            error = _first_line(exc)
        plain_times: list[float] = []
        xla_times: list[float] = []
        while error is None and len(plain_times) < max(1, max_steps):
            pair_start = time.perf_counter()
            plain_times.append(_time_step(plain, batch, False))
            try:
                xla_times.append(_time_step(xla, batch, True))
            except Exception as exc:  # noqa: BLE001
                error = _first_line(exc)
                break
            now = time.perf_counter()
            if now - start + (now - pair_start) > budget:
                break
        if not plain_times:  # XLA failed: one plain step still gives its speed
            plain_times.append(_time_step(plain, batch, False))
    finally:
        saved.restore()
    plain_ms = statistics.median(plain_times) * 1000
    xla_ms = statistics.median(xla_times) * 1000 if error is None else None
    choice = xla_ms is not None and xla_ms < plain_ms * (1 - margin)
    result = ProbeResult(choice=choice, xla_ms=xla_ms, plain_ms=plain_ms,
                         seconds=time.perf_counter() - start, steps=len(xla_times),
                         error=error)
    return result, xla if choice else plain


def decide(
    model: Any,
    batch_size: int,
    make_step: Callable[[bool], Callable[[Any], Mapping[str, Any]]],
    first_batch: Callable[[], Any],
    **probe_options: Any,
) -> tuple[JitDecision, Callable[[Any], Mapping[str, Any]]]:
    """The cached decision for this setup, else a :func:`probe` (cached afterwards).

    ``first_batch()`` gives the batch to measure on; it is called only when
    measuring. Returns the decision and the step to train with.
    """
    key = cache_key(model, batch_size)
    cached = read_cache(key)
    if cached is not None:
        return cached, make_step(cached.choice)
    result, step = probe(model, make_step, first_batch(), **probe_options)
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    decision = JitDecision(
        choice=result.choice, source="probe",
        xla_ms=None if result.xla_ms is None else round(result.xla_ms, 2),
        plain_ms=round(result.plain_ms, 2), probe_seconds=round(result.seconds, 2),
        steps=result.steps, error=result.error, date=date,
    )
    path, error = write_cache(key, decision)
    return dataclasses.replace(decision, cache_path=str(path), cache_error=error), step
