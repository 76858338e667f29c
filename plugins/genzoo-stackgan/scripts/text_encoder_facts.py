"""Measure a trained ``stackgan-text-encoder`` on the captioned-shapes test split.

Run from the repository root on the text-encoder stage of a recipe run::

    .venv/bin/python plugins/genzoo-stackgan/scripts/text_encoder_facts.py \
        runs/stackgan-shapes/text-encoder/model.h5

Training is the recipe's (``genzoo train --recipe stackgan/shapes``, stage
``text-encoder``); this script stays a script because what it measures is not
the recipe's ``[evaluate]``, which scores the final StackGAN's images. It
measures the encoders the text-to-image model is trained with, facts the model
card quotes (its *Text encoder* table):

- caption -> image top-1 retrieval within groups of 100 test pairs, all 5
  captions of each image in turn (``scene``: an image of the described scene;
  ``exact``: the very image);
- how often a test image scores its own caption above the one with a colour or
  shape swapped, and above the one with two objects' colours or shapes
  exchanged (the binding);
- how well a network with one hidden layer (512 ReLU units), fitted on the
  train captions' embeddings, reads back from the test captions' embeddings
  what is at each of the 5 positions (what the embedding keeps), separately for
  one- and two-object captions. A linear read-out does much worse on
  two-object captions: the embedding binds colour to object non-linearly.

It prints the facts as JSON and writes them to ``facts.json`` beside the weights.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import keras
import numpy as np
from genzoo_stackgan import shapes
from genzoo_stackgan.captions import contrast_caption, contrast_word_groups, words
from genzoo_stackgan.text import retrieval_accuracy

import genzoo_core


def scene_ids(data: shapes.Shapes) -> np.ndarray:
    """One integer per image; equal for images with identical attributes."""
    rows = np.concatenate([data.shape, data.colour, data.size], axis=1)
    return np.unique(rows, axis=0, return_inverse=True)[1].ravel().astype(np.int32)


def hard_negatives(captions: list[str], seed: int, exchange: float = 0.5) -> list[str]:
    """Each caption made wrong in one colour or shape ("" where it cannot be)."""
    rng = random.Random(seed)
    groups = contrast_word_groups()
    return [contrast_caption(caption, groups, rng, exchange) or "" for caption in captions]


def probe_accuracy(
    train_text: np.ndarray, train: shapes.Shapes, test_text: np.ndarray, test: shapes.Shapes
) -> dict[str, dict[str, float]]:
    """Per attribute, how well a small network reads it back from the embeddings.

    Embeddings are one row per caption, image-major, 5 per image.
    """
    per_image = len(test.captions[0])
    train_image = np.repeat(np.arange(len(train)), per_image)
    test_image = np.repeat(np.arange(len(test)), per_image)
    mean, scale = train_text.mean(axis=0), train_text.std(axis=0) + 1e-6
    x_train, x_test = (train_text - mean) / scale, (test_text - mean) / scale
    stated = test.shape[test_image] > 0
    two = np.broadcast_to(((test.shape > 0).sum(axis=1) == 2)[test_image][:, None], stated.shape)
    scores = {}
    for name in ("shape", "colour", "size"):
        # Colour and size are -1 where a position is empty: shift so that empty is class 0.
        offset = 0 if name == "shape" else 1
        y_train = getattr(train, name)[train_image] + offset
        y_test = getattr(test, name)[test_image] + offset
        classes = int(max(y_train.max(), y_test.max())) + 1
        inputs = keras.Input((x_train.shape[1],))
        hidden = keras.layers.Dense(512, activation="relu")(inputs)
        logits = keras.layers.Reshape((stated.shape[1], classes))(
            keras.layers.Dense(stated.shape[1] * classes)(hidden))
        probe = keras.Model(inputs, logits)
        probe.compile(keras.optimizers.Adam(1e-2),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        probe.fit(x_train, y_train, epochs=20, batch_size=512, verbose=0)
        right = probe.predict(x_test, verbose=0).argmax(axis=-1) == y_test
        scores[name] = {
            "all": round(float(right[stated].mean()), 4),
            "one_object": round(float(right[stated & ~two].mean()), 4),
            "two_objects": round(float(right[stated & two].mean()), 4),
        }
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", help="a stackgan-text-encoder model.h5 (the recipe's "
                        "text-encoder stage)")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    model = genzoo_core.load(args.weights)
    if model.spec.name != "stackgan-text-encoder":
        parser.error(f"{args.weights} holds '{model.spec.name}', not stackgan-text-encoder")
    header = genzoo_core.read_header(args.weights)
    train, test = shapes.make_split("train"), shapes.make_split("test")
    per_image = len(test.captions[0])
    image_embeddings = model.encode_images(test.images / 255.0)
    scenes = scene_ids(test)
    same = scenes[:, None] == scenes[None, :]

    results = []
    beats: dict[str, list[np.ndarray]] = {"swapped": [], "exchanged": []}
    for k in range(per_image):
        captions = [caption[k] for caption in test.captions]
        text_embeddings = model.encode_text(captions)
        results.append(retrieval_accuracy(text_embeddings, image_embeddings, same, group=100))
        own = np.sum(text_embeddings * image_embeddings, axis=1)
        for kind, exchange in (("swapped", 0.0), ("exchanged", 1.0)):
            wrong = hard_negatives(captions, seed=k, exchange=exchange)
            if kind == "exchanged":  # only two-object captions of two colours or shapes
                keep = [i for i, w in enumerate(wrong)
                        if w and sorted(w.split()) == sorted(words(captions[i]))]
            else:
                keep = [i for i, w in enumerate(wrong) if w]
            hard = model.encode_text([wrong[i] for i in keep])
            beats[kind].append(own[keep] > np.sum(hard * image_embeddings[keep], axis=1))
    probe = probe_accuracy(
        model.encode_text([c for row in train.captions for c in row]), train,
        model.encode_text([c for row in test.captions for c in row]), test,
    )
    metrics = header.metadata.get("metrics", {})
    facts = {
        "epochs": len(header.metadata.get("epoch_seconds", [])) or metrics.get("epochs"),
        "train_seconds": round(float(sum(header.metadata.get("epoch_seconds", []))), 1),
        "config": {k: v for k, v in header.config.items()
                   if k not in ("vocabulary", "contrast_words")},
        "final_scale": round(float(np.exp(np.array(model.log_scale))), 2),
        "test_retrieval_exact": round(float(np.mean([r["exact"] for r in results])), 4),
        "test_retrieval_scene": round(float(np.mean([r["scene"] for r in results])), 4),
        "retrieval_group": 100,
        "test_prefers_own_caption": {
            kind: round(float(np.mean(np.concatenate(v))), 4) for kind, v in beats.items()
        },
        "test_probe": probe,
    }
    (Path(args.weights).parent / "facts.json").write_text(json.dumps(facts, indent=2))
    print(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
