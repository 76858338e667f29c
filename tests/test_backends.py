"""Every first-party pretrained weight infers on JAX as on TensorFlow.

A worker process under ``KERAS_BACKEND=jax`` (one per test process, started
once) loads each pretrained weight of the installed first-party plugins by
name, samples with a fixed seed and makes each declared call (``translate``,
``log_prob``, ``encode``/``decode``, ``reconstruct``) on fixed inputs; this
process makes the same calls under TensorFlow meanwhile, and the weight's test
compares the two (images within
1e-3, other values within 1e-4 relative). A failure names the weight and the
capability. A model whose sampler draws discrete values that a last-bit
difference could flip would be listed in INEXACT and compared by shape and
range where it samples.

Also: ``genzoo sample`` end to end under JAX, and training refused under JAX
in one line, and (in this process, whatever is installed) training, evaluation
and publishing refused on any backend but TensorFlow. The file takes about a
minute; what needs JAX is skipped without it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="JAX is not installed: pip install 'jax[cpu]' to test inference under "
           "KERAS_BACKEND=jax")

BACKEND = "jax"
FIRST_PARTY = ("gan", "dcgan", "cgan", "pix2pix", "cyclegan", "stackgan", "vae", "pixelcnn",
               "rbm", "ddpm")
"""The first-party plugins: genzoo-NAME."""

INEXACT: dict[str, tuple[str, ...]] = {}
"""Model -> the capabilities compared by shape and range only: a sampler whose discrete
draws a last-bit difference may flip. None so far: PixelCNN's and the RBM's draws agree
exactly for these seeds and inputs (measured: 0 difference)."""

SAMPLE_OPTIONS = {"ddpm": {"steps": 10}, "ddpm-guided": {"steps": 10}}
"""Model -> sampling options (default: the fewest steps an iterative sampler allows)."""

EXTRA_TRANSLATIONS = {"cyclegan": [{"direction": "BtoA"}]}
"""Model -> keyword arguments of further ``translate`` calls beside ``translate(x)``."""


def _first_party_registry():
    from genzoo_core.registry import Registry

    return Registry()  # the installed plugins (the suite's default registry is empty)


def _pretrained() -> list[str]:
    registry = _first_party_registry()
    names = []
    for name, spec in sorted(registry.models.items()):
        # An auxiliary network (a classifier that scores another model) infers nothing here.
        if (spec.distribution or "").removeprefix("genzoo-") in FIRST_PARTY and (
                spec.capabilities):
            names.extend(f"{name}/{entry.name}" for entry in spec.weights)
    return names


PRETRAINED = _pretrained()


def _job(weights: str):
    from genzoo_core.testing.backends import InferenceJob
    from genzoo_core.testing.support import _cheap_options

    model = weights.partition("/")[0]
    spec = _first_party_registry().get_model(model)
    return InferenceJob(id=weights, weights=weights, n=2, seed=0,
                        sample_options=SAMPLE_OPTIONS.get(model, _cheap_options(spec)),
                        translate_options=EXTRA_TRANSLATIONS.get(model, []))


def _other_backend(backend: str) -> str:
    """``backend``, or skip the test saying what to install."""
    from genzoo_core.testing.backends import backend_available

    missing = backend_available(backend)
    if missing:
        pytest.skip(missing)
    return backend


# PyTorch is not in the dev extra (its CPU build is about 760 MB installed, and PyPI's
# default build brings CUDA): these run where it is installed, e.g. from the CPU index.
@pytest.mark.parametrize("backend", [BACKEND, "torch"])
@pytest.mark.parametrize("weights", PRETRAINED)
def test_pretrained_weights_infer_on_other_backends_as_on_tensorflow(
        weights, backend, tmp_path, monkeypatch):
    import genzoo_core
    from genzoo_core.testing.backends import (
        compare_outputs,
        inference_inputs,
        inference_outputs,
        run_on_backend,
    )

    BACKEND = _other_backend(backend)  # noqa: N806 - the messages below name it

    monkeypatch.setenv("GENZOO_OFFLINE", "1")  # packaged weights only: nothing is downloaded
    monkeypatch.setenv("GENZOO_HOME", str(tmp_path))
    registry = _first_party_registry()
    job = _job(weights)
    waiting = run_on_backend(BACKEND, [job], registry=registry, wait=False)
    model = genzoo_core.load(job.weights, registry=registry)  # TensorFlow, meanwhile
    expected, tf_errors = inference_outputs(
        model, inference_inputs(model, job.n), seed=job.seed,
        sample_options=job.sample_options, translate_options=job.translate_options)
    result = waiting()[job.id]
    name = weights.partition("/")[0]
    assert not tf_errors, f"{weights} on TensorFlow: {tf_errors}"
    failures = [f"{capability} raised {error}" for capability, error in result["errors"].items()]
    assert not failures, f"{weights} under KERAS_BACKEND={BACKEND}: " + "; ".join(failures)
    problems, differences = compare_outputs(expected, result["outputs"],
                                            inexact=INEXACT.get(name, ()))
    assert not problems, f"{weights} under KERAS_BACKEND={BACKEND}: " + "; ".join(problems)
    compared = set(differences) | {k for k in expected if k.split(".")[0] in
                                   INEXACT.get(name, ())}
    assert expected and compared == set(expected), f"{weights}: {set(expected) - compared}"
    report = os.environ.get("GENZOO_BACKEND_REPORT")  # the docs' table is made from this
    if report:
        path = Path(report)
        table = json.loads(path.read_text()) if path.is_file() else {}
        table[weights] = {"differences": differences, "seconds": result["seconds"],
                          "inexact": list(INEXACT.get(name, ())), "outputs": sorted(expected)}
        path.write_text(json.dumps(table, indent=1, sort_keys=True))


def _genzoo(*args: str | Path, cwd: Path, backend: str = BACKEND) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "JAX_PLATFORMS": "cpu", "GENZOO_OFFLINE": "1"}
    command = [sys.executable, "-m", "genzoo_core.cli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@needs_jax
def test_genzoo_sample_draws_tensorflows_grid_under_jax(tmp_path):
    import genzoo_core
    from genzoo_core.images import make_grid

    if "dcgan/mnist" not in PRETRAINED:
        pytest.skip("genzoo-dcgan is not installed")
    done = _genzoo("sample", "dcgan/mnist", "-n", "4", "--seed", "3", "-o", "grid.png",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 4 samples from dcgan/mnist" in done.stdout
    import keras

    written = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "grid.png",
                                                            color_mode="grayscale"))
    model = genzoo_core.load("dcgan/mnist", registry=_first_party_registry())
    expected = make_grid(model.sample(4, seed=3))
    assert written.shape == expected.shape
    assert np.abs(written.astype(int) - expected.astype(int)).max() <= 1  # one 8-bit level


@needs_jax
def test_training_under_jax_is_refused_in_one_line(tmp_path):
    if not any(w.startswith("gan/") for w in PRETRAINED):
        pytest.skip("genzoo-gan is not installed")
    done = _genzoo("train", "gan", "--data", "mnist", "--epochs", "1", "--out", "run",
                   cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("genzoo: error: training needs the TensorFlow backend")
    assert "KERAS_BACKEND=tensorflow" in lines[0]
    assert not (tmp_path / "run").exists()  # nothing was built or written


def test_training_evaluation_and_publishing_refuse_other_backends(toy_registry, toy_data,
                                                                  tmp_path, monkeypatch):
    import genzoo_core
    from genzoo_core import backend
    from genzoo_core.backend import BackendError

    model = genzoo_core.create("toygan")
    monkeypatch.setattr(backend, "keras_backend", lambda: "jax")
    calls = {
        "training": lambda: genzoo_core.train("toygan", toy_data, tmp_path / "run", epochs=1),
        "evaluation": lambda: genzoo_core.evaluate(model, toy_data, metrics="fid", n=4),
        "publishing": lambda: genzoo_core.publish(tmp_path / "run", "toygan/w"),
    }
    calls["training (Trainer)"] = lambda: genzoo_core.Trainer(model, tmp_path / "run")
    for task, call in calls.items():
        with pytest.raises(BackendError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"{task.split()[0]} needs the TensorFlow backend, but Keras "
                                  f"runs on 'jax'"), message
        assert "KERAS_BACKEND=tensorflow" in message and "\n" not in message
    assert not (tmp_path / "run").exists()  # refused before anything was written


INFERENCE_FUNCTION_SCRIPT = """
import json, sys
import numpy as np, keras
from genzoo_core.backend import inference_function, keras_backend, to_numpy

