"""XLA by measurement: the probe, its cache, what it must not change, and how it is chosen.

The test session runs with ``GENZOO_JIT=off``; these tests ask for the probe with
``jit_compile="auto"``. Most make the probe see fixed step times (after really
running each step), so that either variant can be made to win.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import run_cli

import genzoo_core
from genzoo_core import GenzooError, Trainer, jit
from genzoo_core.weights import read_header


def iterations(model):
    return {name: int(opt.iterations.numpy()) for name, opt in model.optimizers.items()}


def state(model):
    return [np.array(v.numpy()) for v in jit.state_variables(model)]


@pytest.fixture
def timed(monkeypatch):
    """``timed(xla_seconds, plain_seconds)``: the probe sees these times; returns its calls."""

    def install(xla_seconds, plain_seconds):
        real = jit._time_step
        calls = {"xla": 0, "plain": 0}

        def fake(step, batch, xla):
            real(step, batch, xla)
            calls["xla" if xla else "plain"] += 1
            return xla_seconds if xla else plain_seconds

        monkeypatch.setattr(jit, "_time_step", fake)
        return calls

    return install


@pytest.fixture
def builds(monkeypatch):
    """How often the Trainer built a step, by variant."""
    made = {True: 0, False: 0}
    real = Trainer._make_step

    def counted(self, jit_compile):
        made[bool(jit_compile)] += 1
        return real(self, jit_compile)

    monkeypatch.setattr(Trainer, "_make_step", counted)
    return made


def jit_home():
    return Path(os.environ["GENZOO_HOME"]) / "jit"


@pytest.fixture
def fake_probe(monkeypatch):
    """``fake_probe(xla_ms, plain_ms)``: ``jit.probe`` reports these without measuring.

    Returns the list of its calls. The step it hands back is built, not run, so no
    test using it compiles with XLA.
    """

    def install(xla_ms=20.0, plain_ms=10.0):
        calls = []

        def probe(model, make_step, batch, **options):
            calls.append(batch)
            choice = xla_ms < plain_ms * (1 - jit.XLA_MARGIN)
            return jit.ProbeResult(choice, xla_ms, plain_ms, 0.5, 8, None), make_step(choice)

        monkeypatch.setattr(jit, "probe", probe)
        return calls

    return install


# -- the decision rule, on stand-in steps -----------------------------------------------------


class FakeStep:
    """A compiled step stand-in: counts its calls, adds one to ``variable``, may fail."""

    def __init__(self, variable=None, fail_from=None):
        self.variable, self.fail_from, self.calls = variable, fail_from, 0

    def get_concrete_function(self, batch):
        return SimpleNamespace(variables=[])

    def __call__(self, batch):
        self.calls += 1
        if self.variable is not None:
            self.variable.assign_add(1.0)
        if self.fail_from is not None and self.calls >= self.fail_from:
            raise tf.errors.InvalidArgumentError(
                None, None, "Detected unsupported operations when trying to compile graph\n...")
        return {"loss": 0.0}


def fake_steps(monkeypatch, xla_seconds, plain_seconds, **xla_options):
    """Stand-in steps (XLA's with ``xla_options``) that time as given; (model, make_step, steps)."""
    steps = {True: FakeStep(**xla_options), False: FakeStep()}
    monkeypatch.setattr(jit, "_time_step", lambda step, batch, xla: (
        step(batch), xla_seconds if xla else plain_seconds)[1])
    return SimpleNamespace(variables=[], optimizers={}), steps.__getitem__, steps


@pytest.mark.parametrize(("xla", "plain", "chosen"), [
    (0.010, 0.020, True),     # XLA twice as fast
    (0.020, 0.010, False),    # XLA slower
    (0.0096, 0.010, True),    # 4% faster: past the margin
    (0.0099, 0.010, False),   # 1% faster: within the margin, plain compiles faster
    (0.010, 0.010, False),
])
def test_the_probe_keeps_the_faster_step(monkeypatch, xla, plain, chosen):
    model, make_step, steps = fake_steps(monkeypatch, xla, plain)
    result, step = jit.probe(model, make_step, batch={})
    assert result.choice is chosen and step is steps[chosen]
    assert result.xla_ms == pytest.approx(xla * 1000)
    assert result.plain_ms == pytest.approx(plain * 1000)
    assert result.steps == jit.PROBE_STEPS and result.error is None
    assert steps[True].calls == steps[False].calls == jit.PROBE_STEPS + 1  # + the compile


def test_the_probe_is_bounded_in_steps_and_time(monkeypatch):
    model, make_step, steps = fake_steps(monkeypatch, 0.01, 0.02)
    result, _ = jit.probe(model, make_step, {}, max_steps=3)
    assert result.steps == 3 and steps[True].calls == steps[False].calls == 4
    model, make_step, steps = fake_steps(monkeypatch, 0.01, 0.02)
    result, _ = jit.probe(model, make_step, {}, budget=0.0)  # spent: still one timed pair
    assert result.steps == 1 and steps[True].calls == 2 and result.xla_ms is not None


@pytest.mark.parametrize("fail_from", [1, 4])  # compiling fails, or a later step does
def test_an_xla_failure_chooses_plain_and_says_why(monkeypatch, fail_from):
    model, make_step, steps = fake_steps(monkeypatch, 0.001, 0.02, fail_from=fail_from)
    result, step = jit.probe(model, make_step, {})
    assert result.choice is False and step is steps[False] and result.xla_ms is None
    assert result.error == ("InvalidArgumentError: Detected unsupported operations when "
                            "trying to compile graph")
    assert result.plain_ms == pytest.approx(20.0)


def test_a_failing_plain_step_raises_with_the_variables_set_back(monkeypatch):
    variable = tf.Variable(5.0)
    steps = {True: FakeStep(variable), False: FakeStep(variable, fail_from=3)}
    model = SimpleNamespace(variables=[variable], optimizers={})
    with pytest.raises(tf.errors.InvalidArgumentError):
        jit.probe(model, steps.__getitem__, {})
    assert steps[False].calls == 3 and float(variable.numpy()) == 5.0


# -- the cache -----------------------------------------------------------------------------


def test_a_cached_decision_skips_the_probe(toy_registry, toy_data, tmp_path, fake_probe,
                                           capsys):
    calls = fake_probe(xla_ms=20.0, plain_ms=10.0)
    first = Trainer(genzoo_core.create("toygan"), tmp_path / "a", verbose=2, preview_count=0,
                    jit_compile="auto")
    first.fit(toy_data, epochs=1)
    assert len(calls) == 1 and first.jit_compile is False
    path = Path(first.jit_decision.cache_path)
    assert path.parent == jit_home() and path.is_file()
    record = json.loads(path.read_text())
    assert record["choice"] is False and record["xla_ms"] == 20.0 and record["plain_ms"] == 10.0
    assert record["key"]["model"] == "toygan" and record["key"]["batch_size"] == 8
    assert record["key"]["tensorflow"] == tf.__version__
    assert record["key"]["keras"] == keras.__version__
    assert record["key"]["cpu_count"] == os.cpu_count()
    assert "CPU" in record["key"]["logical_devices"]
    assert f"-> off (probe 0.5 s; cached in {path})" in capsys.readouterr().out

    calls = fake_probe(xla_ms=1.0, plain_ms=10.0)  # would choose on now, if it measured
    second = Trainer(genzoo_core.create("toygan"), tmp_path / "b", verbose=2, preview_count=0,
                     jit_compile="auto")
    second.fit(toy_data, epochs=1)
    assert calls == [] and second.jit_compile is False
    assert second.jit_probe == {**first.jit_probe, "source": "cache"}
    assert read_header(tmp_path / "b" / "model.h5").metadata["jit_compile"] == second.jit_probe
    printed = capsys.readouterr().out
    assert (f"XLA: off (cached decision from {record['date'][:10]}: 20 ms/step with XLA, "
            f"10 without; {path})") in printed

    # The key: another batch size or architecture is measured again; a training key (the
    # learning rate) is no part of it.
    key = jit.cache_key(genzoo_core.create("toygan"), 8)
    assert jit.cache_path(key) == path
    assert jit.cache_key(genzoo_core.create("toygan", learning_rate=0.02), 8) == key
    for other in (jit.cache_key(genzoo_core.create("toygan"), 16),
                  jit.cache_key(genzoo_core.create("toygan", units=6), 8)):
        assert other != key and jit.cache_path(other) != path
        assert jit.read_cache(other) is None


@pytest.mark.parametrize("damage", ["{not json", "[]", "not utf-8", "no choice", "choice yes",
                                    "other key"])
def test_a_damaged_cache_file_is_ignored(toy_model, damage):
    key = jit.cache_key(toy_model, 8)
    path = jit.cache_path(key)
    path.parent.mkdir(parents=True)
    text = {"no choice": json.dumps({"key": key}),
            "choice yes": json.dumps({"key": key, "choice": "yes"}),
            "other key": json.dumps({"key": {**key, "batch_size": 9}, "choice": True})}
    if damage == "not utf-8":
        path.write_bytes(b"\xff\xfe not text")
    else:
        path.write_text(text.get(damage, damage))
    assert jit.read_cache(key) is None
    path.write_text(json.dumps({"key": key, "choice": True}))
    assert jit.read_cache(key).choice is True  # the same file, undamaged, is read


def test_a_damaged_cache_file_is_measured_again_and_rewritten(toy_model, toy_data, tmp_path,
                                                              fake_probe):
    key = jit.cache_key(toy_model, 8)
    path = jit.cache_path(key)
    path.parent.mkdir(parents=True)
    path.write_text('{"key": {"model": "toyg')  # a write cut short
    calls = fake_probe(xla_ms=20.0, plain_ms=10.0)
    trainer = Trainer(toy_model, tmp_path / "run", verbose=0, preview_count=0,
                      jit_compile="auto")
    trainer.fit(toy_data, epochs=1)
    assert len(calls) == 1 and trainer.jit_probe["source"] == "probe"
    assert json.loads(path.read_text())["choice"] is False
    assert jit.read_cache(key).choice is False
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_a_cache_that_cannot_be_written_is_reported_and_training_goes_on(
        toy_model, toy_data, tmp_path, fake_probe, monkeypatch, capsys):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("GENZOO_HOME", str(blocked))
    fake_probe(xla_ms=20.0, plain_ms=10.0)
    trainer = Trainer(toy_model, tmp_path / "run", verbose=2, preview_count=0,
                      jit_compile="auto")
    trainer.fit(toy_data, epochs=1)
    assert trainer.jit_compile is False and (tmp_path / "run" / "model.h5").is_file()
    assert trainer.jit_decision.cache_error.startswith(str(blocked / "jit"))
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("XLA"))
    assert f"-> off (probe 0.5 s; not cached: {blocked / 'jit'}" in line


