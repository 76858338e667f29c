"""Keras backends: inference on every backend, training on TensorFlow.

Keras 3 runs one model on TensorFlow, JAX and PyTorch. genzoo's inference paths
(sampling, translation, likelihoods, encoding and decoding) are written with
``keras.ops`` and numpy, so they run on whichever backend ``KERAS_BACKEND``
names. Training stays on TensorFlow: the trainer, ``tf.data`` pipelines and
``tf.distribute`` strategies are TensorFlow's, and :func:`require_tensorflow`
says so in one line instead of a traceback from deep inside a train step.

A plugin wraps the networks it samples with in :func:`inference_function` (a
``tf.function`` on TensorFlow, the plain function elsewhere) and turns what
comes out into numpy with :func:`to_numpy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import keras
import numpy as np

from genzoo_core.errors import GenzooError

F = TypeVar("F", bound=Callable[..., Any])

TRAINING_BACKEND = "tensorflow"
"""The one Keras backend genzoo trains on."""


class BackendError(GenzooError):
    """A task needs another Keras backend than the one ``KERAS_BACKEND`` chose."""


def keras_backend() -> str:
    """The name of the Keras backend this process runs (``keras.backend.backend()``)."""
    return str(keras.backend.backend())


def require_tensorflow(task: str = "training") -> None:
    """Raise a one-line :class:`BackendError` unless Keras runs on TensorFlow.

    Args:
        task: what needs TensorFlow, for the message (``"training"``).
    """
    backend = keras_backend()
    if backend != TRAINING_BACKEND:
        raise BackendError(
            f"{task} needs the TensorFlow backend, but Keras runs on {backend!r} "
            f"(KERAS_BACKEND={backend}): run it with KERAS_BACKEND=tensorflow; "
            "sampling, translation and likelihoods work on every backend"
        )


def inference_function(fn: F) -> F:
    """``fn`` compiled for inference on the current backend.

    On TensorFlow it is a ``tf.function`` (one graph per input signature, with
    ``reduce_retracing``); on JAX and PyTorch it runs eagerly as written, so it
    must use ``keras.ops`` (not ``tf.*``) for anything beyond calling networks.
    """
    if keras_backend() != TRAINING_BACKEND:
        return fn
    import tensorflow as tf

    return tf.function(fn, reduce_retracing=True)


def to_numpy(value: Any) -> np.ndarray:
    """A backend tensor (or numpy array) as numpy; floats narrower than 32 bits as float32.

    ``keras.ops.convert_to_numpy`` handles every backend (a PyTorch tensor that
    tracks gradients is detached first).
    """
    array = np.asarray(keras.ops.convert_to_numpy(value))
    if array.dtype.kind == "f" and array.dtype.itemsize < 4:
        array = array.astype(np.float32)
    elif array.dtype.kind == "V" or str(array.dtype) == "bfloat16":
        array = array.astype(np.float32)
    return array
