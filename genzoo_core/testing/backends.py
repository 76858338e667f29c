"""Inference on another Keras backend, compared with TensorFlow's.

genzoo trains on TensorFlow and samples, translates and scores on any Keras
backend (see :mod:`genzoo_core.backend`). What runs where is checked by running
the same calls twice: once here, under TensorFlow, and once in a subprocess
started with ``KERAS_BACKEND=jax`` (or ``torch``), which loads the same weights
file through the public API (``genzoo_core.load``), makes the same calls with
the same seeds and inputs, and writes what they returned to an ``.npz`` file.

- :func:`inference_inputs` makes the inputs of the calls (the condition, and
  images for ``translate``, ``log_prob``, ``encode``), the same in every process.
- :func:`inference_outputs` makes the calls a model's capabilities declare and
  returns what each gave (or the error it raised).
- :func:`run_on_backend` runs a list of :class:`InferenceJob` in one subprocess on
  another backend: one process, one set of imports, however many models.
- :func:`compare_outputs` says where two backends' results differ beyond float
  tolerance, and how far they differ.

The conformance kit's :func:`~genzoo_core.testing.check_backend_inference` and
genzoo-core's own cross-backend test of every first-party weight are built on
these. ``python -m genzoo_core.testing.backends REQUEST.json`` is the subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genzoo_core.spec import Capability

__all__ = [
    "BACKEND_PACKAGES",
    "IMAGE_ATOL",
    "VALUE_RTOL",
    "InferenceJob",
    "backend_available",
    "compare_outputs",
    "inference_inputs",
    "inference_outputs",
    "run_on_backend",
]

IMAGE_ATOL = 1e-3
"""How far images (values in [0, 1]) may differ between backends: float round-off, which
an iterative sampler accumulates (10 DDIM steps: 1.4e-4), a quarter of one 8-bit level."""

VALUE_RTOL = 1e-4
"""How far other values (``log_prob`` in nats, codes) may differ, relative to their size."""

BACKEND_PACKAGES = {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow"}
"""Keras backend -> the package it needs."""

IMAGE_OUTPUTS = ("sample", "translate", "decode", "reconstruct")
"""Outputs that are images in [0, 1]."""

INPUT_COUNT = 2
"""Images per call unless a job says otherwise."""


def backend_available(backend: str) -> str | None:
    """``None`` when Keras can run on ``backend`` here, else why not (one line)."""
    package = BACKEND_PACKAGES.get(backend)
    if package is None:
        return f"'{backend}' is not a Keras backend genzoo knows ({', '.join(BACKEND_PACKAGES)})"
    if importlib.util.find_spec(package) is None:
        install = {"jax": "pip install 'jax[cpu]'", "torch": "pip install torch"}.get(
            backend, f"pip install {package}")
        return f"{package} is not installed ({install} to check inference on {backend})"
    return None


@dataclass
class InferenceJob:
    """One model's inference calls, to be made on each backend and compared.

    Attributes:
        id: the job's name in the results (``"dcgan/mnist"``).
        weights: a weights file or a pretrained name, loaded with ``genzoo_core.load``.
        n: images per call.
        seed: the seed of ``sample``.
        inputs: an ``.npz`` file holding the inputs (see :func:`inference_inputs`);
            ``None``: each process makes the default ones itself.
        text_condition: captions for ``sample`` (a text condition cannot go in an npz).
        sample_options: sampling options for every ``sample`` call.
        translate_options: keyword arguments for each extra ``translate`` call
            (``[{"direction": "BtoA"}]``); ``translate(x)`` itself is always made.
    """

    id: str
    weights: str
    n: int = INPUT_COUNT
    seed: int = 0
    inputs: str | None = None
    text_condition: list[str] | None = None
    sample_options: dict[str, Any] = field(default_factory=dict)
    translate_options: list[dict[str, Any]] = field(default_factory=list)


# -- the calls -------------------------------------------------------------------------


def _declared_shape(model: Any) -> tuple[int, ...] | None:
    shape = getattr(model, "sample_shape", None) or model.config.get("image_shape")
    return tuple(int(d) for d in shape) if shape else None


def inference_inputs(model: Any, n: int, condition: Any = None) -> dict[str, np.ndarray]:
    """The inputs of :func:`inference_outputs`: the same in every process for one model.

    Args:
        model: the loaded model.
        n: images per call.
        condition: the condition of ``sample`` (``None``: the kit's default for the
            model's data condition: class labels ``arange(n) % num_classes``,
            random input images for image-to-image models, the model's own
            default otherwise).

    Returns:
        ``"images"`` (random black-and-white images of the model's shape, for
        ``log_prob``, ``encode`` and ``reconstruct``), ``"translate"`` (the images ``translate``
        gets: the input images of the condition, else ``"images"``) and, where
        there is one, ``"condition"``.
    """
    from genzoo_core.testing.support import KitOptions, _condition

    if condition is None and Capability.SAMPLE in model.capabilities:
        condition = _condition(model, n, KitOptions())
    shape = _declared_shape(model) or (8, 8, 1)
    rng = np.random.default_rng(0)
    # Black and white: images every model scores (a Bernoulli model takes nothing else).
    images = (rng.uniform(size=(n, *shape)) < 0.3).astype(np.float32)
    inputs = {"images": images}
    if isinstance(condition, np.ndarray):
        inputs["condition"] = condition
    is_images = isinstance(condition, np.ndarray) and condition.ndim == 4
    inputs["translate"] = condition.astype(np.float32) if is_images else images
    return inputs


def _flatten(name: str, value: Any, into: dict[str, np.ndarray]) -> None:
    """``value`` (an array, or a tuple/list/dict of them) as ``name``, ``name.0``, ..."""
    from genzoo_core.backend import to_numpy

    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{name}.{key}", item, into)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten(f"{name}.{index}", item, into)
    else:
        into[name] = to_numpy(value)


def inference_outputs(
    model: Any,
    inputs: Mapping[str, Any],
    *,
    seed: int = 0,
    text_condition: Sequence[str] | None = None,
    sample_options: Mapping[str, Any] | None = None,
    translate_options: Sequence[Mapping[str, Any]] = (),
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Make every call the model's capabilities declare; return (outputs, errors).

    ``sample(n, condition, seed)``, ``translate(x)`` (and once per entry of
    ``translate_options``), ``log_prob(x)``, ``encode(x)`` and ``decode`` of what
    it gave, ``reconstruct(x)``. A call that raises is recorded in ``errors``
    (capability -> ``"Type: message"``) and the others still run.
    """
    outputs: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    capabilities = frozenset(model.capabilities)
    images = np.asarray(inputs["images"])
    n = len(images)

    def call(name: str, fn: Any) -> Any:
        try:
            value = fn()
        except Exception as error:  # noqa: BLE001 - reported by name, the rest still runs
            message = str(error).strip().splitlines()
            errors[name] = f"{type(error).__name__}: {message[0] if message else ''}"
            return None
        _flatten(name, value, outputs)
        return value

    if Capability.SAMPLE in capabilities:
        condition = list(text_condition) if text_condition is not None else inputs.get(
            "condition")
        options = dict(sample_options or {})
        call("sample", lambda: model.sample(n, condition=condition, seed=seed, **options))
    if Capability.TRANSLATE in capabilities:
        source = np.asarray(inputs["translate"])
        call("translate", lambda: model.translate(source))
        for extra in translate_options:
            label = ",".join(f"{k}={v}" for k, v in extra.items())
            call(f"translate[{label}]", lambda e=extra: model.translate(source, **e))
    if Capability.LOG_PROB in capabilities:
        call("log_prob", lambda: model.log_prob(images))
    if Capability.ENCODE in capabilities or Capability.DECODE in capabilities:
        codes = call("encode", lambda: model.encode(images))
        if codes is not None:
            call("decode", lambda: model.decode(codes))
    if Capability.RECONSTRUCT in capabilities:
        call("reconstruct", lambda: model.reconstruct(images))
    return outputs, errors


