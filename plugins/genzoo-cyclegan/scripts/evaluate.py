"""Test-set metrics and the figure of a trained cyclegan (``train.py`` calls these).

Run on its own from the repository root to re-measure a weights file::

    GENZOO_DATA=../shared/data .venv/bin/python plugins/genzoo-cyclegan/scripts/evaluate.py \
        plugins/genzoo-cyclegan/genzoo_cyclegan/weights/summer2winter.h5

Metrics, on summer2winter test (40 summer photos as A, 40 winter photos as B),
every image first resized (antialiased bilinear) to the model's size:

- cycle-reconstruction L1: mean |x - G_BA(G_AB(x))| over testA and mean
  |y - G_AB(G_BA(y))| over testB, pixel values in [0, 1]; and the same for an
  untrained model of the same config (``keras.utils.set_random_seed(0)``).
- FID and KID per direction: translated testA against real testB, translated
  testB against real testA. The ImageNet weights of InceptionV3 are not
  available offline, so the features are those of a randomly initialised
  InceptionV3 (``keras.utils.set_random_seed(0)``, ``weights=None``, 299x299
  input, 2048-d global average pool): a random-embedding distance (Naeem et al.
  2020), comparable only with numbers from the same features. The activations of
  a randomly initialised network this deep are small (about 1e-4), so the
  features are centred on the mean of the 80 real test images (A and B
  together) and divided by one number, their root-mean-square spread: one fixed
  transform for every set. FID needs more images than dimensions, so it is
  computed on a fixed random orthonormal projection of these features to 32
  dimensions (``np.random.default_rng(0)``); KID
  uses all 2048 (100 random subsets of 20 images per set). Baselines from the
  same features: the untranslated inputs (real testA against real testB: where
  translation starts) and the same domain
  (real testB against the first 40 trainB images, real testA against the first
  40 trainA: the floor set by sampling 40 images). With 40 images per set FID is
  strongly biased upwards; KID is unbiased but noisy.
- colour FID per direction, with the same pairs and baselines: the Fréchet
  distance of 6-d colour statistics (each image's mean and standard deviation
  of R, G and B, in [0, 1]). Winter and summer differ most plainly in colour
  (snow, bare trees, grey skies), which this measures and nothing else.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import genzoo_core
from genzoo_core import metrics

FEATURE_SIZE = 299
PROJECTED_DIMS = 32
FEATURES = (
    "InceptionV3 with random initial weights (keras.utils.set_random_seed(0), weights=None), "
    "299x299 input, 2048-d average pool, centred on the mean of the 80 real test images and "
    "divided by their RMS spread; FID on a fixed random orthonormal projection to 32 dims "
    "(np.random.default_rng(0)), KID on all 2048 (100 subsets of 20)"
)


def _as_float(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


class RandomInceptionFeatures:
    """2048-d pool features of a randomly initialised InceptionV3, and their projection."""

    def __init__(self) -> None:
        keras.utils.set_random_seed(0)
        self.network = keras.applications.InceptionV3(
            weights=None, include_top=False, pooling="avg",
            input_shape=(FEATURE_SIZE, FEATURE_SIZE, 3),
        )
        gaussian = np.random.default_rng(0).standard_normal((2048, PROJECTED_DIMS))
        self.projection, _ = np.linalg.qr(gaussian)
        self._features = tf.function(lambda x: self.network(x, training=False))
        self.mean: np.ndarray | float = 0.0
        self.scale = 1.0

    def normalise_with(self, features: np.ndarray) -> None:
        """Centre and scale every later distance with these features' mean and spread."""
        self.mean = features.mean(axis=0)
        self.scale = float(np.sqrt(np.mean((features - self.mean) ** 2)))

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(n, 2048) features of NHWC images in [0, 1]."""
        out = []
        for start in range(0, len(images), 20):
            x = tf.image.resize(images[start : start + 20], (FEATURE_SIZE, FEATURE_SIZE))
            out.append(np.asarray(self._features(x * 2.0 - 1.0), np.float64))
        return np.concatenate(out)

    def distances(self, real: np.ndarray, other: np.ndarray) -> dict[str, float]:
        """FID (projected) and KID (full) between two feature sets, centred and scaled."""
        real, other = (real - self.mean) / self.scale, (other - self.mean) / self.scale
        kid_mean, kid_std = metrics.kid(real, other, subsets=100, subset_size=20)
        return {
            "fid": round(metrics.fid(real @ self.projection, other @ self.projection), 4),
            "kid": round(float(kid_mean), 6),
            "kid_std": round(float(kid_std), 6),
        }


def colour_statistics(images: np.ndarray) -> np.ndarray:
    """(n, 6): each image's mean and standard deviation of every channel."""
    return np.concatenate([images.mean(axis=(1, 2)), images.std(axis=(1, 2))], axis=1)


