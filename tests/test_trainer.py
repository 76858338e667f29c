"""The trainer: outputs, checkpoints, resume (also after SIGKILL), NaN guard, data checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import genzoo_core
from genzoo_core import DataError, GenzooError, Trainer, TrainingDiverged
from genzoo_core.data import DataSource
from genzoo_core.trainer import recorded_changes
from genzoo_core.weights import read_header

TESTS = Path(__file__).resolve().parent


def iterations(model):
    return {name: int(opt.iterations.numpy()) for name, opt in model.optimizers.items()}


def test_fit_writes_checkpoint_grids_log_and_final_weights(toy_model, toy_data, tmp_path):
    out = tmp_path / "run"
    history = Trainer(toy_model, out, verbose=0, preview_count=9).fit(toy_data, epochs=2)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.h5", "log.csv", "model.h5",
                                                    "samples"]
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_0001.png",
                                                                  "epoch_0002.png"]
    grid = tf.io.decode_png(tf.io.read_file(str(out / "samples" / "epoch_0002.png")))
    assert grid.shape == (3 * (4 + 2) + 2, 3 * (4 + 2) + 2, 1)  # 3x3 grid of 4x4 images
    rows = (out / "log.csv").read_text().splitlines()
    assert rows[0] == "epoch,d_loss,g_loss,seconds,preview_seconds"
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    assert set(history.history) >= {"d_loss", "g_loss"} and len(history.history["d_loss"]) == 2
    checkpoint = read_header(out / "checkpoint.h5")
    assert checkpoint.training_state == {"epoch": 2, "epochs": 2, "batch_size": 8,
                                         "steps_per_epoch": None, "precision": "float32"}
    assert checkpoint.has_optimizers
    final = read_header(out / "model.h5")
    assert not final.has_optimizers and final.metadata["metrics"]["epochs"] == 2
    assert iterations(toy_model) == {"generator": 16, "discriminator": 16}  # 64 / 8 x 2


def test_resume_restores_weights_and_optimizer_state(toy_registry, toy_data, tmp_path):
    out = tmp_path / "run"
    first = genzoo_core.create("toygan")
    Trainer(first, out, verbose=0, preview_count=0).fit(toy_data, epochs=2)
    saved = [v.numpy().copy() for v in first.variables if v.name != "seed_generator_state"]

    class Capture(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights = [v.numpy().copy() for v in self.model.variables
                            if v.name != "seed_generator_state"]
            self.iterations = iterations(self.model)

    capture = Capture()
    second = genzoo_core.create("toygan")
    Trainer(second, out, verbose=0, preview_count=0, callbacks=[capture]).fit(toy_data, epochs=4)
    for a, b in zip(saved, capture.weights):
        np.testing.assert_array_equal(a, b)
    assert capture.iterations == {"generator": 16, "discriminator": 16}
    assert iterations(second) == {"generator": 32, "discriminator": 32}
    rows = (out / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["epoch", "1", "2", "3", "4"]
    assert read_header(out / "checkpoint.h5").training_state["epoch"] == 4


KILLED_RUN = """
import os, signal, sys
sys.path[:0] = [{toy!r}, {tests!r}]
import keras, numpy as np
from conftest import write_distribution
from genzoo_core import Registry, train
from genzoo_core.data import DataSource

site = {site!r}
write_distribution(__import__("pathlib").Path(site), "genzoo-toy", "0.0.1",
                   {{"toy": "toyzoo.plugin"}}, {{}})