net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
calls = []
def forward(x):
    calls.append(1)  # counts traces on JAX (a jitted function runs Python once per shape)
    return net(x, training=False) * 2.0
compiled = inference_function(forward, networks=[net])
x = np.arange(6, dtype="float32").reshape(2, 3)
first = to_numpy(compiled(x))
again = to_numpy(compiled(x))
net.get_layer("d").set_weights([np.ones((3, 2), "float32"), np.full(2, 0.5, "float32")])
after_load = to_numpy(compiled(x))
print(json.dumps({"backend": keras_backend(), "traces": len(calls),
                  "first": first.tolist(), "again": again.tolist(),
                  "after_load": after_load.tolist(),
                  "eager": to_numpy(forward(x)).tolist()}))
"""


@needs_jax
def test_inference_function_compiles_on_jax_and_reads_the_current_weights(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3",
           "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", INFERENCE_FUNCTION_SCRIPT], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == BACKEND
    # Compiled: one trace for the two calls of one shape (eager would run Python twice).
    assert result["traces"] == 1  # counted before the eager reference call
    np.testing.assert_allclose(result["first"], result["again"])
    # Weights set after the first compile are used, not the ones traced in.
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(result["after_load"], (x @ np.ones((3, 2)) + 0.5) * 2.0,
                               rtol=1e-6)
    np.testing.assert_allclose(result["after_load"], result["eager"], rtol=1e-6)
