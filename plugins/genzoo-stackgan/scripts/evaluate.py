"""Score StackGAN on held-out captions: attribute accuracy per stage, FID, and the figure.

Run from the repository root::

    .venv/bin/python plugins/genzoo-stackgan/scripts/evaluate.py            # stackgan/shapes
    .venv/bin/python plugins/genzoo-stackgan/scripts/evaluate.py --model runs/x/model.h5

For every test image (captioned shapes, seed 1, never trained on) it takes one
of its captions (caption ``i % 5`` of image ``i``, so every template is used),
draws one Stage-I and Stage-II image per caption (seed 0), and asks the
shipped attribute classifier whether each image shows the stated shape,
colour and size at the stated position (and nothing elsewhere). Stage-I images
are enlarged to 64x64 (bilinear) for the classifier and for FID. FID compares
each stage's samples with the real test renders in the classifier's 128-d
features (``shapes-cnn``); real train renders against real test renders give
the floor. The accuracies are also split by captions of one and of two
objects: with two, the model must also bind each colour and shape to its
object. It writes a JSON report and ``docs/images/stackgan-shapes.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import tensorflow as tf
from genzoo_stackgan import shapes
from genzoo_stackgan.classifier import (
    attribute_accuracy,
    load_classifier,
    predict_attributes,
    shapes_cnn,
)

import genzoo_core
from genzoo_core import metrics, save_grid

ROOT = Path(__file__).resolve().parents[3]
FIGURE_ROWS = (
    "a large red circle in the centre",
    "there is a big blue box in the upper left corner",
    "a small yellow triangle at the bottom right",
    "the picture shows a huge green disc in the lower left corner",
    "a tiny white square at the top right",
    "a large purple triangle in the middle and a small green ball in the top left",
    "there is a little red block at the top right and a big yellow circle at the bottom left",
    "at the bottom right sits a huge white triangular shape, in the centre a small blue disc",
)
FIGURE_SAMPLES = 5


def enlarge(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize to ``size`` x ``size``, kept in [0, 1]."""
    return np.clip(np.asarray(tf.image.resize(images, (size, size), "bilinear")), 0.0, 1.0)


def figure(model: object, path: Path) -> None:
    """One row per caption: a Stage-I image (enlarged), then 5 Stage-II samples (seed 0).

    The first Stage-II sample is the refinement of that Stage-I image.
    """
    rows = []
    for caption in FIGURE_ROWS:
        stage1, stage2 = model.sample_both(FIGURE_SAMPLES, condition=caption, seed=0)
        low = np.repeat(np.repeat(stage1[:1], 2, axis=1), 2, axis=2)  # nearest: show its pixels
        rows.append(np.concatenate([low, stage2]))
    save_grid(path, np.concatenate(rows), columns=FIGURE_SAMPLES + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stackgan/shapes")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--out", default=str(ROOT / "runs" / "stackgan-shapes" / "eval.json"))
    parser.add_argument("--figure", default=str(ROOT / "docs" / "images" / "stackgan-shapes.png"))
    args = parser.parse_args()
    model = genzoo_core.load(args.model)
    test = shapes.make_split("test")
    n = min(args.n, len(test))
    captions = [test.captions[i][i % len(test.captions[i])] for i in range(n)]
    truth = (test.shape[:n], test.colour[:n], test.size[:n])
    stage1, stage2 = model.sample_both(n, condition=captions, seed=0)
    stage1 = enlarge(stage1, 64)
    real_test = test.images[:n].astype(np.float32) / 255.0
    real_train = shapes.make_split("train").images[:n].astype(np.float32) / 255.0

    classifier = load_classifier()
    two = (truth[0] > 0).sum(axis=1) == 2
    accuracy, by_objects = {}, {}
    for name, images in (("real_test", real_test), ("stage1", stage1), ("stage2", stage2)):
        predicted = predict_attributes(classifier, images)
        accuracy[name] = attribute_accuracy(predicted, truth)
        by_objects[name] = {
            objects: attribute_accuracy(tuple(a[keep] for a in predicted),
                                        tuple(a[keep] for a in truth))
            for objects, keep in (("one_object", ~two), ("two_objects", two))
        }
    extractor = shapes_cnn()
    features = {name: extractor.extract(images)[0] for name, images in (
        ("real_test", real_test), ("real_train", real_train), ("stage1", stage1),
        ("stage2", stage2))}
    fid = {name: metrics.fid(features["real_test"], features[name])
           for name in ("real_train", "stage1", "stage2")}
    report = {
        "model": args.model,
        "test_captions": n,
        "seed": 0,
        "attribute_accuracy": {k: {a: round(v, 4) for a, v in d.items()}
                               for k, d in accuracy.items()},
        "two_object_captions": int(two.sum()),
        "attribute_accuracy_by_objects": {
            k: {objects: {a: round(v, 4) for a, v in d.items()} for objects, d in split.items()}
            for k, split in by_objects.items()},
        "fid_shapes_cnn": {k: round(v, 3) for k, v in fid.items()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    if args.figure:
        figure(model, Path(args.figure))
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
