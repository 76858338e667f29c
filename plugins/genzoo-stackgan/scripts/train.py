"""Train the pretrained ``stackgan/shapes`` weights, Stage-I then Stage-II, and package them.

Run from the repository root, after ``pretrain_text_encoder.py`` (it resumes if
interrupted)::

    .venv/bin/python plugins/genzoo-stackgan/scripts/train.py --stage1-epochs 20 \
        --stage2-epochs 10

Steps:

1. Stage I: build ``stackgan`` with ``stage=1``, load the pretrained text
   encoder into its ``text_encoder`` component, and train on the captioned-shapes
   train split with the core trainer (``runs/stackgan-shapes/stage1``).
2. Stage II: build ``stackgan`` with ``stage=2``, load the stage-1 ``model.h5``
   into it (every stage's networks are in every file, so it fits; Stage-I and
   the text encoder stay frozen from here on), and train again
   (``runs/stackgan-shapes/stage2``).

``--stage1-init WEIGHTS`` starts Stage-I from an earlier run's weights instead
of from scratch (only the weights; the optimizers start afresh), e.g. to carry
on with another config. The text encoder is always the one ``--text-encoder``
names, so an earlier Stage-I can also carry on under a retrained encoder.
``--stage2-init WEIGHTS`` skips Stage-I: Stage-II starts from a finished
model's weights (its Stage-I, frozen, and its Stage-II) and trains on; the
epochs and time already in that file are counted in the totals.
``--stage2-from WEIGHTS`` trains Stage-I as usual, then starts Stage-II's
networks from that file's instead of from scratch. Both copy layer by layer,
so a config that adds layers (``"grid_condition": true``) starts from
everything else in the file; the layers it lacks are printed. With
``"matching_weight"`` in ``--config``, ``--image-encoder`` names the frozen
image encoder of the matching loss (the one ``pretrain_text_encoder.py``
trains with the text encoder, or one it trains with
``--frozen-text-encoder``), built as ``--image-layout`` says.
3. Save the stage-2 model with its metadata into ``genzoo_stackgan/weights/shapes.h5``
   and print its size and sha256 (which go into ``genzoo_stackgan/plugin.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
from pathlib import Path

import numpy as np
from genzoo_stackgan.shapes import load_shapes
from genzoo_stackgan.text import IMAGE_LAYOUTS

import genzoo_core
from genzoo_core import sha256_file
from genzoo_core.plugin import GenerativeModel

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]
MAX_FLOAT32_BYTES = 5_000_000  # above this, store half precision


def seconds_and_last(folder: Path) -> tuple[float, dict[str, str], int]:
    """Summed epoch seconds, the last row and the epoch count of a run's log.csv."""
    with open(folder / "log.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return sum(float(r["seconds"]) for r in rows), rows[-1], len(rows)


def start_from(
    model: GenerativeModel, path: str, components: tuple[str, ...] = ()
) -> list[str]:
    """Copy ``path``'s weights into ``model`` layer by layer; return the layers left as built.

    The file is rebuilt with its own config, so a model with a layer the file
    lacks (e.g. one that turns ``grid_condition`` on) starts from everything
    else it has; with the same config, every layer is copied. ``components``
    limits the copy to those (all by default).
    """
    earlier = genzoo_core.load(path)
    fresh = []
    for name in components or model.spec.components:
        source, target = getattr(earlier, name), getattr(model, name)
        known = {layer.name: layer for layer in source.layers}
        for layer in target.layers:
            match = known.get(layer.name)
            if match is not None and [w.shape for w in match.weights] == \
                    [w.shape for w in layer.weights]:
                layer.set_weights(match.get_weights())
            elif layer.weights:
                fresh.append(f"{name}/{layer.name}")
    return fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage1-epochs", type=int, default=20)
    parser.add_argument("--stage2-epochs", type=int, default=10)
    parser.add_argument("--text-encoder", default=str(ROOT / "runs" / "stackgan-text" /
                                                      "text_encoder.weights.h5"))
    parser.add_argument("--out", default=str(ROOT / "runs" / "stackgan-shapes"))
    parser.add_argument("--stage1-init", metavar="WEIGHTS",
                        help="start Stage-I from these stackgan weights (e.g. an earlier run's "
                        "stage1/model.h5, trained with another config) instead of from scratch")
    parser.add_argument("--stage2-init", metavar="WEIGHTS",
                        help="skip Stage-I and carry on training Stage-II from stackgan "
                        "weights this script packaged (e.g. genzoo_stackgan/weights/shapes.h5)")
    parser.add_argument("--stage2-from", metavar="WEIGHTS",
                        help="after Stage-I, start Stage-II's generator and discriminator from "
                        "these stackgan weights instead of from scratch (e.g. the packaged "
                        "model whose Stage-I was carried on with --stage1-init)")
    parser.add_argument("--image-encoder", metavar="WEIGHTS",
                        default=str(ROOT / "runs" / "stackgan-image-match" /
                                    "image_encoder.weights.h5"),
                        help="the matching loss's frozen image encoder (used when the config's "
                        "matching_weight > 0)")
    parser.add_argument("--image-layout", choices=IMAGE_LAYOUTS, default="grid",
                        help="how --image-encoder was built: 'grid' (the default) or 'dense', "
                        "the earlier encoder")
    parser.add_argument("--config", default="{}", help="JSON config overrides for both stages")
    args = parser.parse_args()
    out = Path(args.out)
    overrides = json.loads(args.config)
    command = "python plugins/genzoo-stackgan/scripts/train.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    data = load_shapes("train")
    matching = float(overrides.get("matching_weight", 0.0)) > 0.0

    if args.stage2_init and args.stage2_from:
        parser.error("--stage2-init already carries Stage-II on from its file; "
                     "--stage2-from is for after a Stage-I run: pass one of them")
    if args.stage2_init:
        before = genzoo_core.read_header(args.stage2_init).metadata.get("metrics", {})
        if "stage1_epochs" not in before:
            parser.error(f"--stage2-init {args.stage2_init} has no training record to carry "
                         "on from: pass weights this script packaged (e.g. "
                         "genzoo_stackgan/weights/shapes.h5)")
        seconds1, epochs1 = before["stage1_train_seconds"], before["stage1_epochs"]
        last1 = {k.removeprefix("stage1_final_"): v for k, v in before.items()
                 if k.startswith("stage1_final_")}
        earlier2 = (before["stage2_train_seconds"], before["stage2_epochs"])
    else:
        stage1 = genzoo_core.create("stackgan", {**overrides, "stage": 1})
        if args.stage1_init:  # only the weights: fresh optimizers
            fresh = start_from(stage1, args.stage1_init)
            if fresh:
                print(f"not in {args.stage1_init}, starting as built: {', '.join(fresh)}")
        stage1.text_encoder.load_weights(args.text_encoder)
        if matching:
            stage1.set_matching_encoder(args.image_encoder, args.image_layout)
        genzoo_core.train(stage1, data, out / "stage1", epochs=args.stage1_epochs,
                          metadata={"training_command": command})
        seconds1, last1, epochs1 = seconds_and_last(out / "stage1")
        earlier2 = (0.0, 0)

    stage2 = genzoo_core.create("stackgan", {**overrides, "stage": 2})
    stage2.load_weights(args.stage2_init or str(out / "stage1" / "model.h5"))
    if args.stage2_from and not (out / "stage2" / "checkpoint.h5").exists():
        fresh = start_from(stage2, args.stage2_from, ("stage2_generator", "stage2_discriminator"))
        if fresh:
            print(f"not in {args.stage2_from}, starting as built: {', '.join(fresh)}")
    if matching:
        stage2.set_matching_encoder(args.image_encoder, args.image_layout)
    genzoo_core.train(stage2, data, out / "stage2", epochs=args.stage2_epochs,
                      metadata={"training_command": command})

    seconds2, last2, epochs2 = seconds_and_last(out / "stage2")
    seconds2, epochs2 = seconds2 + earlier2[0], epochs2 + earlier2[1]
    text_facts_path = Path(args.text_encoder).with_name("facts.json")
    text_facts = json.loads(text_facts_path.read_text()) if text_facts_path.is_file() else {}
    metadata = {
        "dataset": "shapes:train (10,000 captioned 64x64 images, 5 captions each, seed 0)",
        "training_command": command,
        "metrics": {
            "stage1_epochs": epochs1,
            "stage1_train_seconds": round(seconds1, 1),
            "stage2_epochs": epochs2,
            "stage2_train_seconds": round(seconds2, 1),
            "text_encoder_train_seconds": text_facts.get("train_seconds", 0.0),
            "text_encoder_test_retrieval_scene": text_facts.get("test_retrieval_scene", 0.0),
            "text_encoder_hard_negatives": text_facts.get("hard_negatives", False),
            **{f"text_encoder_test_prefers_own_caption_to_{kind}": share for kind, share
               in text_facts.get("test_prefers_own_caption", {}).items()},
            **{f"stage1_final_{k}": float(v) for k, v in last1.items()
               if k not in ("epoch", "seconds")},
            **{f"stage2_final_{k}": float(v) for k, v in last2.items()
               if k not in ("epoch", "seconds")},
        },
    }
    weights = PLUGIN / "genzoo_stackgan" / "weights" / "shapes.h5"
    precision = "float32"
    stage2.save_weights(str(weights), metadata=metadata)
    if weights.stat().st_size > MAX_FLOAT32_BYTES:
        precision = "float16"
        stage2.save_weights(str(weights), metadata=metadata, precision=precision)
    packaged = genzoo_core.load(str(weights))
    caption = "a large red circle in the centre"
    deviation = float(np.abs(stage2.sample(64, condition=caption, seed=0)
                             - packaged.sample(64, condition=caption, seed=0)).max())
    print(f"stage I: {epochs1} epochs, {seconds1 / 60:.1f} min; final {dict(last1)}")
    print(f"stage II: {epochs2} epochs, {seconds2 / 60:.1f} min; final {dict(last2)}")
    print(f"weights: {weights} ({weights.stat().st_size / 1e6:.2f} MB, {precision}); "
          f"stored vs trained samples: max |diff| {deviation:.2e}")
    print(f"sha256 {sha256_file(weights)}")


if __name__ == "__main__":
    main()