def compare_outputs(
    reference: Mapping[str, np.ndarray],
    other: Mapping[str, np.ndarray],
    *,
    inexact: Collection[str] = (),
    image_atol: float = IMAGE_ATOL,
    value_rtol: float = VALUE_RTOL,
) -> tuple[list[str], dict[str, float]]:
    """Where ``other`` differs from ``reference``: (problems, max abs difference per output).

    Args:
        reference: outputs on TensorFlow (:func:`inference_outputs`).
        other: the same outputs on another backend.
        inexact: capabilities whose results may differ beyond round-off (a sampler
            whose discrete draws flip): compared by shape, and images by range.
        image_atol: tolerance of image outputs (values in [0, 1]).
        value_rtol: relative tolerance of other outputs (``log_prob``, codes); their
            absolute tolerance is ``image_atol``.
    """
    problems: list[str] = []
    differences: dict[str, float] = {}
    for key, expected in reference.items():
        capability = key.split(".")[0].split("[")[0]
        if key not in other:
            problems.append(f"{key}: missing")
            continue
        actual = np.asarray(other[key])
        if actual.shape != expected.shape:
            problems.append(f"{key}: shape {actual.shape}, on TensorFlow {expected.shape}")
            continue
        if not np.all(np.isfinite(actual)):
            problems.append(f"{key}: NaN or infinite values")
            continue
        is_image = capability in IMAGE_OUTPUTS and actual.ndim == 4
        if capability in inexact:
            if is_image and (actual.min() < 0.0 or actual.max() > 1.0):
                problems.append(f"{key}: values in [{actual.min():.3g}, {actual.max():.3g}]")
            continue
        difference = float(np.max(np.abs(actual.astype(np.float64) - expected))) if (
            actual.size) else 0.0
        differences[key] = difference
        rtol = 0.0 if is_image else value_rtol
        if not np.allclose(actual, expected, rtol=rtol, atol=image_atol):
            worst = float(np.max(np.abs(expected))) if expected.size else 0.0
            problems.append(
                f"{key}: differs from TensorFlow by up to {difference:.3g} (values up to "
                f"{worst:.3g}; tolerance atol {image_atol:g}"
                f"{f', rtol {rtol:g}' if rtol else ''})"
            )
    return problems, differences


