"""Train the summer2winter domain classifier (``summer2winter-domain``) and package it.

Run from the repository root::

    GENZOO_DATA=../shared/data .venv/bin/python \
        plugins/genzoo-cyclegan/scripts/train_domain_classifier.py --epochs 150

It trains on the 300 train photos (150 summer = class 0, 150 winter = class 1)
at 64x64 (the registered dataset's 256x256, then antialiased bilinear), with
random mirroring and shifts of up to 4 pixels, Adam 1e-3, batch 32 and
``keras.utils.set_random_seed(0)``; scores the 80 test photos (never seen); writes
``genzoo_cyclegan/weights/summer2winter-domain.weights.h5`` and prints its size,
sha256 and accuracies, which go into ``genzoo_cyclegan/plugin.py`` and the README.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from genzoo_cyclegan.domain import IMAGE_SHAPE, build_domain_classifier

import genzoo_core
from genzoo_core import sha256_file

PLUGIN = Path(__file__).resolve().parents[1]
OUT = PLUGIN / "genzoo_cyclegan" / "weights" / "summer2winter-domain.weights.h5"


def split(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (float32 in [0, 1]) and domain labels (summer 0, winter 1) of one split."""
    data = genzoo_core.load_data("summer2winter", name).resized(IMAGE_SHAPE[0])
    images = np.concatenate([data.images_a, data.images_b]).astype(np.float32) / 255.0
    labels = np.concatenate([np.zeros(len(data.images_a)), np.ones(len(data.images_b))])
    return images, labels.astype(np.int32)


def main() -> None:
    """Train, score on test, save and print the facts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    x, y = split("train")
    test_x, test_y = split("test")
    def augment(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.image.random_flip_left_right(image)
        padded = tf.image.resize_with_crop_or_pad(image, 72, 72)  # shifts of up to 4 pixels
        return tf.image.random_crop(padded, IMAGE_SHAPE), label

    dataset = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)
               .map(augment).batch(32))
    model = build_domain_classifier()
    model.compile(keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(dataset, epochs=args.epochs, verbose=2)
    seconds = time.perf_counter() - started
    predicted = np.asarray(model.predict(test_x, verbose=0)).argmax(axis=1)
    shipped = build_domain_classifier()  # a compiled model would also save the optimizer
    shipped.set_weights(model.get_weights())
    shipped.save_weights(str(OUT))
    facts = {
        "file": str(OUT.relative_to(PLUGIN)),
        "bytes": OUT.stat().st_size,
        "sha256": sha256_file(OUT),
        "epochs": args.epochs,
        "train_seconds": round(seconds, 1),
        "train_images": len(x),
        "test_images": len(test_x),
        "test_accuracy": round(float(np.mean(predicted == test_y)), 4),
        "test_accuracy_summer": round(float(np.mean(predicted[test_y == 0] == 0)), 4),
        "test_accuracy_winter": round(float(np.mean(predicted[test_y == 1] == 1)), 4),
    }
    print(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
