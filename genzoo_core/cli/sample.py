"""``genzoo sample``: draw a grid of images, or translate images (``--input``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from genzoo_core.cli.common import _at_least, _check_parent, check_sample_options, sample_options
from genzoo_core.errors import GenzooError
from genzoo_core.registry import Registry

SAMPLE_OUTPUT = "samples.png"
"""Where ``genzoo sample`` writes its grid unless ``-o`` says otherwise."""


def _parse_condition(args: argparse.Namespace, n: int) -> Any:
    if args.text is not None:
        return [args.text] * n
    if args.label is not None:
        import numpy as np

        return np.full((n,), args.label, dtype=np.int64)
    return None


def cmd_sample(args: argparse.Namespace, registry: Registry) -> int:
    """Draw images from a pretrained model and save them as a PNG grid.

    Without ``-n``, a class-conditional model draws a class grid (one class per
    column, num_classes x num_classes images); other models draw 64 images.
    ``--steps``, ``--guidance``, ``--sampler`` and ``--eta`` set the sampling
    options a model declares (checked before the model loads); an iterative
    sampler shows a progress bar with the time left unless ``-q`` is given.
    """
    from genzoo_core.api import _load_resolved, _resolve_weights
    from genzoo_core.images import save_grid
    from genzoo_core.progress import sampling_progress
    from genzoo_core.spec import Condition
    from genzoo_core.weights import read_header

    _at_least(1, n=args.n, columns=args.columns)
    _at_least(0, seed=args.seed)
    options = sample_options(args)
    if args.input is not None and options:
        flags = ", ".join(f"--{option}" for option in options)
        raise GenzooError(f"{flags} apply to drawing images, not to translations: drop "
                          f"{flags}")
    if args.input is None:
        _check_png_output(Path(args.output))  # before the model loads, not after it drew
    spec, path, header = _resolve_weights(args.name, registry=registry)
    options = check_sample_options(spec, options)  # before the model loads, too
    model = _load_resolved(spec, path, header or read_header(path))
    if args.input is not None:
        return _translate_files(model, args)
    for flag, value in (("--direction", args.direction), ("--crop", args.crop)):
        if value is not None:
            raise GenzooError(f"{flag} applies to translations: pass --input too")
    condition = model.spec.condition
    if args.text is not None and condition != Condition.TEXT:
        raise GenzooError(
            f"{args.name} is not conditioned on text (it takes {condition.value}): drop --text"
        )
    classes = int(model.config.get("num_classes", 10))
    if args.label is not None:
        if condition != Condition.CLASS_LABEL:
            raise GenzooError(
                f"{args.name} is not conditioned on class labels (it takes {condition.value}): "
                f"drop --label"
            )
        if not 0 <= args.label < classes:
            raise GenzooError(
                f"--label must be in 0..{classes - 1} ({args.name} has {classes} classes), "
                f"got {args.label}"
            )
    n, columns = args.n, args.columns
    if n is None:
        n = 64
        if condition == Condition.CLASS_LABEL and args.label is None:
            n, columns = classes * classes, columns or classes
    _check_grid_size(model, n, columns)
    condition = _parse_condition(args, n)
    if model.spec.sample_options and not args.quiet:  # an iterative sampler: show the time left
        with sampling_progress(n, label=f"drawing {n} images from {args.name}"):
            images = model.sample(n, condition=condition, seed=args.seed, **options)
    else:
        images = model.sample(n, condition=condition, seed=args.seed, **options)
    path = save_grid(args.output, images, columns=columns)
    print(f"wrote {n} samples from {args.name} to {path.resolve()}")
    return 0


def _check_grid_size(model: Any, n: int, columns: int | None) -> None:
    """Refuse a grid too large to hold or write before a single image is drawn."""
    from genzoo_core.images import MAX_GRID_PIXELS, grid_shape, largest_grid

    shape = model.config.get("image_shape")
    if not shape:  # a model that does not say: one image tells
        shape = model.sample(1, seed=0).shape[1:]
    size = (int(shape[0]), int(shape[1]))
    height, width = grid_shape(n, size, columns=columns)
    if height * width <= MAX_GRID_PIXELS:
        return
    largest = largest_grid(size, columns=columns, limit=n)
    across = f" with --columns {columns}" if columns else ""
    raise GenzooError(
        f"-n {n}: a grid of {n} {size[1]}x{size[0]} images would be {width}x{height} pixels, "
        f"more than one grid may hold ({MAX_GRID_PIXELS} pixels); the largest -n that fits"
        f"{across} is {largest}: draw several grids with different --seed values, or draw "
        f"in batches from Python with genzoo_core.load(...).sample(n)"
    )


def _check_png_output(output: Path) -> None:
    """Refuse an ``-o`` that cannot become a PNG file, before any work is done."""
    if output.is_dir():
        raise GenzooError(f"-o {output} is a folder: name a .png file (e.g. {output}/samples.png)")
    if output.suffix.lower() != ".png":
        raise GenzooError(
            f"-o {output}: genzoo writes PNG images, so name a .png file "
            f"(e.g. {output.with_suffix('.png')})"
        )
    _check_parent(output)


def _crop_plan(file: Path, size: tuple[int, int], args: argparse.Namespace,
               model_size: tuple[int, int], model_name: str) -> tuple[int, int, int, int] | None:
    """The part of ``file`` to translate, or ``None`` for all of it; refuses a squash."""
    from genzoo_core.images import crop_box, same_aspect

    height, width = size
    wide = width * model_size[0] > height * model_size[1]
    fits = "left|center|right" if wide else "top|center|bottom"
    if same_aspect(size, model_size):
        return None  # only resized, never distorted
    if args.crop is None:
        wanted = f"{model_size[1]}x{model_size[0]}"
        if same_aspect(size, (model_size[0], 2 * model_size[1])):
            raise GenzooError(
                f"{file} is {width}x{height} and {model_name} takes {wanted} images: it looks "
                f"like a side-by-side A|B pair: pass --crop left to translate its left half "
                f"(--crop right for the right one)"
            )
        raise GenzooError(
            f"{file} is {width}x{height} but {model_name} takes {wanted} images, and resizing "
            f"would change its aspect ratio: pass --crop {fits} to translate that part of it, "
            f"or crop it yourself"
        )
    if args.crop in (("top", "bottom") if wide else ("left", "right")):
        raise GenzooError(
            f"{file} is {width}x{height}, {'wider' if wide else 'taller'} than "
            f"{model_name}'s images: --crop {args.crop} does not apply; pass --crop {fits}"
        )
    box = crop_box(size, model_size, args.crop)
    return None if box[2:] == size else box


def _crop_warnings(plans: list[tuple[Path, tuple[int, int], Any]], where: str) -> list[str]:
    """One line per distinct crop: which images, from what size, to which part."""
    groups: dict[tuple[Any, ...], list[Path]] = {}
    for file, (height, width), box in plans:
        if box is not None:
            groups.setdefault((width, height, box[3], box[2]), []).append(file)
    lines = []
    for (width, height, part_width, part_height), files in groups.items():
        shape = "square" if part_width == part_height else "part"
        what, its = (files[0], "its") if len(files) == 1 else (f"{len(files)} images", "their")
        lines.append(
            f"warning: cropped {what} ({width}x{height}) to {its} {where} "
            f"{part_width}x{part_height} {shape}"
        )
    return lines


def _translate_files(model: Any, args: argparse.Namespace) -> int:
    """``genzoo sample MODEL --input FILE_OR_FOLDER -o OUT``: translate images.

    A file becomes one PNG (``-o``); a folder becomes a folder of PNGs (``-o``
    names it), one per image, named after its input. An image whose aspect
    ratio differs from the model's is refused unless ``--crop`` says which part
    to take. Every image is read and checked before anything is written, and a
    folder's results appear only once all of them are done.
    """
    from genzoo_core.data import IMAGE_SUFFIXES, read_image
    from genzoo_core.images import save_png
    from genzoo_core.spec import Capability

    if Capability.TRANSLATE not in model.capabilities:
        raise GenzooError(
            f"{args.name} does not translate images (it declares "
            f"{', '.join(sorted(c.value for c in model.capabilities))}): drop --input"
        )
    kwargs = {"direction": args.direction} if args.direction is not None else {}
    height, width, channels = (int(v) for v in model.config.get("image_shape", [0, 0, 3]))
    source = Path(args.input).expanduser()
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise GenzooError(f"{source} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        output = Path(args.output if args.output != SAMPLE_OUTPUT else "translations")
        if output.suffix.lower() == ".png":
            raise GenzooError(f"--input is a folder, so -o must name a folder, not {output}")
        if output.exists() and not output.is_dir():
            raise GenzooError(f"-o {output} is a file: --input is a folder, so name a folder")
        _check_parent(output)
        clashes = [f for f, g in zip(files, files[1:]) if f.stem == g.stem]
        if clashes:
            raise GenzooError(
                f"{source} holds {clashes[0].stem}.* twice, and both would be written as "
                f"{clashes[0].stem}.png: rename or move one"
            )
    elif source.is_file():
        files, output = [source], Path(args.output)
        _check_png_output(output)
    else:
        raise GenzooError(f"--input {source} does not exist")
    plans = []
    for file in files:  # check every image before translating any
        size = read_image(file, channels).shape[:2]
        box = _crop_plan(file, size, args, (height, width), model.spec.name) if height else None
        plans.append((file, size, box))
    for line in _crop_warnings(plans, args.crop or ""):
        print(line, file=sys.stderr)

    def translated(file: Path, box: Any) -> Any:
        image = read_image(file, channels)
        if box is not None:
            top, left, part_height, part_width = box
            image = image[top : top + part_height, left : left + part_width]
        return model.translate((image.astype("float32") / 255.0)[None], **kwargs)[0]

    if source.is_file():
        save_png(output, translated(files[0], plans[0][2]))
    else:
        _write_folder(output, ((f"{f.stem}.png", translated, f, box) for f, _, box in plans),
                      save_png)
    print(f"translated {len(files)} image(s) with {args.name} into {output.resolve()}")
    return 0


def _write_folder(output: Path, items: Any, save_png: Any) -> None:
    """Write every item into a hidden folder beside ``output``, then move them all in.

    A failure part-way leaves ``output`` as it was.
    """
    import shutil
    import tempfile

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial",
                                    dir=output.parent))
    try:
        names = []
        for name, make, *make_args in items:
            save_png(staging / name, make(*make_args))
            names.append(name)
        output.mkdir(exist_ok=True)
        for name in names:
            os.replace(staging / name, output / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