# -- the subprocess --------------------------------------------------------------------


def _registry_description(registry: Any) -> dict[str, Any]:
    """What rebuilds ``registry`` in another process (its search path, group, built-ins)."""
    from genzoo_core.registry import Registry, default_registry

    registry = registry if registry is not None else default_registry()
    if type(registry) is not Registry:
        raise TypeError(f"a {type(registry).__name__} cannot be rebuilt in another process")
    return {"path": registry.path, "group": registry.group, "builtin": registry.builtin}


class _Worker:
    """A Python process running under another Keras backend, serving request files.

    Started once per backend and kept for the life of this process, so that its
    imports (Keras, the backend, TensorFlow, the plugins: about ten seconds) are
    paid once however many models are checked. Each request brings this
    process's search path and ``GENZOO_*`` settings; modules imported from a
    temporary folder the request no longer searches are forgotten first, so a
    test's throw-away plugin is read afresh.
    """

    def __init__(self, backend: str) -> None:
        env = dict(os.environ)
        env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", JAX_PLATFORMS="cpu")
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.backend = backend
        self.process = subprocess.Popen(
            [sys.executable, "-m", "genzoo_core.testing.backends", "--serve"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1,
        )
        self.printed: list[str] = []

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, request_path: Path) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{request_path}\n")
        self.process.stdin.flush()

    def wait_for(self, request_path: Path, timeout: float) -> None:
        """Read the worker's output until it says ``request_path`` is done."""
        import selectors

        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.stop()
                    raise RuntimeError(f"inference under {self.backend} took over "
                                       f"{timeout:g} s: {_tail(''.join(self.printed))}")
                if not selector.select(left):
                    continue
                line = self.process.stdout.readline()
                if not line:  # the worker ended
                    self.process.wait()
                    raise RuntimeError(
                        f"inference under KERAS_BACKEND={self.backend} failed (exit "
                        f"{self.process.returncode}): {_tail(''.join(self.printed))}")
                if line.strip() == f"{_DONE} {request_path}":
                    return
                self.printed = [*self.printed[-50:], line]

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()


_DONE = "genzoo-backends: done"
_WORKERS: dict[str, _Worker] = {}


def _worker(backend: str) -> _Worker:
    worker = _WORKERS.get(backend)
    if worker is None or not worker.alive():
        worker = _WORKERS[backend] = _Worker(backend)
        if len(_WORKERS) == 1:
            import atexit

            atexit.register(_stop_workers)
    return worker


def _stop_workers() -> None:
    for worker in _WORKERS.values():
        if worker.process.stdin is not None and worker.alive():
            try:
                worker.process.stdin.close()
                worker.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                worker.stop()
    _WORKERS.clear()


