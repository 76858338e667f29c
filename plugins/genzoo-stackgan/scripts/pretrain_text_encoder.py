"""Pretrain StackGAN's built-in text encoder on the captioned-shapes train split (InfoNCE).

Run from the repository root::

    .venv/bin/python plugins/genzoo-stackgan/scripts/pretrain_text_encoder.py --epochs 20

Each epoch pairs every train image with one of its 5 captions, drawn at random;
the text encoder and a small image encoder learn, CLIP-style, to pick each
caption's image out of the batch (images of the same scene all count as right).
It writes ``runs/stackgan-text/text_encoder.weights.h5`` (the text encoder
alone, as ``scripts/train.py`` loads it) and ``facts.json`` with the caption ->
image retrieval accuracy on the test split, in groups of 100.
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
from genzoo_stackgan.plugin import SPEC
from genzoo_stackgan.text import (
    ContrastivePretrainer,
    build_image_encoder,
    build_text_encoder,
    make_vectorizer,
    retrieval_accuracy,
)

ROOT = Path(__file__).resolve().parents[3]


def scene_ids(data: shapes.Shapes) -> np.ndarray:
    """One integer per image; equal for images with identical attributes."""
    rows = np.concatenate([data.shape, data.colour, data.size], axis=1)
    return np.unique(rows, axis=0, return_inverse=True)[1].ravel().astype(np.int32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", default=str(ROOT / "runs" / "stackgan-text"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    c = SPEC.default_config
    vectorizer = make_vectorizer(c["vocabulary"], c["max_caption_words"])
    text_encoder = build_text_encoder(
        len(c["vocabulary"]), c["max_caption_words"], c["word_dim"], c["text_units"],
        c["embedding_dim"],
    )
    image_encoder = build_image_encoder(c["image_shape"], c["embedding_dim"])

    train = shapes.make_split("train")
    per_image = len(train.captions[0])
    ids = np.asarray(vectorizer(np.array(train.captions).ravel())).reshape(
        len(train), per_image, -1
    )
    dataset = tf.data.Dataset.from_tensor_slices(
        {"ids": ids, "images": train.images, "scenes": scene_ids(train)}
    )

    def pick(example: dict) -> dict:
        choice = tf.random.uniform((), 0, per_image, dtype=tf.int32)
        return {"ids": example["ids"][choice], "scenes": example["scenes"],
                "images": tf.cast(example["images"], tf.float32) / 255.0}

    dataset = (dataset.shuffle(len(train), seed=0).map(pick)
               .batch(args.batch_size, drop_remainder=True).prefetch(2))
    pretrainer = ContrastivePretrainer(text_encoder, image_encoder)
    pretrainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    started = time.perf_counter()
    history = pretrainer.fit(dataset, epochs=args.epochs, verbose=2)
    seconds = time.perf_counter() - started

    test = shapes.make_split("test")
    image_embeddings = np.asarray(image_encoder.predict(test.images / 255.0, verbose=0))
    scenes = scene_ids(test)
    same = scenes[:, None] == scenes[None, :]
    results = {}
    for k in range(per_image):
        captions = [caption[k] for caption in test.captions]
        text_embeddings = np.asarray(text_encoder.predict(vectorizer(captions), verbose=0))
        results[k] = retrieval_accuracy(text_embeddings, image_embeddings, same, group=100)
    facts = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "train_seconds": round(seconds, 1),
        "final_loss": round(float(history.history["loss"][-1]), 4),
        "final_scale": round(float(history.history["scale"][-1]), 2),
        "test_retrieval_exact": round(float(np.mean([r["exact"] for r in results.values()])), 4),
        "test_retrieval_scene": round(float(np.mean([r["scene"] for r in results.values()])), 4),
        "retrieval_group": 100,
    }
    text_encoder.save_weights(str(out / "text_encoder.weights.h5"))
    (out / "facts.json").write_text(json.dumps(facts, indent=2))
    print(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
