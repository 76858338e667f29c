"""Train the MNIST-family classifiers shipped with genzoo-core as feature extractors.

Usage::

    GENZOO_DATA=/path/to/shared/data python scripts/train_domain_classifiers.py \
        [--only mnist-cnn|fashion-mnist-cnn] [--epochs N]

For each classifier this trains :func:`genzoo_core.classifiers.build_domain_classifier`
on the real train split (the last 5,000 train images are held out for validation;
the test split is never used for training or model selection), measures accuracy
on the official 10k test split, writes ``genzoo_core/extractors/<name>.weights.h5``
atomically and records its sha256 and training facts in
``genzoo_core/extractors/manifest.json`` (merged with the entries already there).
Finally it reloads each file through :func:`genzoo_core.features.domain_classifier`
and checks that the shipped extractor reproduces the measured test accuracy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # use this checkout's genzoo_core

from genzoo_core._files import atomic_path, sha256_file  # noqa: E402
from genzoo_core.classifiers import FEATURE_DIM, build_domain_classifier  # noqa: E402
from genzoo_core.data import DataSource, load_fashion_mnist, load_mnist  # noqa: E402

EXTRACTOR_DIR = ROOT / "genzoo_core" / "extractors"
MANIFEST = EXTRACTOR_DIR / "manifest.json"
SEED = 20240501
BATCH_SIZE = 128
VALIDATION = 5_000
LEARNING_RATE = 2e-3


@dataclass(frozen=True)
class Recipe:
    """How one classifier is trained.

    Attributes:
        name: extractor name (also the weights file stem).
        title: dataset name for descriptions.
        dataset: the ``genzoo_core.data`` dataset name, e.g. ``"mnist"``.
        loader: ``split -> DataSource``.
        epochs: default number of epochs.
        translate: largest random shift, as a fraction of height/width (0: none).
        dropout: training dropout rates before and after the "features" layer.
    """

    name: str
    title: str
    dataset: str
    loader: Any
    epochs: int
    translate: float
    dropout: tuple[float, float] = (0.25, 0.4)


RECIPES = {
    "mnist-cnn": Recipe("mnist-cnn", "MNIST", "mnist", load_mnist, epochs=4, translate=0.08),
    "fashion-mnist-cnn": Recipe(
        "fashion-mnist-cnn",
        "Fashion-MNIST",
        "fashion-mnist",
        load_fashion_mnist,
        epochs=6,
        translate=0.0,
        dropout=(0.1, 0.25),  # Fashion-MNIST underfits in a few epochs with more
    ),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(RECIPES), help="train just this classifier")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs for every trained classifier (default: per classifier, "
        + ", ".join(f"{r.name} {r.epochs}" for r in RECIPES.values())
        + ")",
    )
    return parser.parse_args(argv)


def make_datasets(recipe: Recipe, train: DataSource) -> tuple[Any, Any]:
    """Shuffled, augmented training batches and validation batches (float32 in [0, 1])."""
    import keras
    import tensorflow as tf

    images, labels = train.images, train.labels.astype(np.int32)
    fit_x, fit_y = images[:-VALIDATION], labels[:-VALIDATION]
    val_x, val_y = images[-VALIDATION:], labels[-VALIDATION:]

    def to_float(x: Any, y: Any) -> tuple[Any, Any]:
        return tf.cast(x, tf.float32) / 255.0, y

    augment = []
    if recipe.translate:
        augment.append(
            keras.layers.RandomTranslation(
                recipe.translate,
                recipe.translate,
                fill_mode="constant",
                fill_value=0.0,
                seed=SEED,
                name="random_translation",
            )
        )

    def augmented(x: Any, y: Any) -> tuple[Any, Any]:
        for layer in augment:
            x = layer(x, training=True)
        return x, y

    fit = (
        tf.data.Dataset.from_tensor_slices((fit_x, fit_y))
        .shuffle(len(fit_x), seed=SEED, reshuffle_each_iteration=True)
        .batch(BATCH_SIZE)
        .map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    )
    if augment:
        fit = fit.map(augmented, num_parallel_calls=tf.data.AUTOTUNE)
    val = tf.data.Dataset.from_tensor_slices((val_x, val_y)).batch(500).map(to_float)
    return fit.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)


def accuracy(model: Any, data: DataSource) -> float:
    """Top-1 accuracy of a logits (or probabilities) model on a labelled DataSource."""
    outputs = model.predict(data.images.astype(np.float32) / 255.0, batch_size=500, verbose=0)
    return float(np.mean(np.argmax(outputs, axis=-1) == data.labels))


def save_weights_atomically(model: Any, path: Path) -> None:
    """``model.save_weights`` to a temporary ``*.weights.h5`` beside ``path``, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".weights.h5", dir=path.parent)
    os.close(fd)
    try:
        model.save_weights(tmp, overwrite=True)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def update_manifest(name: str, entry: dict[str, Any]) -> None:
    """Merge ``entry`` under ``name`` into the manifest, written atomically."""
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}
    manifest[name] = entry
    with atomic_path(MANIFEST) as tmp:
        Path(tmp).write_text(json.dumps(manifest, sort_keys=True, indent=2) + "\n")


