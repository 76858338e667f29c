"""Distributed training with the genzoo Trainer.

Both tests run TensorFlow in fresh subprocesses: logical CPU devices can only be
configured before TensorFlow initialises its devices (too late in a pytest process
that already ran other TensorFlow tests), and a multi-worker job needs one process
per worker anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import free_ports

TESTS = Path(__file__).resolve().parent
TOY = TESTS / "toy_plugin"
CONFTEST = TESTS / "conftest.py"

# Every worker script starts with this: the toy plugin on sys.path and a throw-away
# distribution for it (made with conftest's write_distribution) in ARGS["site"].
PRELUDE = """\
import importlib.util
import json
import sys
from pathlib import Path

ARGS = json.loads(sys.argv[1])
sys.path.insert(0, ARGS["toy"])
_spec = importlib.util.spec_from_file_location("_genzoo_tests_conftest", ARGS["conftest"])
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
_conftest.write_distribution(
    Path(ARGS["site"]), "genzoo-toy", "0.0.1", {"toy": "toyzoo.plugin"}, {}
)
"""

MIRRORED_WORKER = PRELUDE + textwrap.dedent(
    """
    import numpy as np
    import tensorflow as tf

    # Two logical CPUs: must come before anything initialises TensorFlow's devices.
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )

    import keras

    import genzoo_core
    from genzoo_core import replica_scale
    from genzoo_core.data import DataSource

    result = {}
    registry = genzoo_core.Registry(path=[ARGS["site"]])
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    result["replicas"] = strategy.num_replicas_in_sync

    # (a) the Trainer runs under MirroredStrategy and keeps the replicas in sync; "auto"
    # means no XLA under several replicas (no probe).
    images = np.random.default_rng(0).integers(0, 256, (16, 4, 4, 1), dtype=np.uint8)
    model = genzoo_core.train(
        "toygan", DataSource("toy", images), ARGS["out_dir"], epochs=1,
        steps_per_epoch=2, strategy=strategy, registry=registry, verbose=0, preview_count=4,
        jit_compile="auto",
    )
    checked, mismatched, unmirrored = 0, [], []
    variables = list(model.variables)
    for optimizer in model.optimizers.values():
        variables += list(optimizer.variables)
    for variable in variables:
        copies = getattr(variable.value, "values", None)
        if copies is None or len(copies) != 2:
            unmirrored.append(variable.path)
            continue
        checked += 1
        first, second = (np.asarray(copy.numpy()) for copy in copies)
        if not np.array_equal(first, second):
            mismatched.append(variable.path)
    result["trainer"] = {"checked": checked, "mismatched": mismatched,
                         "unmirrored": unmirrored}

    # (b) one deterministic D+G step, scaled as train_step scales its losses,
    # gives the same weights with two replicas as on one device.
    spec = registry.get_model("toygan")
    config = spec.resolve_config(None)

    def optimizers(model):
        opts = {name: keras.optimizers.SGD(0.5, name=name) for name in model.components}
        for name, opt in opts.items():
            opt.build(model.components[name].trainable_variables)
        return opts

    with strategy.scope():
        mirrored = spec.load_class()(config)
        mirrored_opts = optimizers(mirrored)
    single = spec.load_class()(config)
    single_opts = optimizers(single)
    initial = {}
    for name, component in mirrored.components.items():
        initial[name] = component.get_weights()
        single.components[name].set_weights(initial[name])

    def make_step(model, opts):
        def step(real, z):
            with tf.GradientTape() as tape:
                d_loss = model.gan_loss.discriminator(
                    model.discriminator(real), model.discriminator(model.generator(z))
                )
                scaled = replica_scale(d_loss)
            variables = model.discriminator.trainable_variables
            opts["discriminator"].apply_gradients(
                zip(tape.gradient(scaled, variables), variables)
            )
            with tf.GradientTape() as tape:
                g_loss = model.gan_loss.generator(model.discriminator(model.generator(z)))
                scaled = replica_scale(g_loss)
            variables = model.generator.trainable_variables
            opts["generator"].apply_gradients(zip(tape.gradient(scaled, variables), variables))
            return d_loss, g_loss

        return step

    rng = np.random.default_rng(1)
    real = rng.random((8, 4, 4, 1)).astype("float32")
    z = rng.standard_normal((8, config["latent_dim"])).astype("float32")

    tf.function(make_step(single, single_opts))(real, z)

    mirrored_step = make_step(mirrored, mirrored_opts)
    dataset = tf.data.Dataset.from_tensor_slices((real, z)).batch(8)
    real_dist, z_dist = next(iter(strategy.experimental_distribute_dataset(dataset)))
    result["local_batches"] = [
        int(t.shape[0]) for t in strategy.experimental_local_results(real_dist)
    ]
    tf.function(lambda r, zz: strategy.run(mirrored_step, args=(r, zz)))(real_dist, z_dist)

    max_diff, max_update = 0.0, 0.0
    for name, component in mirrored.components.items():
        for m, s, w0 in zip(component.get_weights(), single.components[name].get_weights(),
                            initial[name]):
            max_diff = max(max_diff, float(np.max(np.abs(m - s))))
            max_update = max(max_update, float(np.max(np.abs(s - w0))))
    result["step"] = {"max_diff": max_diff, "max_update": max_update}

    Path(ARGS["result"]).write_text(json.dumps(result))
    print("WORKER_DONE", flush=True)
    """
)

MULTI_WORKER = PRELUDE + textwrap.dedent(
    """
    import numpy as np
    import tensorflow as tf

    import genzoo_core
    from genzoo_core.data import DataSource
    from genzoo_core.trainer import is_chief

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    images = np.random.default_rng(0).integers(0, 256, (64, 4, 4, 1), dtype=np.uint8)
    model = genzoo_core.train(
        "toygan", DataSource("toy", images), ARGS["out_dir"], epochs=2, strategy=strategy,
        registry=genzoo_core.Registry(path=[ARGS["site"]]), verbose=0, preview_count=4,
    )
    np.savez(ARGS["dump"], **{v.path: np.asarray(v.numpy()) for v in model.generator.variables})
    Path(ARGS["info"]).write_text(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "chief": is_chief(strategy),
    }))
    print("WORKER_DONE", flush=True)
    """
)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TF_CONFIG", None)
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)
    return env


def _start(script: Path, args: dict, log: Path, env: dict[str, str]) -> subprocess.Popen:
    args = {"toy": str(TOY), "conftest": str(CONFTEST), **args}
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, str(script), json.dumps(args)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _wait_all(procs: list[subprocess.Popen], logs: list[Path], timeout: float) -> None:
    """Wait for every process; on timeout kill them all and fail with their output."""
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for proc in procs:
            proc.wait()
        pytest.fail(f"workers did not finish within {timeout:.0f} s\n" + _outputs(procs, logs))
    failed = [proc for proc in procs if proc.returncode != 0]
    assert not failed, "a worker failed\n" + _outputs(procs, logs)


def _outputs(procs: list[subprocess.Popen], logs: list[Path]) -> str:
    parts = []
    for index, (proc, log) in enumerate(zip(procs, logs)):
        text = log.read_text(errors="replace") if log.exists() else ""
        parts.append(f"--- worker {index} (exit {proc.returncode}) ---\n{text[-6000:]}")
    return "\n".join(parts)


def test_mirrored_strategy_matches_single_device(tmp_path):
    from genzoo_core.weights import read_header

    script = tmp_path / "mirrored_worker.py"
    script.write_text(MIRRORED_WORKER)
    out_dir, result_path, log = tmp_path / "run", tmp_path / "result.json", tmp_path / "log.txt"
    proc = _start(
        script,
        {"site": str(tmp_path / "site"), "out_dir": str(out_dir), "result": str(result_path)},
        log,
        _env(),
    )
    _wait_all([proc], [log], timeout=240)
    result = json.loads(result_path.read_text())

    assert result["replicas"] == 2
    assert (out_dir / "checkpoint.h5").is_file()
    assert (out_dir / "model.h5").is_file()
    assert read_header(out_dir / "checkpoint.h5").training_state["epoch"] == 1
    assert read_header(out_dir / "model.h5").metadata["jit_compile"] == {
        "choice": False, "source": "multi-replica"}

    trainer = result["trainer"]
    assert trainer["unmirrored"] == [], f"variables without two replica copies: {trainer}"
    assert trainer["checked"] > 0
    assert trainer["mismatched"] == [], f"replica copies differ after training: {trainer}"

    assert result["local_batches"] == [4, 4]
    step = result["step"]
    assert step["max_update"] > 1e-4, f"the step changed nothing: {step}"
    assert step["max_diff"] <= 1e-5 + 1e-3 * step["max_update"], (
        f"two replicas and one device disagree after one step: {step}"
    )


def test_multi_worker_mirrored_strategy_two_processes(tmp_path):
    from genzoo_core.weights import read_header

    script = tmp_path / "multi_worker.py"
    script.write_text(MULTI_WORKER)
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    procs, logs, out_dirs, dumps = [], [], [], []
    try:
        for index in range(2):
            out_dir = tmp_path / f"worker{index}"
            dump = tmp_path / f"generator{index}.npz"
            info = tmp_path / f"info{index}.json"
            log = tmp_path / f"worker{index}.log"
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            procs.append(
                _start(
                    script,
                    {
                        "site": str(tmp_path / f"site{index}"),
                        "out_dir": str(out_dir),
                        "dump": str(dump),
                        "info": str(info),
                    },
                    log,
                    _env(TF_CONFIG=tf_config),
                )
            )
            out_dirs.append(out_dir)
            dumps.append(dump)
            logs.append(log)
        _wait_all(procs, logs, timeout=240)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    infos = [json.loads((tmp_path / f"info{index}.json").read_text()) for index in range(2)]
    assert infos == [{"replicas": 2, "chief": True}, {"replicas": 2, "chief": False}]
    chief, other = out_dirs
    assert (chief / "checkpoint.h5").is_file(), _outputs(procs, logs)
    assert (chief / "model.h5").is_file(), _outputs(procs, logs)
    assert read_header(chief / "checkpoint.h5").training_state["epoch"] == 2
    assert read_header(chief / "model.h5").metadata["metrics"]["epochs"] == 2
    assert not (other / "checkpoint.h5").exists()
    assert not (other / "model.h5").exists()

    with np.load(dumps[0]) as first, np.load(dumps[1]) as second:
        assert sorted(first.files) == sorted(second.files)
        assert first.files
        for key in first.files:
            np.testing.assert_array_equal(first[key], second[key], err_msg=key)
