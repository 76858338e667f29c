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
    assert rows[0] == "epoch,d_loss,g_loss,seconds"
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    assert set(history.history) >= {"d_loss", "g_loss"} and len(history.history["d_loss"]) == 2
    checkpoint = read_header(out / "checkpoint.h5")
    assert checkpoint.training_state == {"epoch": 2} and checkpoint.has_optimizers
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


def test_resume_refuses_a_checkpoint_of_another_config(toy_registry, toy_data, tmp_path):
    out = tmp_path / "run"
    Trainer(genzoo_core.create("toygan"), out, verbose=0, preview_count=0).fit(toy_data, epochs=1)
    with pytest.raises(GenzooError, match="another config"):
        Trainer(genzoo_core.create("toygan", units=4), out, verbose=0).fit(toy_data, epochs=2)


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


def test_xla_follows_the_model_preference(toy_model, toy_data, tmp_path, monkeypatch):
    assert Trainer(toy_model, tmp_path / "a", verbose=0).jit_compile is False
    monkeypatch.setattr(type(toy_model), "jit_compile", True)
    trainer = Trainer(toy_model, tmp_path / "b", verbose=0, preview_count=0)
    assert trainer.jit_compile is True
    history = trainer.fit(toy_data, epochs=1)
    assert np.isfinite(history.history["d_loss"][0])
    assert Trainer(toy_model, tmp_path / "c", verbose=0, jit_compile=False).jit_compile is False