# -- choosing without measuring --------------------------------------------------------------


@pytest.mark.parametrize(("setting", "env", "chosen", "source"), [
    (True, "auto", True, "explicit"),
    ("on", None, True, "explicit"),
    ("off", "on", False, "explicit"),
    (False, None, False, "explicit"),
    (None, "on", True, "environment"),
    (None, "OFF", False, "environment"),
])
def test_a_fixed_choice_skips_the_probe(toy_model, toy_data, tmp_path, monkeypatch, builds,
                                        setting, env, chosen, source):
    def refuse(*args, **kwargs):
        raise AssertionError("measured or looked up although the choice was fixed")

    monkeypatch.setattr(jit, "probe", refuse)
    monkeypatch.setattr(jit, "read_cache", refuse)
    if env is None:
        monkeypatch.delenv("GENZOO_JIT")
    else:
        monkeypatch.setenv("GENZOO_JIT", env)
    trainer = Trainer(toy_model, tmp_path / "run", verbose=0, preview_count=0,
                      jit_compile=setting)
    assert trainer.jit_compile is chosen and trainer.jit_decision.source == source
    assert builds == {chosen: 1, not chosen: 0}
    if not chosen:  # (training with XLA on is test_trainer's)
        trainer.fit(toy_data, epochs=1)
        assert builds == {chosen: 1, not chosen: 0}
        assert read_header(tmp_path / "run" / "model.h5").metadata["jit_compile"] == {
            "choice": chosen, "source": source}
    assert trainer.jit_probe is None and not jit_home().exists()