def train_one(recipe: Recipe, epochs: int, command: str) -> dict[str, Any]:
    """Train, evaluate, save and register one classifier; return its manifest entry."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    train, test = recipe.loader("train"), recipe.loader("test")
    if train.image_shape != (28, 28, 1) or test.image_shape != (28, 28, 1):
        raise SystemExit(f"{recipe.dataset}: expected 28x28x1 images, got {train.image_shape}")
    fit_data, val_data = make_datasets(recipe, train)
    steps = epochs * -(-(len(train) - VALIDATION) // BATCH_SIZE)

    model = build_domain_classifier(train.image_shape, train.num_classes, dropout=recipe.dropout)
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    print(
        f"[{recipe.name}] training on {train.name}[:{len(train) - VALIDATION}] "
        f"({model.count_params():,} parameters, {epochs} epochs, batch {BATCH_SIZE})",
        flush=True,
    )
    start = time.perf_counter()
    model.fit(fit_data, validation_data=val_data, epochs=epochs, verbose=2)
    train_seconds = time.perf_counter() - start

    test_accuracy = accuracy(model, test)
    path = EXTRACTOR_DIR / f"{recipe.name}.weights.h5"
    EXTRACTOR_DIR.mkdir(parents=True, exist_ok=True)
    # A fresh, uncompiled copy: save_weights on the trained model would also store
    # the optimizer's state (3x the size) in the shipped file.
    shipped = build_domain_classifier(train.image_shape, train.num_classes)
    shipped.set_weights(model.get_weights())
    save_weights_atomically(shipped, path)
    entry = {
        "file": path.name,
        "sha256": sha256_file(path),
        "image_shape": list(train.image_shape),
        "num_classes": train.num_classes,
        "feature_dim": FEATURE_DIM,
        "test_accuracy": round(test_accuracy, 4),
        "dataset": f"{recipe.dataset}:train",
        "training_command": command,
        "train_seconds": round(train_seconds, 1),
        "epochs": epochs,
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "description": (
            f"CNN trained on {recipe.title} train, {100 * test_accuracy:.2f}% test accuracy; "
            f"penultimate {FEATURE_DIM}-d features"
        ),
    }
    update_manifest(recipe.name, entry)
    print(
        f"[{recipe.name}] test accuracy {test_accuracy:.4f} on {len(test)} {test.name} images; "
        f"{train_seconds:.0f} s; {path} ({path.stat().st_size:,} bytes, "
        f"sha256 {entry['sha256']})",
        flush=True,
    )
    return entry


def verify(name: str, loader: Any, expected: float) -> None:
    """Reload the shipped file as an extractor and check its test accuracy."""
    from genzoo_core.features import domain_classifier

    extractor = domain_classifier(name)
    test = loader("test")
    features, probabilities = extractor.extract(test.images.astype(np.float32) / 255.0)
    reloaded = float(np.mean(np.argmax(probabilities, axis=-1) == test.labels))
    if features.shape != (len(test), extractor.feature_dim) or abs(reloaded - expected) > 1e-4:
        raise SystemExit(
            f"[{name}] the reloaded extractor disagrees: accuracy {reloaded:.4f} vs "
            f"{expected:.4f}, features {features.shape}"
        )
    print(f"[{name}] reloaded extractor: test accuracy {reloaded:.4f}, features {features.shape}")


def main(argv: list[str] | None = None) -> int:
    """Train the requested classifiers."""
    args = parse_args(argv)
    command = shlex.join(["python", sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    names = [args.only] if args.only else list(RECIPES)
    results = {}
    for name in names:
        recipe = RECIPES[name]
        epochs = args.epochs if args.epochs is not None else recipe.epochs
        results[name] = train_one(recipe, epochs, command)
    for name, entry in results.items():
        verify(name, RECIPES[name].loader, entry["test_accuracy"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
