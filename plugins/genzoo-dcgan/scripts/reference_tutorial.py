"""Train the reference DCGAN recipe on MNIST and score it like genzoo's dcgan/mnist.

Run from the repository root::

    GENZOO_DATA=../shared/data .venv/bin/python \\
        plugins/genzoo-dcgan/scripts/reference_tutorial.py --steps 2340

The reference recipe is the TensorFlow DCGAN tutorial's networks (generator
7x7x256 -> 128 -> 64 -> 1 with batch norm and LeakyReLU, discriminator 64 -> 128
with dropout 0.3 and no batch norm, 5x5 kernels, Adam 1e-4 for both) trained by
the seed chapter's loop: one ``GradientTape`` pair per batch that updates both
networks from the same forward pass. As in the tutorial, that step is wrapped
in ``tf.function``; this changes its speed, not its arithmetic. The batch size is
128, genzoo's, rather than the tutorial's 256, so that a step sees the same
number of images; ``--steps`` defaults to dcgan/mnist's 2,340 updates.

It writes ``plugins/genzoo-dcgan/results/reference-tutorial-mnist.json`` (FID,
KID, IS, precision and recall with the shipped ``mnist-cnn`` features: 10,000
samples against the 10,000 test images, the protocol of ``make results``) and a
64-sample grid ``docs/images/reference-tutorial-mnist.png``.

Why this is a script and not a recipe: a recipe rebuilds a weight of a
registered model through ``genzoo train``, and this trains no genzoo model. It
is a reference for comparison (the model card's "against the reference
recipe"): the tutorial's own networks, its own training loop and optimizers,
outside the plugin's model and the core trainer, and its result is a score, not
a shipped weight file.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import genzoo_core
from genzoo_core import save_grid
from genzoo_core.plugin import ModelSpec

PLUGIN = Path(__file__).resolve().parents[1]
NOISE_DIM = 100


# -- the tutorial's networks ------------------------------------------------------------


def tutorial_generator() -> keras.Model:
    """The TensorFlow DCGAN tutorial's generator: z -> 28x28x1 in [-1, 1]."""
    return keras.Sequential([
        keras.Input((NOISE_DIM,)),
        keras.layers.Dense(7 * 7 * 256, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(),
        keras.layers.Reshape((7, 7, 256)),
        keras.layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                                     activation="tanh"),
    ], name="tutorial_generator")


def tutorial_discriminator() -> keras.Model:
    """The tutorial's discriminator: 28x28x1 -> one real/fake logit."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(64, 5, strides=2, padding="same"),
        keras.layers.LeakyReLU(),
        keras.layers.Dropout(0.3),
        keras.layers.Conv2D(128, 5, strides=2, padding="same"),
        keras.layers.LeakyReLU(),
        keras.layers.Dropout(0.3),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
    ], name="tutorial_discriminator")


# -- the seed chapter's loss and step ---------------------------------------------------

cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)


def discriminator_loss(real_output: tf.Tensor, fake_output: tf.Tensor) -> tf.Tensor:
    """Real images should score 1, generated ones 0."""
    return (cross_entropy(tf.ones_like(real_output), real_output)
            + cross_entropy(tf.zeros_like(fake_output), fake_output))


def generator_loss(fake_output: tf.Tensor) -> tf.Tensor:
    """The non-saturating generator loss: generated images should score 1."""
    return cross_entropy(tf.ones_like(fake_output), fake_output)


def make_train_step(generator: keras.Model, discriminator: keras.Model,
                    generator_optimizer: keras.optimizers.Optimizer,
                    discriminator_optimizer: keras.optimizers.Optimizer):
    """The seed chapter's step: both networks updated from one forward pass."""

    def train_step(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        noise = tf.random.normal([tf.shape(images)[0], NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = generator_loss(fake_output)
            disc_loss = discriminator_loss(real_output, fake_output)
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(
            disc_loss, discriminator.trainable_variables
        )
        generator_optimizer.apply_gradients(
            zip(gradients_of_generator, generator.trainable_variables)
        )
        discriminator_optimizer.apply_gradients(
            zip(gradients_of_discriminator, discriminator.trainable_variables)
        )
        return gen_loss, disc_loss

    return train_step


class ReferenceSampler:
    """Just enough of the model contract for ``genzoo_core.evaluate`` to score it."""

    spec = ModelSpec(name="tf-tutorial-dcgan", builder="reference_tutorial:ReferenceSampler",
                     components=("generator",))
    config: dict[str, Any] = {"recipe": "TensorFlow DCGAN tutorial + seed chapter loop"}

    def __init__(self, generator: keras.Model) -> None:
        self.generator = generator
        self._generate = tf.function(lambda z: (generator(z, training=False) + 1.0) / 2.0)

    def sample(self, n: int, condition: Any = None, seed: int | None = None) -> np.ndarray:
        """``n`` images in [0, 1], drawn from ``seed``."""
        z = np.random.default_rng(seed).standard_normal((n, NOISE_DIM)).astype(np.float32)
        return np.concatenate([self._generate(z[i:i + 1000]).numpy()
                               for i in range(0, n, 1000)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2340)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    command = "python plugins/genzoo-dcgan/scripts/reference_tutorial.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    keras.utils.set_random_seed(args.seed)
    generator, discriminator = tutorial_generator(), tutorial_discriminator()
    step = tf.function(make_train_step(
        generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    ))
    images = (
        genzoo_core.load_data("mnist", "train")
        .dataset(shuffle=True, seed=args.seed, batch_size=args.batch_size)
        .map(lambda batch: batch["images"] * 2.0 - 1.0)
        .repeat()
        .prefetch(2)
    )
    started = time.perf_counter()
    history = []
    for index, batch in enumerate(images.take(args.steps), start=1):
        gen_loss, disc_loss = step(batch)
        if index % 100 == 0 or index == args.steps:
            history.append({"step": index, "g_loss": round(float(gen_loss), 4),
                            "d_loss": round(float(disc_loss), 4),
                            "seconds": round(time.perf_counter() - started, 1)})
            print(history[-1], flush=True)
    train_seconds = time.perf_counter() - started

    sampler = ReferenceSampler(generator)
    save_grid(PLUGIN.parents[1] / "docs" / "images" / "reference-tutorial-mnist.png",
              sampler.sample(64, seed=0))
    report = genzoo_core.evaluate(sampler, "mnist", n=10000, features="mnist-cnn", verbose=0)
    result = {
        "recipe": "TensorFlow DCGAN tutorial networks, seed chapter GradientTape loop "
        "(simultaneous updates, tf.function), Adam 1e-4",
        "command": command.strip(),
        "steps": args.steps,
        "batch_size": args.batch_size,
        "train_seconds": round(train_seconds, 1),
        "parameters": {"generator": generator.count_params(),
                       "discriminator": discriminator.count_params()},
        "history": history,
        "metrics": {k: round(v, 4) for k, v in report["metrics"].items()},
        "evaluation": {k: report["settings"][k] for k in ("n", "seed", "features", "real")},
    }
    out = PLUGIN / "results" / "reference-tutorial-mnist.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["metrics"]), f"train {train_seconds / 60:.1f} min", f"-> {out}")


if __name__ == "__main__":
    main()