def test_unset_means_auto_and_bad_settings_are_refused(toy_model, tmp_path, monkeypatch):
    monkeypatch.delenv("GENZOO_JIT")
    assert jit.parse_setting(None) == ("auto", None)
    assert Trainer(toy_model, tmp_path / "a", verbose=0).jit_compile is None  # fit decides
    monkeypatch.setenv("GENZOO_JIT", "maybe")
    with pytest.raises(GenzooError, match="GENZOO_JIT must be on, off or auto, got 'maybe'"):
        Trainer(toy_model, tmp_path / "b", verbose=0)
    assert jit.parse_setting("auto") == ("auto", None)  # an explicit auto overrides the variable
    with pytest.raises(GenzooError, match="jit_compile must be True, False, 'auto'"):
        Trainer(toy_model, tmp_path / "c", verbose=0, jit_compile="yes")


# -- the probe on a real model -------------------------------------------------------------


def test_the_probe_sets_every_variable_back(toy_model, toy_data, tmp_path):
    trainer = Trainer(toy_model, tmp_path / "run", verbose=0, preview_count=0,
                      jit_compile=False)
    dataset, _ = trainer._dataset(toy_data)
    batch = next(iter(dataset))
    names = [v.name for v in jit.state_variables(toy_model)]
    assert "seed_generator_state" in names and "iteration" in names  # dropout's seed, optimizers
    before = state(toy_model)
    result, step = jit.probe(toy_model, trainer._make_step, batch, max_steps=3)
    assert result.steps == 3 and result.error is None and result.xla_ms > 0
    assert iterations(toy_model) == {"generator": 0, "discriminator": 0}
    after = state(toy_model)
    assert len(after) == len(before)
    for name, old, new in zip(names, before, after, strict=True):
        np.testing.assert_array_equal(old, new, err_msg=name)
    # The probe's steps did train: one more step changes the weights and iterations.
    step(batch)
    assert iterations(toy_model) == {"generator": 1, "discriminator": 1}
    assert any(not np.array_equal(old, new) for old, new in zip(before, state(toy_model)))


