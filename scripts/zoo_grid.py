"""Draw the zoo: one labelled row of samples per first-party model, as one PNG.

    GENZOO_DATA=../shared/data .venv/bin/python scripts/zoo_grid.py [-o docs/images/zoo.png]

Every installed model that draws images (auxiliary networks are left out) is
loaded by name with its default pretrained weights (``genzoo_core.load(NAME)``)
and draws a few images with one fixed seed: unconditional models draw
:data:`PER_ROW` samples; class-conditional models one image for each of the
first classes; text-to-image models images for two captions, written beside
them; image-to-image models translate real held-out inputs of their dataset
(from ``$GENZOO_DATA``: pix2pix the ``maps`` val photos, CycleGAN the
``summer2winter`` test summer photos), each input followed by its translation.
The rows are laid out as one grid, the weights' name written on each, and saved
as a small PNG: the picture at the top of the README.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from genzoo_core.cli import quiet_tensorflow

quiet_tensorflow()  # before anything imports TensorFlow: no start-up log lines

import genzoo_core  # noqa: E402
from genzoo_core.spec import Condition  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "images" / "zoo.png"
SEED = 0
PER_ROW = 8
"""Images per row (for a translation: four inputs, each followed by its translation)."""
TILE = 40
"""Each image is drawn at TILE x TILE pixels."""
LABEL_WIDTH = 210
GAP = 2
CAPTIONS = ("a large blue square in the top left", "a small red triangle at the bottom right")
"""What the text-to-image models draw: half of the row each."""
INPUT_SPLITS = {Condition.PAIRED_IMAGE: "val", Condition.UNPAIRED_DOMAINS: "test"}
"""The held-out split whose first inputs the image-to-image models translate."""


def draw_row(model: Any, name: str) -> tuple[list[np.ndarray], list[str]]:
    """The images of one model's row (float32 HWC in [0, 1]) and the lines under its name."""
    condition = model.spec.condition
    if condition == Condition.CLASS_LABEL:
        labels = np.arange(PER_ROW) % int(model.config.get("num_classes", 10))
        images = model.sample(PER_ROW, condition=labels, seed=SEED)
        return list(images), [f"classes {labels[0]} to {labels[-1]}"]
    if condition == Condition.TEXT:
        captions = [c for c in CAPTIONS for _ in range(PER_ROW // len(CAPTIONS))]
        images = model.sample(len(captions), condition=captions, seed=SEED)
        return list(images), [f'"{c}"' for c in CAPTIONS]
    if condition in INPUT_SPLITS:
        dataset_name = model.spec.get_weights(None).dataset or name.split("/", 1)[1]
        dataset = genzoo_core.default_registry().get_dataset(dataset_name.split(":")[0])
        source = dataset.load(INPUT_SPLITS[condition])
        inputs = getattr(source, "inputs", None)
        if inputs is None:
            inputs = source.images_a
        count = PER_ROW // 2
        real = inputs[:count].astype(np.float32) / 255.0
        made = model.translate(real)
        row = [image for pair in zip(real, made) for image in pair]
        return row, ["input, translation, ...", f"({dataset.name} {INPUT_SPLITS[condition]} split)"]
    return list(model.sample(PER_ROW, seed=SEED)), ["samples"]


def tile(image: np.ndarray) -> Image.Image:
    """One image as a TILE x TILE RGB picture (nearest for small grey digits)."""
    pixels = np.clip(np.asarray(image, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    picture = Image.fromarray(pixels, "RGB")
    small = picture.width < TILE
    return picture.resize((TILE, TILE), Image.NEAREST if small else Image.LANCZOS)


def font(size: int) -> Any:
    """PIL's own font at ``size`` pixels (its bitmap font where FreeType is missing)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):
        return ImageFont.load_default()


def layout(rows: list[tuple[str, list[str], list[np.ndarray]]]) -> Image.Image:
    """The rows as one picture: the name and its note on the left, the images after."""
    width = LABEL_WIDTH + PER_ROW * (TILE + GAP)
    height = len(rows) * (TILE + GAP) + GAP
    canvas = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(canvas)
    title, note = font(14), font(9)
    for i, (name, lines, images) in enumerate(rows):
        top = GAP + i * (TILE + GAP)
        pen.text((6, top + 3), name, fill="black", font=title)
        for k, line in enumerate(lines[:2]):
            pen.text((6, top + 20 + 10 * k), line, fill=(90, 90, 90), font=note)
        for j, image in enumerate(images[:PER_ROW]):
            canvas.paste(tile(image), (LABEL_WIDTH + j * (TILE + GAP), top))
    return canvas


def main() -> int:
    """Draw every model's row and write the grid."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(OUTPUT), help="PNG to write")
    args = parser.parse_args()
    rows = []
    for spec in genzoo_core.list_models():
        if spec.auxiliary or not spec.weights or "sample" not in {
                c.value for c in spec.capabilities}:
            continue
        started = time.perf_counter()
        weights = spec.get_weights(None).name
        name = f"{spec.name}/{weights}"
        model = genzoo_core.load(spec.name)  # the default weights, by name
        images, lines = draw_row(model, name)
        rows.append((name, lines, images))
        print(f"{name}: {len(images)} images, {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout(rows).save(path, optimize=True)
    print(f"wrote {len(rows)} rows to {path} ({path.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
