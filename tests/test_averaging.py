"""``update_average``: a moving average of a network kept in another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo_core.plugin import average_decay, update_average


def _pair() -> tuple[keras.Model, keras.Model]:
    def net(name: str) -> keras.Model:
        x = keras.Input((3,))
        return keras.Model(x, keras.layers.Dense(2, name="dense")(x), name=name)

    return net("source"), net("average")


def test_update_average_blends_every_weight():
    source, average = _pair()
    before = [w.copy() for w in average.get_weights()]
    update_average(average, source, 0.9)
    for old, new, src in zip(before, average.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_allclose(new, 0.9 * old + 0.1 * src, rtol=1e-6, atol=1e-7)


def test_update_average_inside_a_compiled_step():
    source, average = _pair()
    before = [w.copy() for w in average.get_weights()]
    tf.function(lambda: update_average(average, source, tf.constant(0.5)))()
    for old, new, src in zip(before, average.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_allclose(new, 0.5 * (old + src), rtol=1e-6, atol=1e-7)


def test_update_average_refuses_different_networks():
    source, _ = _pair()
    x = keras.Input((3,))
    other = keras.Model(x, keras.layers.Dense(2, use_bias=False)(x))
    with pytest.raises(ValueError):
        update_average(other, source, 0.9)


@pytest.mark.parametrize(("updates", "expected"), [(0, 0.1), (10, 0.55), (10**6, 0.999)])
def test_average_decay_warms_up(updates, expected):
    assert float(average_decay(0.999, updates)) == pytest.approx(expected)
    assert float(average_decay(0.999, updates, warmup=False)) == pytest.approx(0.999)


MIRRORED = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from genzoo_core.plugin import update_average

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        def net(name):
            x = keras.Input((3,))
            return keras.Model(x, keras.layers.Dense(2)(x), name=name)
        source, average = net("source"), net("average")
    before = [w.copy() for w in average.get_weights()]
    tf.function(lambda: strategy.run(lambda: update_average(average, source, 0.75)))()
    replicas = [[np.asarray(v).tolist() for v in strategy.experimental_local_results(w.value)]
                for w in average.weights]
    expected = [(0.75 * b + 0.25 * s).tolist() for b, s in zip(before, source.get_weights())]
    print(json.dumps({"replicas": replicas, "expected": expected}))
""")


def test_update_average_under_a_mirrored_strategy():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                          timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for copies, expected in zip(result["replicas"], result["expected"], strict=True):
        assert len(copies) == 2
        for copy in copies:  # every replica holds the same, updated average
            np.testing.assert_allclose(copy, expected, rtol=1e-6, atol=1e-7)