def test_fit_trains_with_the_step_the_probe_chose_and_records_it(toy_model, toy_data, tmp_path,
                                                                  timed, builds, capsys):
    calls = timed(0.010, 0.020)  # XLA wins
    trainer = Trainer(toy_model, tmp_path / "run", verbose=2, preview_count=0,
                      jit_compile="auto")
    assert trainer.jit_compile is None and builds == {True: 0, False: 0}
    history = trainer.fit(toy_data, epochs=1)
    assert np.isfinite(history.history["d_loss"][0])
    assert trainer.jit_compile is True
    assert calls == {"xla": jit.PROBE_STEPS + 1, "plain": jit.PROBE_STEPS + 1}
    assert builds == {True: 1, False: 1}  # training runs the step the probe compiled
    probe = trainer.jit_probe
    assert probe["choice"] is True and probe["source"] == "probe"
    assert probe["xla_ms"] == 10.0 and probe["plain_ms"] == 20.0
    assert probe["steps"] == jit.PROBE_STEPS and probe["date"]
    assert read_header(tmp_path / "run" / "model.h5").metadata["jit_compile"] == probe
    assert read_header(tmp_path / "run" / "checkpoint.h5").metadata["jit_compile"] == probe
    line = next(row for row in capsys.readouterr().out.splitlines()
                if row.startswith("XLA probe:"))
    assert line.startswith("XLA probe: 10 ms/step with XLA, 20 ms/step without -> on (probe ")
    assert line.endswith(f" s; cached in {trainer.jit_decision.cache_path})")
    # The probe's batch is trained on, and no step more: 64 examples / 8 = 8 steps.
    assert iterations(toy_model) == {"generator": 8, "discriminator": 8}
    # A second fit (resuming) keeps the decision and the step.
    trainer.fit(toy_data, epochs=2)
    assert builds == {True: 1, False: 1} and calls["xla"] == jit.PROBE_STEPS + 1


@pytest.fixture
def counted_noise(monkeypatch):
    """The toy's ``tf.random.normal`` drawn from a step counter kept in a variable of its own.

    The variable is none of the model's or the optimizers': only the traced step
    captures it, so the probe must find it there to set it back. Returns the counter.
    """
    counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="noise_counter")
    stateless_normal = tf.random.stateless_normal

    def normal(shape, *args, **kwargs):
        counter.assign_add(1)
        return stateless_normal(shape, seed=tf.stack([counter.read_value(), 0]))

    monkeypatch.setattr(tf.random, "normal", normal)
    return counter


