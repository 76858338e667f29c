"""The strategies ``genzoo train --strategy`` offers, and the ``TF_CONFIG`` of a multi-worker job.

- ``default``: TensorFlow's current strategy (one device);
- ``mirrored``: ``tf.distribute.MirroredStrategy`` over the local devices;
- ``multi-worker``: ``tf.distribute.MultiWorkerMirroredStrategy``, one process per
  worker, the cluster read from the ``TF_CONFIG`` environment variable.

:func:`read_tf_config` checks ``TF_CONFIG`` without importing TensorFlow, so a
missing or malformed one is one error line before any worker waits for the
others. :func:`make_strategy` must run before any other TensorFlow operation:
``MultiWorkerMirroredStrategy`` configures the collective ops of the process,
which TensorFlow only allows before it initialises its devices.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genzoo_core.errors import GenzooError

__all__ = [
    "STRATEGIES", "TF_CONFIG_EXAMPLE", "ClusterConfig", "check_strategy", "lost_worker_error",
    "make_strategy", "read_tf_config",
]

STRATEGIES = ("default", "mirrored", "multi-worker")
"""The choices of ``genzoo train --strategy``."""

TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}\''
)
"""A ``TF_CONFIG`` for the first of two workers (the second one says ``"index": 1``)."""

_TASK_TYPES = ("chief", "worker")


@dataclass(frozen=True)
class ClusterConfig:
    """A checked ``TF_CONFIG``: the cluster and this process's task in it.

    Attributes:
        cluster: task type (``"worker"``, and ``"chief"`` when there is one) to its
            ``host:port`` addresses.
        task_type: this process's task type.
        task_index: this process's index among the tasks of its type.
    """

    cluster: dict[str, list[str]]
    task_type: str
    task_index: int

    @property
    def num_workers(self) -> int:
        """The processes that train: every chief and worker."""
        return sum(len(self.cluster.get(kind, [])) for kind in _TASK_TYPES)

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the run folder: the chief, else worker 0."""
        if "chief" in self.cluster:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0


def _bad(reason: str) -> GenzooError:
    return GenzooError(
        f"--strategy multi-worker needs TF_CONFIG on every worker: {reason}; set it, e.g. "
        f"{TF_CONFIG_EXAMPLE} on the first machine and \"index\": 1 on the second"
    )


def _check_address(kind: str, address: Any) -> str:
    if not isinstance(address, str) or not address.strip():
        raise _bad(f"cluster.{kind} holds {json.dumps(address)}, not a \"host:port\" string")
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad(f"cluster.{kind} address {json.dumps(address)} is not \"host:port\" "
                   f"with a port from 1 to 65535")
    return address


