"""Train the captioned-shapes attribute classifier (``shapes-cnn``) and package it.

Run from the repository root::

    .venv/bin/python plugins/genzoo-stackgan/scripts/train_classifier.py --epochs 3

It trains on the train split plus 20,000 further renders (seed 10), with a little
Gaussian pixel noise so that it also reads imperfect (generated) images; it
scores the test split (seed 1, never seen); it writes
``genzoo_stackgan/weights/shapes-cnn.weights.h5`` and prints its sha256 and
accuracies, which go into ``genzoo_stackgan/plugin.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from genzoo_stackgan import shapes
from genzoo_stackgan.classifier import (
    attribute_accuracy,
    build_classifier,
    classifier_losses,
    predict_attributes,
)

from genzoo_core import sha256_file

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]
NOISE = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--extra", type=int, default=20_000)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    train = shapes.make_split("train")
    extra = shapes.generate(args.extra, seed=10)
    images = np.concatenate([train.images, extra.images])
    labels = [np.concatenate([getattr(train, a), getattr(extra, a)]).astype(np.int32)
              for a in ("shape", "colour", "size")]

    def augment(x: tf.Tensor, y: tuple) -> tuple:
        x = tf.cast(x, tf.float32) / 255.0
        x = tf.clip_by_value(x + tf.random.normal(tf.shape(x), stddev=NOISE), 0.0, 1.0)
        return x, y

    dataset = (tf.data.Dataset.from_tensor_slices((images, tuple(labels)))
               .shuffle(len(images), seed=0).batch(64).map(augment).prefetch(2))
    model = build_classifier()
    model.compile(keras.optimizers.Adam(1e-3), loss=classifier_losses())
    started = time.perf_counter()
    model.fit(dataset, epochs=args.epochs, verbose=2)
    seconds = time.perf_counter() - started

    test = shapes.make_split("test")
    predicted = predict_attributes(model, test.images.astype(np.float32) / 255.0)
    truth = (test.shape, test.colour, test.size)
    scores = attribute_accuracy(predicted, truth)
    scores["empty_or_shape_all_positions"] = float(np.mean(predicted[0] == test.shape))
    out = PLUGIN / "genzoo_stackgan" / "weights" / "shapes-cnn.weights.h5"
    shipped = build_classifier()  # a compiled model would also save the optimizer's state
    shipped.set_weights(model.get_weights())
    shipped.save_weights(str(out))
    facts = {
        "file": str(out.relative_to(ROOT)),
        "bytes": out.stat().st_size,
        "sha256": sha256_file(out),
        "train_seconds": round(seconds, 1),
        "epochs": args.epochs,
        "train_images": len(images),
        "test_accuracy": {k: round(v, 5) for k, v in scores.items()},
    }
    print(json.dumps(facts, indent=2))
    run_dir = ROOT / "runs" / "stackgan-classifier"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "facts.json").write_text(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
