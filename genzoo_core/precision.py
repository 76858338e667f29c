"""Training precision: float32, or mixed precision through a Keras dtype policy.

A model trains in one of :data:`TRAINING_PRECISIONS`:

- ``"float32"`` (the default): every variable and every computation in float32.
- ``"mixed_bfloat16"``: layers compute in bfloat16 and keep their variables in
  float32. Fast on CPUs with bfloat16 instructions (AVX512-BF16, AMX) and on
  recent GPUs and TPUs; bfloat16 has float32's range, so no loss scaling.
- ``"mixed_float16"``: layers compute in float16, variables stay float32, and
  the loss is scaled dynamically (see :meth:`GenerativeModel.minimize
  <genzoo_core.model.GenerativeModel.minimize>`) so that small gradients do not
  underflow. It needs a GPU; on a CPU, use ``"mixed_bfloat16"``.

Keras layers take their dtype policy when they are *constructed*, so the
precision is chosen by building the model under :func:`precision_scope`;
:func:`genzoo_core.train`, :func:`genzoo_core.run_recipe` and ``genzoo train
--precision`` do this for you, and :func:`genzoo_core.load` always builds in
float32. :func:`model_precision` reads the precision a model was built in.

Under either mixed policy the weights stay float32, so checkpoints and
``model.h5`` files are the same as float32 training writes, and a model
trained in mixed precision loads (in float32) like any other. Losses and the
values a train step logs are computed in float32: the core's losses cast
what they are given (:func:`genzoo_core.losses.as_float32`), and a plugin casts
a layer's output before any loss of its own is taken of it.

This module imports no TensorFlow until a function needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from genzoo_core.errors import ConfigError

TRAINING_PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
"""The precisions a model may train in (the names of Keras dtype policies)."""

DEFAULT_PRECISION = "float32"
"""The precision of a run that names none."""

__all__ = [
    "DEFAULT_PRECISION",
    "TRAINING_PRECISIONS",
    "check_device",
    "check_precision",
    "gpu_available",
    "model_precision",
    "precision_scope",
    "training_precision",
]


def check_precision(precision: Any) -> str:
    """``precision`` if it is one of :data:`TRAINING_PRECISIONS`, else a ConfigError.

    Raises:
        ConfigError: an unknown value (the message lists the known ones).
    """
    if not isinstance(precision, str) or precision not in TRAINING_PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(TRAINING_PRECISIONS)}, "
                          f"got {precision!r}")
    return precision


def gpu_available() -> bool:
    """Whether TensorFlow sees a GPU."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def check_device(precision: str) -> str:
    """``precision`` checked, and refused where this machine cannot train in it.

    ``mixed_float16`` needs a GPU: float16 arithmetic on a CPU is emulated
    and far slower than float32.

    Raises:
        ConfigError: an unknown precision, or ``mixed_float16`` without a GPU.
    """
    check_precision(precision)
    if precision == "mixed_float16" and not gpu_available():
        raise ConfigError("mixed_float16 needs a GPU (none found); on a CPU use "
                          "--precision mixed_bfloat16")
    return precision


@contextmanager
def precision_scope(precision: str) -> Iterator[str]:
    """Build models in ``precision`` inside the ``with`` block; yields the precision.

    Sets Keras' global dtype policy (``keras.config.set_dtype_policy``) to
    ``precision`` and restores the previous policy on leaving the block, also
    when it raises. Layers keep the policy they were constructed under, so a
    model built inside the block computes in ``precision`` afterwards too::

        with precision_scope("mixed_bfloat16"):
            model = genzoo_core.create("dcgan")

    Raises:
        ConfigError: ``precision`` is not one of :data:`TRAINING_PRECISIONS`.
    """
    import keras

    check_precision(precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield precision
    finally:
        keras.config.set_dtype_policy(previous)


def model_precision(model: Any) -> str:
    """The name of the dtype policy ``model`` was built under (``"float32"`` if it has none).

    For a model built under :func:`precision_scope` this is the scope's
    precision. It may be a policy outside :data:`TRAINING_PRECISIONS` (a model
    built under ``"bfloat16"``, say); the Trainer refuses those.
    """
    policy = getattr(model, "dtype_policy", None)
    name = getattr(policy, "name", None)
    return str(name) if name else DEFAULT_PRECISION



def training_precision(model: Any) -> str:
    """The precision ``model`` trains in: :func:`model_precision`, checked for this machine.

    Raises:
        ConfigError: the model was built under a dtype policy genzoo does not
            train in (``"bfloat16"``, ``"float16"``: their variables are not
            float32), or under ``mixed_float16`` on a machine without a GPU.
    """
    precision = model_precision(model)
    if precision not in TRAINING_PRECISIONS:
        raise ConfigError(
            f"the model was built under the Keras dtype policy '{precision}'; genzoo trains "
            f"in {', '.join(TRAINING_PRECISIONS)}: build it under "
            f"genzoo_core.precision.precision_scope(...), or pass precision= to "
            f"genzoo_core.train with the model's name"
        )
    return check_device(precision)