def run_on_backend(
    backend: str,
    jobs: Sequence[InferenceJob],
    *,
    registry: Any = None,
    timeout: float = 600.0,
    wait: bool = True,
) -> Any:
    """Run ``jobs`` in a Python process under ``KERAS_BACKEND=backend``.

    The process is started on first use and serves every later call of this
    process (see :class:`_Worker`); it sees this process's ``sys.path``.

    Args:
        backend: ``"jax"``, ``"torch"`` (or ``"tensorflow"``).
        jobs: what to load and call.
        registry: where the other process looks names up: rebuilt there from its
            search path (default: the default registry).
        timeout: seconds before the other process is stopped.
        wait: ``False`` returns a callable at once; calling it waits for the
            results and returns them (the caller works meanwhile).

    Returns:
        job id -> ``{"outputs": {name: array}, "errors": {name: message},
        "seconds": float}``; a job whose model did not even load has only
        ``errors["load"]``.

    Raises:
        RuntimeError: the other process failed as a whole; the message holds the
            end of what it printed.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"genzoo-{backend}-"))
    request = {
        "backend": backend,
        "registry": _registry_description(registry),
        "sys_path": [p for p in sys.path if p],
        "environ": {k: v for k, v in os.environ.items() if k.startswith("GENZOO_")},
        "jobs": [asdict(job) for job in jobs],
        "results": str(folder / "results.npz"),
        "report": str(folder / "report.json"),
    }
    request_path = folder / "request.json"
    request_path.write_text(json.dumps(request))
    worker = _worker(backend)
    worker.send(request_path)

    def results() -> dict[str, dict[str, Any]]:
        import shutil

        try:
            worker.wait_for(request_path, timeout)
            report = json.loads(Path(request["report"]).read_text())
            if "failure" in report:
                raise RuntimeError(f"inference under KERAS_BACKEND={backend} failed: "
                                   f"{report['failure']}")
            with np.load(request["results"]) as arrays:
                stored = {key: arrays[key] for key in arrays.files}
            out: dict[str, dict[str, Any]] = {}
            for job in jobs:
                facts = report[job.id]
                prefix = f"{job.id}::"
                out[job.id] = {
                    "outputs": {k[len(prefix):]: v for k, v in stored.items()
                                if k.startswith(prefix)},
                    "errors": facts["errors"],
                    "seconds": facts["seconds"],
                }
            return out
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return results() if wait else results


def _tail(printed: str, lines: int = 15) -> str:
    kept = [line for line in (printed or "").strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(it printed nothing)"


def run_job(job: InferenceJob, registry: Any) -> dict[str, Any]:
    """Load ``job``'s model in this process and make its calls: outputs, errors, seconds."""
    import genzoo_core

    started = time.perf_counter()
    try:
        model = genzoo_core.load(job.weights, registry=registry)
        if job.inputs is not None:
            with np.load(job.inputs) as stored:
                inputs = {key: stored[key] for key in stored.files}
        else:
            inputs = inference_inputs(model, job.n)
    except Exception as error:  # noqa: BLE001 - reported by job, the others still run
        message = str(error).strip().splitlines()
        return {"outputs": {}, "errors": {"load": f"{type(error).__name__}: "
                                                    f"{message[0] if message else ''}"},
                "seconds": time.perf_counter() - started}
    outputs, errors = inference_outputs(
        model, inputs, seed=job.seed, text_condition=job.text_condition,
        sample_options=job.sample_options, translate_options=job.translate_options,
    )
    return {"outputs": outputs, "errors": errors, "seconds": time.perf_counter() - started}


def _forget_modules(search_path: Sequence[str]) -> None:
    """Forget modules from temporary folders that ``search_path`` no longer holds.

    A test's throw-away plugin lives in its own temporary folder; a later
    request, from another test, may bring another module of the same name from
    another folder. Whatever the request still searches stays imported (a
    package installed under the temporary folder, too).
    """
    temporary = str(Path(tempfile.gettempdir()).resolve())
    kept = [str(Path(p).resolve()) for p in search_path if p]
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if not origin:
            continue
        where = str(Path(origin).resolve())
        if where.startswith(temporary) and not any(where.startswith(p) for p in kept):
            del sys.modules[name]


def serve_request(request_path: str, baseline: Sequence[str]) -> None:
    """Answer one request file: every job's results to its npz, the facts to its report."""
    from genzoo_core.backend import keras_backend
    from genzoo_core.registry import Registry

    request = json.loads(Path(request_path).read_text())
    report: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    try:
        if keras_backend() != request["backend"]:
            raise RuntimeError(f"Keras runs on {keras_backend()!r}, not {request['backend']!r}")
        _forget_modules(request["sys_path"])
        for key in [k for k in os.environ if k.startswith("GENZOO_")]:
            del os.environ[key]  # this request's settings (GENZOO_HOME, ...), not the last's
        os.environ.update(request["environ"])
        sys.path[:] = [*request["sys_path"], *(p for p in baseline
                                                  if p not in request["sys_path"])]
        importlib.invalidate_caches()
        described = request["registry"]
        registry = Registry(described["path"], group=described["group"],
                            builtin=described["builtin"])
        for fields in request["jobs"]:
            job = InferenceJob(**fields)
            result = run_job(job, registry)
            arrays.update({f"{job.id}::{key}": value
                           for key, value in result["outputs"].items()})
            report[job.id] = {"errors": result["errors"], "seconds": result["seconds"]}
    except Exception as error:  # noqa: BLE001 - the whole request failed: say how
        report = {"failure": f"{type(error).__name__}: {error}"}
    np.savez(request["results"], **arrays)
    Path(request["report"]).write_text(json.dumps(report))


def main(argv: Sequence[str] | None = None) -> int:
    """The other process: ``python -m genzoo_core.testing.backends --serve``.

    It reads request file paths from standard input, one a line, answers each
    (:func:`serve_request`) and prints ``genzoo-backends: done PATH``; it ends
    when standard input closes. Given paths as arguments, it answers those.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    baseline = list(sys.path)
    paths = iter(sys.stdin.readline, "") if argv == ["--serve"] else iter(argv)
    for line in paths:
        path = line.strip()
        if path:
            serve_request(path, baseline)
            print(f"{_DONE} {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