def cycle_l1(model: Any, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean absolute cycle-reconstruction error in [0, 1] pixel units, both directions."""
    aba = model.translate(model.translate(a, "AtoB"), "BtoA")
    bab = model.translate(model.translate(b, "BtoA"), "AtoB")
    return {"a": float(np.abs(a - aba).mean()), "b": float(np.abs(b - bab).mean())}


def evaluate_translation(model: Any, test: Any, train: Any = None) -> dict[str, Any]:
    """All metrics of the module docstring, flat, for weights metadata and the model card."""
    size = model.config["image_shape"][0]
    train = train or genzoo_core.load_data("summer2winter", "train")
    real_a = _as_float(test.resized(size).images_a)
    real_b = _as_float(test.resized(size).images_b)
    n = len(real_a)
    train_a = _as_float(train.resized(size).images_a[:n])
    train_b = _as_float(train.resized(size).images_b[:n])
    fake_b = model.translate(real_a, "AtoB")
    fake_a = model.translate(real_b, "BtoA")

    trained = cycle_l1(model, real_a, real_b)
    keras.utils.set_random_seed(0)
    untrained = cycle_l1(genzoo_core.create("cyclegan", model.config), real_a, real_b)

    features = RandomInceptionFeatures()
    f = {name: features(images) for name, images in (
        ("real_a", real_a), ("real_b", real_b), ("fake_a", fake_a), ("fake_b", fake_b),
        ("train_a", train_a), ("train_b", train_b),
    )}
    features.normalise_with(np.concatenate([f["real_a"], f["real_b"]]))
    pairs = {
        "ab_translated": ("real_b", "fake_b"),  # G_AB(testA) vs testB
        "ba_translated": ("real_a", "fake_a"),  # G_BA(testB) vs testA
        "untranslated": ("real_b", "real_a"),  # testA vs testB
        "same_domain_b": ("real_b", "train_b"),
        "same_domain_a": ("real_a", "train_a"),
    }
    result: dict[str, Any] = {
        "test_images_per_domain": n,
        "cycle_l1_a": round(trained["a"], 5),
        "cycle_l1_b": round(trained["b"], 5),
        "cycle_l1_a_untrained": round(untrained["a"], 5),
        "cycle_l1_b_untrained": round(untrained["b"], 5),
    }
    images = {"real_a": real_a, "real_b": real_b, "fake_a": fake_a, "fake_b": fake_b,
              "train_a": train_a, "train_b": train_b}
    for label, (x, y) in pairs.items():
        for key, value in features.distances(f[x], f[y]).items():
            result[f"{key}_{label}"] = value
        colour = metrics.fid(colour_statistics(images[x]).astype(np.float64),
                             colour_statistics(images[y]).astype(np.float64))
        result[f"colour_fid_{label}"] = round(colour, 5)
    result["features"] = FEATURES
    return result


def save_figure(model: Any, test: Any, path: str | Path, count: int = 6) -> Path:
    """Rows: testA, G_AB(testA), G_BA(G_AB(testA)), testB, G_BA(testB), G_AB(G_BA(testB)).

    Images are shown at the model's size, enlarged 2x (nearest neighbour).
    """
    size = model.config["image_shape"][0]
    a = _as_float(test.resized(size).images_a[:count])
    b = _as_float(test.resized(size).images_b[:count])
    fake_b, fake_a = model.translate(a, "AtoB"), model.translate(b, "BtoA")
    rows = [a, fake_b, model.translate(fake_b, "BtoA"), b, fake_a, model.translate(fake_a, "AtoB")]
    images = np.concatenate(rows).repeat(2, axis=1).repeat(2, axis=2)
    return genzoo_core.save_grid(path, images, columns=count)


def main() -> None:
    """Print the metrics of a weights file as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", help="a cyclegan weights file, or a name such as "
                        "cyclegan/summer2winter")
    parser.add_argument("--figure", default=None, help="also save the figure here")
    args = parser.parse_args()
    model = genzoo_core.load(args.weights)
    test = genzoo_core.load_data("summer2winter", "test")
    print(json.dumps(evaluate_translation(model, test), indent=2))
    if args.figure:
        save_figure(model, test, args.figure)


if __name__ == "__main__":
    main()