def read_tf_config(environ: Mapping[str, str] | None = None) -> ClusterConfig:
    """Check the ``TF_CONFIG`` environment variable and return the cluster it describes.

    Imports no TensorFlow. A cluster of ``worker`` tasks (and at most one ``chief``)
    is accepted; parameter servers and evaluators are not, since ``genzoo train``
    runs ``MultiWorkerMirroredStrategy`` on every task.

    Args:
        environ: the environment to read (default ``os.environ``).

    Raises:
        GenzooError: ``TF_CONFIG`` is unset, not JSON, or does not describe a
            cluster with this task in it; the message shows a valid example.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "")
    if not text.strip():
        raise _bad("TF_CONFIG is not set")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(f"TF_CONFIG is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(config, dict):
        raise _bad("TF_CONFIG is not a JSON object")
    cluster = config.get("cluster")
    if not isinstance(cluster, dict) or not cluster:
        raise _bad("TF_CONFIG has no \"cluster\" object")
    others = sorted(set(cluster) - set(_TASK_TYPES))
    if others:
        raise _bad(f"its cluster has {', '.join(others)} tasks, but multi-worker training "
                   f"runs only \"worker\" tasks (and at most one \"chief\")")
    checked: dict[str, list[str]] = {}
    for kind in _TASK_TYPES:
        if kind not in cluster:
            continue
        addresses = cluster[kind]
        if not isinstance(addresses, list) or not addresses:
            raise _bad(f"cluster.{kind} is not a non-empty list of \"host:port\" addresses")
        checked[kind] = [_check_address(kind, address) for address in addresses]
    if "worker" not in checked:
        raise _bad("its cluster has no \"worker\" list")
    if len(checked.get("chief", [])) > 1:
        raise _bad("its cluster has more than one chief")
    everyone = [address for addresses in checked.values() for address in addresses]
    if len(set(everyone)) != len(everyone):
        raise _bad("two tasks of its cluster have the same address")
    task = config.get("task")
    if not isinstance(task, dict):
        raise _bad("TF_CONFIG has no \"task\" object saying which task this process is")
    task_type, index = task.get("type"), task.get("index")
    if task_type not in checked:
        raise _bad(f"task.type is {json.dumps(task_type)}, not one of the cluster's task "
                   f"types ({', '.join(json.dumps(kind) for kind in checked)})")
    if isinstance(index, bool) or not isinstance(index, int) or not (
        0 <= index < len(checked[task_type])
    ):
        raise _bad(f"task.index is {json.dumps(index)}, not an index into cluster."
                   f"{task_type} (0 to {len(checked[task_type]) - 1})")
    return ClusterConfig(checked, task_type, index)


def check_strategy(name: str) -> ClusterConfig | None:
    """Check what strategy ``name`` needs before TensorFlow loads; the cluster for multi-worker.

    Raises:
        GenzooError: an unknown name, or (for ``multi-worker``) a bad ``TF_CONFIG``.
    """
    if name not in STRATEGIES:
        raise GenzooError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    return read_tf_config() if name == "multi-worker" else None


def make_strategy(name: str) -> Any:
    """The ``tf.distribute.Strategy`` that ``--strategy name`` asks for; ``None`` for default.

    Call it before any other TensorFlow operation (``multi-worker`` configures the
    process's collective ops, which TensorFlow allows only before its devices are
    initialised). ``multi-worker`` blocks until every worker of ``TF_CONFIG`` has
    started, then gives SIGTERM its default action back (TensorFlow's preemption
    handling takes it over, so that ``kill`` would no longer stop a worker; a genzoo
    run resumes from its folder instead).

    Raises:
        GenzooError: an unknown name, a bad ``TF_CONFIG``, or TensorFlow already
            initialised in this process.
    """
    check_strategy(name)
    if name == "default":
        return None
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:  # TensorFlow's devices were initialised before
        raise GenzooError(
            f"cannot start the multi-worker strategy ({str(exc).strip().splitlines()[0]}): "
            f"create it before any other TensorFlow operation, in a new process"
        ) from None
    # TensorFlow's preemption notifier took SIGTERM over: SIGTERM ends the process again.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return strategy


_LOST = ("UnavailableError", "AbortedError", "CancelledError", "DeadlineExceededError")
_TASK = re.compile(r"/job:(chief|worker)(?:/replica:\d+)?/task:(\d+)")


def lost_worker_error(
    exc: BaseException, cluster: ClusterConfig, out_dir: str | os.PathLike[str]
) -> GenzooError | None:
    """The error line for a multi-worker job that lost a worker; ``None`` for other errors.

    When one worker dies, TensorFlow aborts the collective operations of the others
    (``UnavailableError``: a peer stopped sending heartbeats, or its socket closed).
    The run folder then holds the chief's last checkpoint, and the same command on
    every worker resumes from it.
    """
    if type(exc).__name__ not in _LOST:
        return None
    me = (cluster.task_type, cluster.task_index)
    others = sorted({(kind, int(index)) for kind, index in _TASK.findall(str(exc)[:20000])}
                    - {me})
    who = " and ".join(f"{kind} {index}" for kind, index in others) or "another worker"
    return GenzooError(
        f"the multi-worker job lost {who} ({type(exc).__name__}): start the same command "
        f"on every worker again to resume from the chief's last checkpoint in {out_dir}"
    )
