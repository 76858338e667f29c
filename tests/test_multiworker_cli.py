"""``genzoo train --strategy multi-worker``: TF_CONFIG, two local workers, resume after a kill.

The slow tests start two ``genzoo train`` processes on 127.0.0.1 with the same
command and the same run folder, as two machines sharing a folder would. Every
wait is bounded; a worker left running is killed. A ``sitecustomize`` module on
the workers' path records (with Python's audit hooks) every file each worker
creates, renames or removes in the run folder, so the tests see which worker
wrote what.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TOY, free_ports, one_error_line, run_cli, write_distribution

from genzoo_core.distribute import lost_worker_error, read_tf_config
from genzoo_core.errors import GenzooError

# Records the run folder's writes of one worker: "EVENT PATH" lines in GENZOO_TEST_WRITES.
SITECUSTOMIZE = """\
import os
import sys

_watch = os.environ.get("GENZOO_TEST_WATCH")
_record = os.environ.get("GENZOO_TEST_WRITES")
if _watch and _record:
    _watch = os.path.abspath(_watch)
    _out = open(_record, "a", buffering=1)
    _busy = []
    _WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND

    def _note(event, path):
        if isinstance(path, (str, os.PathLike)):
            path = os.path.abspath(os.fspath(path))
            if path == _watch or path.startswith(_watch + os.sep):
                _out.write(f"{event} {os.path.relpath(path, _watch)}\\n")

    def _hook(event, args):
        if _busy:
            return
        _busy.append(1)
        try:
            if event == "open":
                path, mode, flags = args
                if (isinstance(flags, int) and flags & _WRITE) or (
                    isinstance(mode, str) and set(mode) & set("wax+")
                ):
                    _note("write", path)
            elif event in ("os.rename", "os.replace"):
                _note(event, args[1])
            elif event in ("os.remove", "os.unlink", "os.mkdir", "os.rmdir"):
                _note(event, args[0])
        finally:
            _busy.pop()

    sys.addaudithook(_hook)