def test_training_after_the_probe_is_training_without_it(toy_registry, toy_data, tmp_path,
                                                        timed, counted_noise):
    def train(out, jit_compile):
        keras.utils.set_random_seed(0)
        counted_noise.assign(0)
        model = genzoo_core.create("toygan")
        trainer = Trainer(model, out, verbose=0, preview_count=0, jit_compile=jit_compile)
        trainer.fit(toy_data, epochs=1)
        return model, trainer

    plain, _ = train(tmp_path / "plain", False)
    calls = timed(0.020, 0.010)  # plain wins
    probed, trainer = train(tmp_path / "probed", "auto")
    assert trainer.jit_probe["source"] == "probe" and trainer.jit_compile is False
    assert calls["plain"] == calls["xla"] == jit.PROBE_STEPS + 1
    assert iterations(probed) == iterations(plain) == {"generator": 8, "discriminator": 8}
    assert int(counted_noise.numpy()) == 8  # one draw per step, the probe's undone
    for a, b in zip(plain.variables, probed.variables, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=a.path)


def test_an_xla_failure_trains_without_it_and_says_why(toy_model, toy_data, tmp_path,
                                                      monkeypatch, capsys):
    stateless_normal = tf.random.stateless_normal

    def normal(shape, *args, **kwargs):  # a Python op: fine in tf.function, not in XLA
        zero = tf.ensure_shape(tf.py_function(lambda: np.float32(0.0), [], tf.float32), [])
        return stateless_normal(shape, seed=[1, 2]) + zero

    monkeypatch.setattr(tf.random, "normal", normal)
    trainer = Trainer(toy_model, tmp_path / "run", verbose=2, preview_count=0,
                      jit_compile="auto")
    history = trainer.fit(toy_data, epochs=1)
    assert np.isfinite(history.history["d_loss"][0])
    assert trainer.jit_compile is False
    probe = trainer.jit_probe
    assert probe["source"] == "probe" and probe["xla_ms"] is None and probe["plain_ms"] > 0
    assert probe["error"]  # the exception's type and first line
    line = next(row for row in capsys.readouterr().out.splitlines()
                if row.startswith("XLA probe:"))
    assert "compiling or running the step with XLA failed (" in line and "-> off" in line
    assert iterations(toy_model) == {"generator": 8, "discriminator": 8}
    cached = jit.read_cache(jit.cache_key(toy_model, 8))
    assert cached.choice is False and cached.error == probe["error"]
    assert "XLA failed: " in cached.describe()


@pytest.mark.parametrize(("flag", "given"), [
    ([], None), (["--jit", "on"], "on"), (["--jit", "off"], "off"), (["--jit", "auto"], "auto"),
])
def test_the_cli_flag_reaches_the_trainer(toy_registry, tmp_path, capsys, monkeypatch,
                                          flag, given):
    seen = []
    init = Trainer.__init__

    def recording(self, *args, jit_compile=None, **kwargs):
        seen.append(jit_compile)
        init(self, *args, jit_compile=False, **kwargs)  # train without XLA or a probe

    monkeypatch.setattr(Trainer, "__init__", recording)
    images = np.random.default_rng(0).integers(0, 256, (32, 4, 4, 1), dtype=np.uint8)
    np.savez(tmp_path / "toy.npz", x_train=images)
    code, _, err = run_cli(["train", "toygan", "--data", str(tmp_path / "toy.npz"),
                            "--epochs", "1", "--out", str(tmp_path / "run"), "-q", *flag],
                           toy_registry, capsys)
    assert code == 0, err
    assert seen == [given]
    with pytest.raises(SystemExit):
        run_cli(["train", "toygan", "--data", "x", "--epochs", "1", "--out", "r",
                 "--jit", "maybe"], toy_registry, capsys)
    assert "invalid choice: 'maybe'" in capsys.readouterr().err


@pytest.mark.parametrize(("outside", "inside"), [(None, "off"), ("auto", "auto")])
def test_a_test_session_trains_without_the_probe_unless_told(pytester, monkeypatch,
                                                            outside, inside):
    pytester.makepyfile(test_inner=f"""
        import os

        def test_setting():
            assert os.environ.get("GENZOO_JIT") == {inside!r}
    """)
    if outside is None:
        monkeypatch.delenv("GENZOO_JIT")
    else:
        monkeypatch.setenv("GENZOO_JIT", outside)
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert os.environ.get("GENZOO_JIT") == outside, "the session's setting outlived it"
