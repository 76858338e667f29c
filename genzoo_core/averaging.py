"""A moving average of one network's weights kept in another (an EMA copy).

Diffusion models, and GANs since Karras et al. (2018), sample from an
exponential moving average of the trained weights. A model that keeps the
average as a component of its own (so published files can hold only it, see
``ModelSpec.component_use``) updates it with :func:`update_average` after each
optimizer step. It works on one device and under any ``tf.distribute``
strategy: in a replica context the update goes through the strategy, as an
optimizer's does, so every replica's copy stays the same.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def average_decay(decay: float, updates: Any, warmup: bool = True) -> tf.Tensor:
    """The decay for the average after ``updates`` optimizer steps.

    With ``warmup``, ``min(decay, (1 + updates) / (10 + updates))`` (as in
    ``tf.train.ExponentialMovingAverage`` with ``num_updates``): early on the
    average follows the weights closely, so it is not dominated by the random
    initialisation it started from.
    """
    decay = tf.constant(decay, tf.float32)
    if not warmup:
        return decay
    steps = tf.cast(updates, tf.float32)
    return tf.minimum(decay, (1.0 + steps) / (10.0 + steps))


def _tf_variable(variable: Any) -> Any:
    return variable.value if isinstance(variable, keras.Variable) else variable


def update_average(average: keras.Model, source: keras.Model, decay: Any) -> None:
    """``average <- decay * average + (1 - decay) * source``, weight by weight.

    ``average`` and ``source`` must be built with the same architecture (their
    ``weights`` lists correspond one to one). Call it inside ``train_step``
    after the update of ``source``.
    """
    pairs = list(zip(average.weights, source.weights, strict=True))

    def blend(target: Any, value: Any, rate: Any) -> Any:
        return target.assign(rate * target + (1.0 - rate) * tf.cast(value, target.dtype))

    replica = tf.distribute.get_replica_context()
    if replica is None or not tf.distribute.has_strategy():
        for target, value in pairs:
            blend(target, value, tf.cast(decay, target.dtype))
        return

    def merged(strategy: tf.distribute.Strategy, rate: Any) -> None:
        for target, value in pairs:
            # The strategy updates the tf.Variable under a Keras variable, one copy per device.
            strategy.extended.update(
                _tf_variable(target), lambda t, v, r: blend(t, v, tf.cast(r, t.dtype)),
                args=(_tf_variable(value), rate), group=False)

    replica.merge_call(merged, args=(decay,))