"""

START_TIMEOUT = 120  # both workers import TensorFlow and meet (seconds, on a busy machine)
RUN_TIMEOUT = 180  # a whole tiny run
LOST_TIMEOUT = 45  # TensorFlow notices a dead peer after about 10 s of missed heartbeats


# -- TF_CONFIG, in-process ----------------------------------------------------------------

TWO_WORKERS = {"worker": ["127.0.0.1:20001", "127.0.0.1:20002"]}


@pytest.mark.parametrize(
    ("tf_config", "said"),
    [
        (None, "TF_CONFIG is not set"),
        ("{cluster", "TF_CONFIG is not valid JSON"),
        ('["worker"]', "not a JSON object"),
        (json.dumps({"task": {"type": "worker", "index": 0}}), 'no "cluster" object'),
        (json.dumps({"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}),
         "cluster.worker is not a non-empty list"),
        (json.dumps({"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker",
                                                                   "index": 0}}),
         'is not "host:port"'),
        (json.dumps({"cluster": {**TWO_WORKERS, "ps": ["127.0.0.1:20003"]},
                     "task": {"type": "worker", "index": 0}}), "has ps tasks"),
        (json.dumps({"cluster": TWO_WORKERS}), 'no "task" object'),
        (json.dumps({"cluster": TWO_WORKERS, "task": {"type": "worker", "index": 2}}),
         "task.index is 2, not an index into cluster.worker (0 to 1)"),
        (json.dumps({"cluster": TWO_WORKERS, "task": {"type": "chief", "index": 0}}),
         'task.type is "chief"'),
    ],
)
def test_bad_tf_config_is_one_line_before_tensorflow_starts(
    tf_config, said, toy_registry, tmp_path, monkeypatch, capsys
):
    import genzoo_core.cli.train as train_module

    def must_not_run(name):
        raise AssertionError("the strategy was made although TF_CONFIG is bad")

    monkeypatch.setattr(train_module, "make_strategy", must_not_run)
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    np.savez(tmp_path / "toy.npz", x_train=np.zeros((16, 4, 4, 1), np.uint8))
    code, _, err = run_cli(["train", "toygan", "--data", str(tmp_path / "toy.npz"), "--epochs",
                            "1", "--out", str(tmp_path / "run"), "--strategy", "multi-worker"],
                           toy_registry, capsys)
    assert code == 1 and one_error_line(err), err
    assert said in err
    assert "needs TF_CONFIG on every worker" in err
    assert '{"cluster": {"worker": ["host1:12345", "host2:12345"]}' in err  # the example
    assert not (tmp_path / "run").exists()


def test_read_tf_config_finds_the_chief():
    worker = {"cluster": TWO_WORKERS, "task": {"type": "worker", "index": 1}}
    cluster = read_tf_config({"TF_CONFIG": json.dumps(worker)})
    assert (cluster.task_type, cluster.task_index, cluster.num_workers) == ("worker", 1, 2)
    assert not cluster.is_chief
    worker["task"]["index"] = 0
    assert read_tf_config({"TF_CONFIG": json.dumps(worker)}).is_chief
    with_chief = {"cluster": {**TWO_WORKERS, "chief": ["127.0.0.1:20000"]},
                  "task": {"type": "worker", "index": 0}}
    cluster = read_tf_config({"TF_CONFIG": json.dumps(with_chief)})
    assert cluster.num_workers == 3 and not cluster.is_chief
    with_chief["task"] = {"type": "chief", "index": 0}
    assert read_tf_config({"TF_CONFIG": json.dumps(with_chief)}).is_chief
    with pytest.raises(GenzooError, match="same address"):
        read_tf_config({"TF_CONFIG": json.dumps(
            {"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}})})


def test_lost_worker_error_names_the_other_worker():
    cluster = read_tf_config({"TF_CONFIG": json.dumps(
        {"cluster": TWO_WORKERS, "task": {"type": "worker", "index": 0}})})

    class UnavailableError(Exception):  # TensorFlow's is matched by name
        pass

    exc = UnavailableError(
        "{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:0/"
        "device:CPU:0}} Collective ops is aborted by: Error reported from /job:worker/task:1: "
        "The following tasks are unhealthy (stopped sending heartbeats):\n"
        "/job:worker/replica:0/task:1"
    )
    error = lost_worker_error(exc, cluster, "runs/x")
    assert error is not None
    assert str(error).startswith("the multi-worker job lost worker 1 (UnavailableError): ")
    assert "start the same command on every worker again" in str(error)
    assert "runs/x" in str(error)
    assert lost_worker_error(ValueError("/job:worker/task:1"), cluster, "runs/x") is None


def test_recipe_runs_under_the_chosen_strategy(toy_registry, tmp_path, monkeypatch, capsys):
    import tensorflow as tf

    import genzoo_core.recipes

    seen = {}

    def fake_run_recipe(recipe, out_dir, **options):
        seen.update(options)

    monkeypatch.setattr(genzoo_core.recipes, "run_recipe", fake_run_recipe)
    recipe = tmp_path / "toy.toml"
    recipe.write_text('name = "toygan/toy"\ndataset = "toy-data"\n\n[train]\nepochs = 1\n',
                      encoding="utf-8")
    code, _, err = run_cli(["train", "--recipe", str(recipe), "--out", str(tmp_path / "run"),
                            "--strategy", "mirrored", "-q"], toy_registry, capsys)
    assert code == 0, err
    assert isinstance(seen["strategy"], tf.distribute.MirroredStrategy)


# -- two worker processes -----------------------------------------------------------------


class Job:
    """Two ``genzoo train --strategy multi-worker`` workers on 127.0.0.1, one run folder."""

    def __init__(self, tmp_path: Path, argv: list[str]) -> None:
        self.tmp = tmp_path
        self.out = tmp_path / "run"
        self.argv = [*argv, "--out", str(self.out), "--strategy", "multi-worker"]
        site = tmp_path / "site"
        write_distribution(site, "genzoo-toy", "0.0.1", {"toy": "toyzoo.plugin"}, {})
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.site = site
        self.cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.launches = 0

    def writes(self, index: int) -> list[str]:
        """What worker ``index`` created, renamed into place or removed in the run folder."""
        path = self.tmp / f"writes{index}.txt"
        return path.read_text().splitlines() if path.exists() else []

    def start(self) -> None:
        """Start both workers with the same command (the same TF_CONFIG cluster)."""
        self.launches += 1
        self.procs, self.logs = [], []
        for index in range(2):
            env = dict(os.environ)
            env.update(
                TF_CONFIG=json.dumps({"cluster": self.cluster,
                                      "task": {"type": "worker", "index": index}}),
                PYTHONPATH=os.pathsep.join([str(self.site), str(TOY)]),
                TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
                GENZOO_TEST_WATCH=str(self.out),
                GENZOO_TEST_WRITES=str(self.tmp / f"writes{index}.txt"),
            )
            log = self.tmp / f"worker{index}-{self.launches}.log"
            with open(log, "wb") as out:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "genzoo_core", "train", *self.argv],
                    stdout=out, stderr=subprocess.STDOUT, env=env,
                ))
            self.logs.append(log)

    def output(self, index: int) -> str:
        return self.logs[index].read_text(errors="replace")

    def outputs(self) -> str:
        return "\n".join(
            f"--- worker {index} (exit {proc.returncode}) ---\n{self.output(index)[-4000:]}"
            for index, proc in enumerate(self.procs)
        )

    def wait(self, timeout: float, index: int | None = None) -> None:
        """Wait for the workers (or one); on timeout kill every worker and fail."""
        deadline = time.monotonic() + timeout
        procs = self.procs if index is None else [self.procs[index]]
        try:
            for proc in procs:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"workers still running after {timeout:.0f} s\n{self.outputs()}")

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait()


@pytest.fixture
def job_factory(tmp_path):
    jobs: list[Job] = []

    def make(argv: list[str]) -> Job:
        jobs.append(Job(tmp_path, argv))
        return jobs[-1]

    yield make
    for job in jobs:
        job.kill()


def _toy_data(path: Path, count: int) -> Path:
    images = np.random.default_rng(0).integers(0, 256, (count, 4, 4, 1), dtype=np.uint8)
    np.savez(path, x_train=images)
    return path


def _log_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_two_workers_train_into_one_run_folder(job_factory, toy_registry, tmp_path):
    import genzoo_core
    from genzoo_core.weights import read_header

    data = _toy_data(tmp_path / "toy.npz", 64)
    job = job_factory(["toygan", "--data", str(data), "--epochs", "2", "--batch-size", "8"])
    started = time.monotonic()
    job.start()
    job.wait(RUN_TIMEOUT)
    seconds = time.monotonic() - started
    assert [proc.returncode for proc in job.procs] == [0, 0], job.outputs()
    assert "worker 0 of 2 (chief, writes the run folder)" in job.output(0)
    assert "worker 1 of 2 (not the chief)" in job.output(1)

    out = job.out
    assert read_header(out / "checkpoint.h5").training_state["epoch"] == 2
    header = read_header(out / "model.h5")
    assert header.metadata["metrics"]["epochs"] == 2
    assert [row["epoch"] for row in _log_rows(out)] == ["1", "2"]
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "epoch_0001.png", "epoch_0002.png"]
    model = genzoo_core.load(str(out / "model.h5"), registry=toy_registry)
    assert model.sample(2, seed=0).shape == (2, 4, 4, 1)

    # Only the chief wrote the run folder: every file in it, the other worker nothing.
    assert job.writes(1) == [], job.writes(1)
    written = {line.split(" ", 1)[1] for line in job.writes(0)}  # written or renamed to
    assert {"checkpoint.h5", "model.h5", "log.csv", "samples/epoch_0001.png",
            "samples/epoch_0002.png"} <= written, job.writes(0)
    print(f"two workers, 2 epochs of 8 steps: {seconds:.1f} s from start to exit")


@pytest.mark.slow
def test_killed_worker_then_the_same_command_resumes(job_factory, tmp_path):
    from genzoo_core.weights import read_header

    epochs = 4
    data = _toy_data(tmp_path / "toy.npz", 320)
    job = job_factory(["toygan", "--data", str(data), "--epochs", str(epochs),
                       "--batch-size", "8"])
    checkpoint = job.out / "checkpoint.h5"
    job.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not checkpoint.exists():  # renamed into place: complete once it is there
        if time.monotonic() > deadline or any(p.poll() is not None for p in job.procs):
            job.kill()
            pytest.fail(f"no checkpoint within {START_TIMEOUT} s\n{job.outputs()}")
        time.sleep(0.05)

    # SIGKILL the other worker: the chief's next collective step fails once TensorFlow misses
    # its heartbeats, and the chief exits with one line saying how to resume.
    job.procs[1].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    job.wait(LOST_TIMEOUT, index=0)
    noticed = time.monotonic() - killed
    assert job.procs[0].returncode == 1, job.outputs()
    last_line = job.output(0).strip().splitlines()[-1]
    assert last_line.startswith("genzoo: error: the multi-worker job lost worker 1 "), last_line
    assert "start the same command on every worker again" in last_line

    done = read_header(checkpoint).training_state["epoch"]
    assert 1 <= done < epochs, f"the run finished before the kill ({done} epochs)"
    before = _log_rows(job.out)[:done]
    assert [row["epoch"] for row in before] == [str(e) for e in range(1, done + 1)]
    assert not (job.out / "model.h5").exists()

    started = time.monotonic()
    job.start()  # the same command, on both workers
    job.wait(RUN_TIMEOUT)
    resumed = time.monotonic() - started
    assert [proc.returncode for proc in job.procs] == [0, 0], job.outputs()
    for index in range(2):
        assert f"resuming from {checkpoint}: {done} of {epochs} epochs done" in job.output(
            index), job.outputs()
    rows = _log_rows(job.out)
    assert [row["epoch"] for row in rows] == [str(e) for e in range(1, epochs + 1)]
    assert rows[:done] == before  # kept, not trained again
    assert read_header(checkpoint).training_state["epoch"] == epochs
    assert read_header(job.out / "model.h5").metadata["metrics"]["epochs"] == epochs
    assert f"resumed at epoch {done} of {epochs}" in (job.out / "resume.log").read_text()
    assert not [line for line in job.writes(1)], job.writes(1)
    print(f"kill noticed after {noticed:.1f} s; resumed run (epochs {done + 1}-{epochs}) "
          f"took {resumed:.1f} s from start to exit")
