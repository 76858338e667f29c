"""Keras backends: inference on every backend, training on TensorFlow.

Keras 3 runs one model on TensorFlow, JAX and PyTorch. genzoo's inference paths
(sampling, translation, likelihoods, encoding and decoding) are written with
``keras.ops`` and numpy, so they run on whichever backend ``KERAS_BACKEND``
names. Training stays on TensorFlow: the trainer, ``tf.data`` pipelines and
``tf.distribute`` strategies are TensorFlow's, and :func:`require_tensorflow`
says so in one line instead of a traceback from deep inside a train step.

A plugin wraps the functions it samples with in :func:`inference_function` (a
``tf.function`` on TensorFlow, ``jax.jit`` on JAX given the networks they call,
``torch.no_grad()`` on PyTorch) and turns what comes out into numpy with
:func:`to_numpy`; :func:`variable_value` reads a
variable on any backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
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


def inference_function(fn: F, networks: Sequence[Any] = ()) -> F:
    """``fn`` compiled for inference on the current backend.

    - TensorFlow: a ``tf.function`` (one graph per input signature, with
      ``reduce_retracing``).
    - JAX, given the ``networks`` (Keras layers or models) that ``fn`` calls:
      ``jax.jit`` of ``fn`` with those networks' variables handed in at every
      call (a ``keras.StatelessScope`` maps each variable to its current value),
      so weights loaded later are used; one compilation per input shape. Run
      eagerly instead, JAX dispatches a network op by op: several times slower
      (a 50-step DDIM draw of the diffusion U-Net 3x, StackGAN 8x).
    - PyTorch: ``fn`` run eagerly under ``torch.no_grad()``; JAX without
      ``networks``: ``fn`` itself, run eagerly.

    ``fn`` must use ``keras.ops`` (not ``tf.*``) for anything beyond calling
    networks, and must not draw random numbers (take them as inputs, drawn
    from a numpy generator of the seed, so every backend draws the same).
    """
    backend = keras_backend()
    if backend == TRAINING_BACKEND:
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True)
    if backend == "torch":
        return _without_gradients(fn)
    if backend != "jax" or not networks:
        return fn
    import jax

    variables: list[Any] = []

    @jax.jit
    def compiled(values: list[Any], *args: Any) -> Any:
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return fn(*args)

    def run(*args: Any) -> Any:
        if not variables:  # on the first call: the networks are built by then
            variables.extend(v for network in networks for v in network.variables)
        return compiled([v.value for v in variables], *args)

    return run  # type: ignore[return-value]


def _without_gradients(fn: F) -> F:
    """``fn`` run under ``torch.no_grad()``: inference records no graph for backprop."""
    import torch

    def run(*args: Any, **kwargs: Any) -> Any:
        with torch.no_grad():
            return fn(*args, **kwargs)

    return run  # type: ignore[return-value]


def to_numpy(value: Any) -> np.ndarray:
    """A backend tensor (or numpy array) as numpy; floats narrower than 32 bits as float32.

    ``keras.ops.convert_to_numpy`` handles every backend (a PyTorch tensor that
    tracks gradients is detached first).
    """
    array = np.asarray(keras.ops.convert_to_numpy(value))
    narrow = array.dtype == np.float16 or array.dtype.name == "bfloat16"
    return array.astype(np.float32) if narrow else array


def variable_value(variable: Any) -> np.ndarray:
    """A copy of ``variable``'s value as a numpy array of the variable's own dtype.

    Works for Keras variables on every backend (a JAX variable has no
    ``tf.Variable`` inside) and for plain ``tf.Variable`` objects on TensorFlow.
    Unlike :func:`to_numpy`, narrow floats stay as they are.
    """
    return np.array(keras.ops.convert_to_numpy(variable))


@contextlib.contextmanager
def without_initializers() -> Iterator[None]:
    """Inside, new Keras variables start as zeros on JAX instead of running their initializers.

    For building a model whose every variable is then overwritten, as loading a
    weights file does. On JAX each random initializer compiles a kernel for its
    weight shape (about a second each on two CPU cores: over a minute for
    pix2pix's U-Net), only for the file to replace the values. On TensorFlow
    and PyTorch, and with a Keras whose variables lack the hook this replaces
    (``Variable._initialize_with_initializer``), nothing changes. Not thread-safe:
    a variable another thread creates meanwhile starts as zeros too.
    """
    from keras.src.backend.common import variables

    original = getattr(variables.Variable, "_initialize_with_initializer", None)
    if keras_backend() != "jax" or original is None:
        yield
        return

    def zeros(variable: Any, initializer: Any) -> None:
        dtype = keras.backend.standardize_dtype(variable._dtype)
        try:  # numpy's zeros compile nothing
            value = np.zeros(variable._shape, dtype=dtype)
        except TypeError:  # a dtype numpy lacks (bfloat16)
            value = keras.ops.zeros(variable._shape, dtype=dtype)
        variable._initialize(variable._convert_to_tensor(value))

    variables.Variable._initialize_with_initializer = zeros
    try:
        yield
    finally:
        variables.Variable._initialize_with_initializer = original