class KillInEpoch3(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if {kill} and self.epoch == 2 and batch == 3:
            os.kill(os.getpid(), signal.SIGKILL)

images = np.random.default_rng(0).integers(0, 256, (64, 4, 4, 1), dtype=np.uint8)
train("toygan", DataSource("toy", images), {out!r}, epochs=5, verbose=0,
      registry=Registry(path=[site]), callbacks=[KillInEpoch3()])
print("finished")
"""


def run_script(tmp_path, kill):
    script = tmp_path / f"run_{kill}.py"
    script.write_text(KILLED_RUN.format(toy=str(TESTS / "toy_plugin"), tests=str(TESTS),
                                        site=str(tmp_path / "site"), out=str(tmp_path / "run"),
                                        kill=kill))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, env=env)


def test_sigkill_loses_at_most_one_epoch(tmp_path):
    killed = run_script(tmp_path, kill=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    out = tmp_path / "run"
    header = read_header(out / "checkpoint.h5")  # intact, readable
    assert header.training_state["epoch"] == 2  # epochs 1-2 kept, only epoch 3 lost
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.h5", "log.csv", "samples"]
    resumed = run_script(tmp_path, kill=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "finished" in resumed.stdout
    final = read_header(out / "model.h5")
    assert final.metadata["metrics"]["epochs"] == 5
    rows = (out / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["epoch", "1", "2", "3", "4", "5"]
    with __import__("h5py").File(out / "checkpoint.h5", "r") as f:
        # the optimizer counted every step of all five epochs: 8 per epoch
        assert int(f["optimizers/generator/000000"][()]) == 40


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(toy_model, toy_data, tmp_path):
    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                kernel = self.model.discriminator.get_layer("logit").kernel
                kernel.assign(np.full(kernel.shape, np.nan, np.float32))

    out = tmp_path / "run"
    trainer = Trainer(toy_model, out, verbose=0, preview_count=0, callbacks=[Poison()])
    with pytest.raises(TrainingDiverged, match="d_loss=nan.* at epoch 2, batch 1.*keeps the last"):
        trainer.fit(toy_data, epochs=3)
    header = read_header(out / "checkpoint.h5")
    assert header.training_state["epoch"] == 1
    restored = genzoo_core.create("toygan")
    restored.load_weights(str(out / "checkpoint.h5"))
    assert all(np.all(np.isfinite(v.numpy())) for v in restored.variables)
    assert not (out / "model.h5").exists()


def test_data_checks(toy_model, tmp_path):
    tiny = DataSource("tiny", np.zeros((3, 4, 4, 1), np.uint8))
    with pytest.raises(DataError, match="fewer than one batch of 8"):
        Trainer(toy_model, tmp_path / "a", verbose=0).fit(tiny, epochs=1)
    wrong = DataSource("wrong", np.zeros((16, 5, 5, 1), np.uint8))
    with pytest.raises(DataError, match=r"shape \(5, 5, 1\).*configured for \(4, 4, 1\)"):
        Trainer(toy_model, tmp_path / "b", verbose=0).fit(wrong, epochs=1)
    with pytest.raises(GenzooError, match="epochs must be at least 1"):
        Trainer(toy_model, tmp_path / "c", verbose=0).fit(tiny, epochs=0)


def test_steps_per_epoch_and_tf_data_input(toy_model, toy_data, tmp_path):
    Trainer(toy_model, tmp_path / "run", verbose=0, preview_count=0).fit(
        toy_data.dataset(), epochs=1, steps_per_epoch=3
    )
    assert iterations(toy_model) == {"generator": 3, "discriminator": 3}


def test_train_step_also_runs_under_keras_fit(toy_model, toy_data):
    toy_model.compile()
    history = toy_model.fit(toy_data.dataset().batch(8), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["d_loss"][0])
    assert iterations(toy_model)["discriminator"] == 8


def test_losses_move_and_the_generator_learns(toy_registry, tmp_path):
    # Real data the toy can fit: bright top half, dark bottom half.
    images = np.zeros((256, 4, 4, 1), np.uint8)
    images[:, :2] = 230
    keras.utils.set_random_seed(0)  # the train step's noise comes from TensorFlow's RNG
    model = genzoo_core.create("toygan", learning_rate=2e-2)
    before = model.sample(64, seed=0)
    genzoo_core.train(model, DataSource("halves", images), tmp_path / "run", epochs=10,
                      verbose=0, preview_count=0)
    after = model.sample(64, seed=0)
    gap = lambda x: x[:, :2].mean() - x[:, 2:].mean()  # noqa: E731
    assert abs(gap(before)) < 0.2
    assert gap(after) > 0.3, gap(after)


def test_tensorboard_logs(toy_model, toy_data, tmp_path, monkeypatch):
    pytest.importorskip("tensorboard", reason="the dev extra installs tensorboard")
    out = tmp_path / "run"
    Trainer(toy_model, out, verbose=0, preview_count=0, tensorboard=True).fit(toy_data, epochs=1)
    events = list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


def test_tensorboard_missing_is_a_clear_error(toy_model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import now raises ImportError
    with pytest.raises(GenzooError, match=r"pip install 'genzoo-core\[tensorboard\]'"):
        Trainer(toy_model, tmp_path / "run", tensorboard=True)


def test_xla_is_explicit_or_follows_genzoo_jit(toy_model, toy_data, tmp_path, monkeypatch):
    monkeypatch.setenv("GENZOO_JIT", "off")  # as the kit's pytest plugin sets it for tests
    default = Trainer(toy_model, tmp_path / "a", verbose=0)
    assert default.jit_compile is False and default.jit_decision.source == "environment"
    trainer = Trainer(toy_model, tmp_path / "b", verbose=0, preview_count=0, jit_compile=True)
    assert trainer.jit_compile is True and trainer.jit_probe is None
    history = trainer.fit(toy_data, epochs=1)
    assert np.isfinite(history.history["d_loss"][0])
    assert read_header(tmp_path / "b" / "model.h5").metadata["jit_compile"] == {
        "choice": True, "source": "explicit"}
    assert Trainer(toy_model, tmp_path / "c", verbose=0, jit_compile=False).jit_compile is False
    monkeypatch.setenv("GENZOO_JIT", "on")
    assert Trainer(toy_model, tmp_path / "d", verbose=0).jit_compile is True
    assert Trainer(toy_model, tmp_path / "e", verbose=0, jit_compile="off").jit_compile is False
    auto = Trainer(toy_model, tmp_path / "f", verbose=0, jit_compile="auto")
    assert auto.jit_compile is None and auto.jit_decision is None  # decided by fit


# -- hardening: interrupted runs, resume rules, clear errors ------------------------------


def log_epochs(out):
    return [row.split(",")[0] for row in (out / "log.csv").read_text().splitlines()]


def test_resume_removes_stale_temp_files_of_a_killed_write(toy_model, toy_data, tmp_path):
    out = tmp_path / "run"
    Trainer(toy_model, out, verbose=0, preview_count=4).fit(toy_data, epochs=1)
    # What a kill inside atomic_path leaves: hidden '.<name>.<random>.tmp' files.
    stale = [out / ".checkpoint.h5.k3j2_x.tmp", out / ".model.h5.abc123.tmp",
             out / ".log.csv.q1w2e3.tmp", out / "samples" / ".epoch_0002.png.zz9.tmp"]
    for path in stale:
        path.write_bytes(b"\0" * 1000)
    keep = [out / "notes.txt", out / ".hidden", out / "samples" / "mine.tmp"]
    for path in keep:
        path.write_text("the user's")
    Trainer(toy_model, out, verbose=0, preview_count=4).fit(toy_data, epochs=2)
    assert [p.name for p in stale if p.exists()] == []
    assert all(p.read_text() == "the user's" for p in keep)


def test_the_checkpoint_is_the_last_thing_an_epoch_writes(toy_model, toy_data, tmp_path):
    out = tmp_path / "run"
    seen = []

    class Look(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            checkpoint = out / "checkpoint.h5"
            seen.append((
                read_header(checkpoint).training_state["epoch"] if checkpoint.exists() else 0,
                log_epochs(out)[-1],
                (out / "samples" / f"epoch_{epoch + 1:04d}.png").exists(),
            ))

    Trainer(toy_model, out, verbose=0, preview_count=4, callbacks=[Look()]).fit(
        toy_data, epochs=2)
    # Grid and log row of the epoch are written before user callbacks; the checkpoint after.
    assert seen == [(0, "1", True), (1, "2", True)]


def test_resume_drops_log_rows_and_grids_beyond_the_checkpoint(toy_model, toy_data, tmp_path):
    out = tmp_path / "run"
    Trainer(toy_model, out, verbose=0, preview_count=4).fit(toy_data, epochs=1)
    # A kill after epochs 2 and 3 logged but before their checkpoints (the last row cut short).
    with open(out / "log.csv", "a") as f:
        f.write("2,0.5,0.5,1.0\n3,0.4")
    (out / "samples" / "epoch_0003.png").write_bytes((out / "samples" /
                                                      "epoch_0001.png").read_bytes())
    Trainer(toy_model, out, verbose=0, preview_count=4).fit(toy_data, epochs=2)
    assert log_epochs(out) == ["epoch", "1", "2"]
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_0001.png",
                                                                  "epoch_0002.png"]


def poison_at(epoch_index):
    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == epoch_index:
                kernel = self.model.discriminator.get_layer("logit").kernel
                kernel.assign(np.full(kernel.shape, np.nan, np.float32))

    return Poison()


def test_divergence_in_the_first_epoch_says_start_again_lower(toy_model, toy_data, tmp_path):
    out = tmp_path / "run"
    trainer = Trainer(toy_model, out, verbose=0, preview_count=0, callbacks=[poison_at(0)])
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit(toy_data, epochs=2)
    message = str(info.value)
    assert "no epoch completed" in message and "start again" in message
    assert "--config learning_rate=0.001" in message  # a tenth of the model's 0.01
    assert "resume" not in message
    assert not out.exists()  # nothing was left behind


def test_resume_accepts_changed_training_keys_and_records_them(toy_registry, toy_data,
                                                               tmp_path, capsys):
    out = tmp_path / "run"
    Trainer(genzoo_core.create("toygan"), out, verbose=0, preview_count=0).fit(toy_data, epochs=1)
    model = genzoo_core.create("toygan", learning_rate=1e-3)
    Trainer(model, out, verbose=2, preview_count=0, batch_size=16).fit(toy_data, epochs=2)
    # The optimizer state came from the checkpoint, but the new learning rate is in force.
    assert {round(float(o.learning_rate), 8) for o in model.optimizers.values()} == {1e-3}
    expected = [
        {"epoch": 1, "key": "learning_rate", "from": 0.01, "to": 0.001},
        {"epoch": 1, "key": "trainer.batch_size", "from": 8, "to": 16},
        {"epoch": 1, "key": "trainer.epochs", "from": 1, "to": 2},
    ]
    for name in ("checkpoint.h5", "model.h5"):
        assert recorded_changes(read_header(out / name)) == expected
    resume_log = (out / "resume.log").read_text()
    assert "learning_rate 0.01 -> 0.001" in resume_log and "batch_size 8 -> 16" in resume_log
    assert "learning_rate 0.01 -> 0.001" in capsys.readouterr().out
    # A later resume keeps the earlier changes and adds its own.
    Trainer(genzoo_core.create("toygan", learning_rate=1e-4), out, verbose=0,
            preview_count=0, batch_size=16).fit(toy_data, epochs=3)
    changes = recorded_changes(read_header(out / "model.h5"))
    assert changes[:3] == expected and changes[3:] == [
        {"epoch": 2, "key": "learning_rate", "from": 0.001, "to": 0.0001},
        {"epoch": 2, "key": "trainer.epochs", "from": 2, "to": 3},
    ]


def test_resume_refuses_a_changed_architecture_key_naming_it(toy_registry, toy_data, tmp_path):
    out = tmp_path / "run"
    Trainer(genzoo_core.create("toygan"), out, verbose=0, preview_count=0).fit(toy_data, epochs=1)
    with pytest.raises(GenzooError,
                       match=r"'units' is 4 here but 8 in .*checkpoint.h5.*units=8.*another"):
        Trainer(genzoo_core.create("toygan", units=4), out, verbose=0).fit(toy_data, epochs=2)


def test_train_merges_a_resume_config_over_the_checkpoints(toy_registry, toy_data, tmp_path):
    out = tmp_path / "run"
    genzoo_core.train("toygan", toy_data, out, epochs=1, config={"units": 4}, verbose=0,
                      preview_count=0)
    model = genzoo_core.train("toygan", toy_data, out, epochs=2,
                              config={"learning_rate": 1e-3}, verbose=0, preview_count=0)
    assert model.config["units"] == 4 and model.config["learning_rate"] == 1e-3
    assert recorded_changes(read_header(out / "model.h5"))[0]["key"] == "learning_rate"


def test_a_damaged_checkpoint_names_the_run_and_how_to_go_on(toy_registry, toy_data, tmp_path):
    out = tmp_path / "run"
    genzoo_core.train("toygan", toy_data, out, epochs=2, verbose=0, preview_count=0)
    checkpoint = out / "checkpoint.h5"
    checkpoint.write_bytes(checkpoint.read_bytes()[:3000])  # a truncated copy
    for resume in (
        lambda: Trainer(genzoo_core.create("toygan"), out, verbose=0).fit(toy_data, epochs=3),
        lambda: genzoo_core.train("toygan", toy_data, out, epochs=3, verbose=0),
    ):
        with pytest.raises(GenzooError) as info:
            resume()
        message = str(info.value)
        assert f"cannot resume the run in {out}" in message
        assert "log.csv records epoch 2 as the last" in message
        assert f"delete {checkpoint}" in message and "--out" in message
        assert f"{out / 'model.h5'}" in message and "epoch 2" in message
        assert "re-download" not in message.lower()
        assert checkpoint.stat().st_size == 3000  # left as it was


def test_progress_bar_times_steps_without_the_preview_grid(toy_model, toy_data, tmp_path,
                                                          monkeypatch, capsys):
    import re
    import time as time_module

    original = type(toy_model).preview

    def slow_preview(self, *args, **kwargs):
        time_module.sleep(2.0)  # 250 ms for each of the epoch's 8 steps
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(toy_model), "preview", slow_preview)
    Trainer(toy_model, tmp_path / "run", verbose=2, preview_count=4).fit(toy_data, epochs=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if "/step" in line]
    assert len(lines) == 2, lines
    value, unit = re.search(r"(\d+(?:\.\d+)?)(ms|s|us)/step", lines[-1]).groups()
    ms = float(value) * {"s": 1000, "ms": 1, "us": 1e-3}[unit]
    assert ms < 125, lines[-1]  # the steps alone; the grid would add 250 ms


def test_bad_run_settings_are_one_clear_line(toy_model, toy_data, tmp_path):
    with pytest.raises(GenzooError, match="steps_per_epoch must be at least 1, got 0"):
        Trainer(toy_model, tmp_path / "a", verbose=0).fit(toy_data, epochs=1, steps_per_epoch=0)
    with pytest.raises(GenzooError, match="batch_size must be at least 1, got 0"):
        Trainer(toy_model, tmp_path / "b", verbose=0, batch_size=0)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(GenzooError, match=f"{a_file} is a file, not a folder"):
        Trainer(toy_model, a_file, verbose=0).fit(toy_data, epochs=1)
    assert a_file.read_text() == "x"
    with pytest.raises(GenzooError, match=f"cannot create {a_file / 'run'}: {a_file} is a file"):
        Trainer(toy_model, a_file / "run", verbose=0).fit(toy_data, epochs=1)
    with pytest.raises(DataError, match="infinite.*steps_per_epoch"):
        Trainer(toy_model, tmp_path / "c", verbose=0).fit(toy_data.dataset().repeat(), epochs=1)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions")
def test_an_unwritable_out_is_named(toy_model, toy_data, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(GenzooError, match=f"cannot write to {locked}"):
            Trainer(toy_model, locked, verbose=0).fit(toy_data, epochs=1)
        with pytest.raises(GenzooError, match=f"cannot create {locked / 'run'}"):
            Trainer(toy_model, locked / "run", verbose=0).fit(toy_data, epochs=1)
    finally:
        locked.chmod(0o700)


def test_epochs_against_the_checkpoint(toy_model, toy_data, tmp_path, capsys):
    out = tmp_path / "run"
    Trainer(toy_model, out, verbose=0, preview_count=0).fit(toy_data, epochs=2)
    with pytest.raises(GenzooError, match=r"already holds 2 epochs.*--epochs 2 or more"):
        Trainer(toy_model, out, verbose=0).fit(toy_data, epochs=1)
    # A kill after the last checkpoint but before model.h5: the same command finishes it.
    (out / "model.h5").unlink()
    Trainer(toy_model, out, verbose=2, preview_count=0).fit(toy_data, epochs=2)
    assert read_header(out / "model.h5").metadata["metrics"]["epochs"] == 2
    assert "already complete" in capsys.readouterr().out


def test_the_cli_says_each_refusal_in_one_line(toy_registry, tmp_path, capsys, monkeypatch):
    from genzoo_core.cli import main

    monkeypatch.delenv("GENZOO_DEBUG", raising=False)
    images = np.random.default_rng(0).integers(0, 256, (16, 4, 4, 1), dtype=np.uint8)
    np.savez(tmp_path / "toy.npz", x_train=images, y_train=np.arange(16) % 3)
    out = tmp_path / "run"
    argv = ["train", "toygan", "--data", str(tmp_path / "toy.npz"), "--out", str(out), "-q"]
    assert main([*argv, "--epochs", "1"], registry=toy_registry) == 0
    capsys.readouterr()
    for extra, says in (
        (["--epochs", "2", "--config", "units=4"], "config key 'units' is 4 here but 8"),
        (["--epochs", "2", "--steps-per-epoch", "0"], "--steps-per-epoch must be at least 1"),
        (["--epochs", "2", "--batch-size", "0"], "--batch-size must be at least 1"),
    ):
        assert main([*argv, *extra], registry=toy_registry) == 1
        err = capsys.readouterr().err
        assert err.startswith("genzoo: error: ") and says in err, err
        assert err.count("\n") == 1 and "Traceback" not in err
    # The advice of a divergence, followed: a lower learning rate resumes the run.
    assert main([*argv, "--epochs", "2", "--config", "learning_rate=0.001"],
                registry=toy_registry) == 0
    assert "learning_rate 0.01 -> 0.001" in (out / "resume.log").read_text()


# -- the run folder's owner: one header read, one resume decision --------------------------


def count_checkpoint_reads(monkeypatch, out):
    """Count the reads of ``out/checkpoint.h5``'s header from here on."""
    from genzoo_core import weights

    reads = []
    original = weights.read_header

    def counting(path):
        if Path(path) == out / "checkpoint.h5":
            reads.append(path)
        return original(path)

    monkeypatch.setattr(weights, "read_header", counting)
    return reads


def test_train_reads_the_checkpoint_header_once_to_resume(toy_registry, toy_data, tmp_path,
                                                         monkeypatch):
    out = tmp_path / "run"
    genzoo_core.train("toygan", toy_data, out, epochs=1, verbose=0, preview_count=0)
    reads = count_checkpoint_reads(monkeypatch, out)
    model = genzoo_core.train("toygan", toy_data, out, epochs=2, verbose=0, preview_count=0,
                              config={"learning_rate": 1e-3})
    # Once for the config, the decision and the restore together; epoch 2 was trained.
    assert len(reads) == 1
    assert model.config["learning_rate"] == 1e-3
    assert read_header(out / "checkpoint.h5").training_state["epoch"] == 2


def test_run_decides_resume_and_rereads_a_rewritten_checkpoint(toy_registry, toy_data,
                                                              tmp_path, monkeypatch):
    from genzoo_core.run import Run

    out = tmp_path / "run"
    run = Run(out)
    spec = genzoo_core.get_spec("toygan")
    assert run.header() is None and run.resume(spec, spec.resolve_config()) is None
    assert run.config_for(spec, {"units": 4})["units"] == 4  # a new run: the config alone
    Trainer(genzoo_core.create("toygan"), run, verbose=0, preview_count=0).fit(toy_data,
                                                                              epochs=1)
    reads = count_checkpoint_reads(monkeypatch, out)
    config = run.config_for(spec, {"learning_rate": 1e-3})
    assert config["units"] == 8 and config["learning_rate"] == 1e-3
    resume = run.resume(spec, config, {"batch_size": 16, "epochs": 3, "steps_per_epoch": None})
    assert len(reads) == 1 and resume.epoch == 1 and resume.history == resume.changes
    assert resume.changes == [
        {"epoch": 1, "key": "learning_rate", "from": 0.01, "to": 0.001},
        {"epoch": 1, "key": "trainer.batch_size", "from": 8, "to": 16},
        {"epoch": 1, "key": "trainer.epochs", "from": 1, "to": 3},
    ]
    assert run.resume_line(resume, 3) == (
        f"resuming from {out / 'checkpoint.h5'}: 1 of 3 epochs done; changed: learning_rate "
        f"0.01 -> 0.001, trainer.batch_size 8 -> 16, trainer.epochs 1 -> 3")
    with pytest.raises(GenzooError, match="'units' is 4 here but 8"):
        run.resume(spec, {**config, "units": 4})
    with pytest.raises(GenzooError, match="already holds 1 epochs, more than the 0"):
        run.resume(spec, config, {"batch_size": 8, "epochs": 0, "steps_per_epoch": None})
    assert len(reads) == 1  # every answer came from the one read
    # A checkpoint written since (by a trainer with its own Run: one read) is read anew.
    Trainer(genzoo_core.create("toygan"), out, verbose=0, preview_count=0).fit(toy_data,
                                                                              epochs=2)
    assert len(reads) == 2
    assert run.header().training_state["epoch"] == 2 and len(reads) == 3


def test_run_refuses_another_models_checkpoint_before_building(toy_registry, toy_data,
                                                               tmp_path):
    from genzoo_core.run import Run

    out = tmp_path / "run"
    genzoo_core.train("toygan", toy_data, out, epochs=1, verbose=0, preview_count=0)
    with __import__("h5py").File(out / "checkpoint.h5", "r+") as f:
        f.attrs["model"] = "othergan"
    spec = genzoo_core.get_spec("toygan")
    for decide in (lambda: Run(out).config_for(spec),
                   lambda: Run(out).resume(spec, spec.resolve_config())):
        with pytest.raises(GenzooError, match="checkpoint of model 'othergan', not 'toygan'"):
            decide()


def test_resume_takes_a_key_added_since_the_checkpoint_at_its_default(toy_registry, toy_data,
                                                                      tmp_path):
    """A plugin release that adds a config key (default: the old behaviour) resumes old runs."""
    import dataclasses

    from genzoo_core.run import Run

    out = tmp_path / "run"
    Trainer(genzoo_core.create("toygan"), out, verbose=0, preview_count=0).fit(toy_data,
                                                                              epochs=1)
    spec = genzoo_core.get_spec("toygan")
    newer = dataclasses.replace(spec, default_config={**spec.default_config, "gained": 3})
    config = {**Run(out).header().config, "gained": 3}
    assert Run(out).resume(newer, config).changes == []
    with pytest.raises(GenzooError, match="'gained' is 4 here but 3"):
        Run(out).resume(newer, {**config, "gained": 4})


def test_train_stores_the_batch_size_it_trained_with_in_the_config(toy_registry, toy_data,
                                                                   tmp_path):
    """A model whose config holds batch_size records the trainer's batch, not its default."""
    model = genzoo_core.train("toygan", toy_data, tmp_path, epochs=1, batch_size=16,
                              verbose=0)
    assert model.config["batch_size"] == 16
    assert genzoo_core.read_header(tmp_path / "model.h5").config["batch_size"] == 16
