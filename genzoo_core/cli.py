"""The ``genzoo`` command line.

``genzoo list``, ``info``, ``plugins`` and ``datasets`` read specs only and never
import TensorFlow; ``sample`` and ``train`` import it when they run. Errors print
one line, ``genzoo: error: ...``, and exit with status 1 (``GENZOO_DEBUG=1``
shows the traceback instead). TensorFlow's start-up log lines are kept out of the
output unless ``TF_CPP_MIN_LOG_LEVEL`` or ``GENZOO_DEBUG`` is set.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.abc
import importlib.machinery
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from genzoo_core.errors import ConfigError, GenzooError
from genzoo_core.registry import Registry, default_registry
from genzoo_core.version import API_VERSION, __version__

SAMPLE_OUTPUT = "samples.png"
"""Where ``genzoo sample`` writes its grid unless ``-o`` says otherwise."""

CROPS = ("center", "left", "right", "top", "bottom")
"""``--crop`` choices: :data:`genzoo_core.images.CROPS`, spelled out here because
importing that module would load numpy for every command."""


# What TensorFlow's C++ side prints while it loads, before TF_CPP_MIN_LOG_LEVEL is read
# (tensorflow/tensorflow#100442): absl's banner and its INFO and WARNING lines.
_START_UP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\] "
)


def quiet_tensorflow() -> bool:
    """Keep TensorFlow's start-up log lines out of the command's output.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` and filters the lines TensorFlow prints while
    it is imported, which ignore that level; quiets the Python loggers and
    warnings of TensorFlow, Keras and absl. Does nothing, and returns ``False``,
    when the user set ``TF_CPP_MIN_LOG_LEVEL`` or ``GENZOO_DEBUG``. Call it before
    anything imports TensorFlow.
    """
    if os.environ.get("GENZOO_DEBUG") or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return False
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietImport) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietImport())
    import logging
    import warnings

    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module=rf"{name}(\.|$)")
    return True


class _QuietImport(importlib.abc.MetaPathFinder):
    """Imports ``tensorflow`` with its start-up noise filtered out of stderr."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once is enough
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = module.__spec__.loader = self.loader  # the module sees its own
        with _filtered_stderr():
            self.loader.exec_module(module)


@contextlib.contextmanager
def _filtered_stderr() -> Iterator[None]:
    """Send file descriptor 2 to a file for the block, then replay all but the noise."""
    saved = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
        saved = os.dup(2)
    if saved is None:  # no usable stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _START_UP_NOISE.match(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _problems_note(registry: Registry) -> str:
    failed = [p for p in registry.plugins if p.status != "ok"]
    notes = []
    if failed:
        names = ", ".join(f"{p.name} ({p.status})" for p in failed)
        notes.append(f"{len(failed)} plugin(s) not loaded: {names}; see 'genzoo plugins'")
    for error in registry.conflicts.values():
        notes.append(str(error))
    return "\n".join(f"warning: {n}" for n in notes)


def cmd_list(args: argparse.Namespace, registry: Registry) -> int:
    """Show installed models and their pretrained weights."""
    models = registry.models
    if args.json:
        print(json.dumps([
            {
                "name": s.name,
                "description": s.description,
                "distribution": s.distribution,
                "version": s.version,
                "condition": s.condition.value,
                "capabilities": sorted(c.value for c in s.capabilities),
                "weights": [f"{s.name}/{w.name}" for w in s.weights],
            }
            for s in (models[n] for n in sorted(models))
        ], indent=2))
    elif models:
        rows = [
            [
                s.name,
                ", ".join(f"{s.name}/{w.name}" for w in s.weights) or "-",
                f"{s.distribution} {s.version}",
                s.description,
            ]
            for s in (models[n] for n in sorted(models))
        ]
        print(_table(rows, ["MODEL", "PRETRAINED", "PLUGIN", "DESCRIPTION"]))
    else:
        print("No models installed. Install a plugin, e.g. pip install genzoo-gan")
    note = _problems_note(registry)
    if note:
        print(note, file=sys.stderr)
    return 0


def cmd_info(args: argparse.Namespace, registry: Registry) -> int:
    """Describe a model, one of its weights, a dataset, or a weights file."""
    from genzoo_core.api import _is_path, _split_name, _weights_file

    target = args.name
    known = target.partition("/")[0]
    if _is_path(target) and known not in registry.models and known not in registry.datasets:
        from genzoo_core.weights import read_header

        header = read_header(_weights_file(target))
        print(json.dumps({
            "file": header.path, "model": header.model, "config": header.config,
            "components": list(header.components), "metadata": header.metadata,
            "training_state": header.training_state,
        }, indent=2, default=str))
        return 0
    name, weights_name = _split_name(target)
    if name not in registry.models and name in registry.datasets:
        d = registry.get_dataset(name)
        print(json.dumps({
            "dataset": d.name, "description": d.description, "distribution": d.distribution,
            "condition": d.condition.value, "image_shape": list(d.image_shape),
            "num_classes": d.num_classes,
        }, indent=2))
        return 0
    spec = registry.get_model(name)
    weights = [spec.get_weights(weights_name)] if weights_name else list(spec.weights)
    print(json.dumps({
        "model": spec.name,
        "description": spec.description,
        "plugin": f"{spec.distribution} {spec.version}",
        "class": spec.builder,
        "components": list(spec.components),
        "condition": spec.condition.value,
        "capabilities": sorted(c.value for c in spec.capabilities),
        "default_config": spec.default_config,
        "weights": [
            {
                "name": f"{spec.name}/{w.name}",
                "source": w.url or f"packaged ({w.file})",
                "sha256": w.sha256,
                "dataset": w.dataset,
                "description": w.description,
                "metrics": dict(w.metrics),
            }
            for w in weights
        ],
    }, indent=2))
    return 0


def cmd_plugins(args: argparse.Namespace, registry: Registry) -> int:
    """Show every discovered plugin, with the error of any that failed."""
    print(f"genzoo-core {__version__}, plugin API {API_VERSION}")
    rows = [
        [p.name, f"{p.distribution} {p.version}", p.status, p.api_range or "-",
         ", ".join(p.models + p.datasets) or "-"]
        for p in registry.plugins
    ]
    print(_table(rows, ["PLUGIN", "DISTRIBUTION", "STATUS", "API", "PROVIDES"]))
    for p in registry.plugins:
        if p.status != "ok":
            print(f"\n{p.name} ({p.distribution} {p.version}) {p.status}: {p.error}")
            if args.verbose and p.traceback:
                print(p.traceback.rstrip())
    for error in registry.conflicts.values():
        print(f"\nconflict: {error}")
    return 0


def cmd_datasets(args: argparse.Namespace, registry: Registry) -> int:
    """Show the named datasets."""
    datasets = registry.datasets
    rows = [
        [d.name, d.condition.value, "x".join(map(str, d.image_shape)), d.distribution,
         d.description]
        for d in (datasets[n] for n in sorted(datasets))
    ]
    print(_table(rows, ["DATASET", "CONDITION", "SHAPE", "FROM", "DESCRIPTION"]))
    return 0


def cmd_features(args: argparse.Namespace, registry: Registry) -> int:
    """Show the feature extractors for --features."""
    extractors = registry.feature_extractors
    rows = [
        [e.name, "x".join(map(str, e.image_shape)) if e.image_shape else "any",
         str(e.feature_dim), str(e.num_classes or "-"), e.distribution, e.description]
        for e in (extractors[n] for n in sorted(extractors))
    ]
    print(_table(rows, ["EXTRACTOR", "INPUT", "DIM", "CLASSES", "FROM", "DESCRIPTION"]))
    return 0


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
    """
    from genzoo_core.api import load
    from genzoo_core.images import save_grid
    from genzoo_core.spec import Condition

    _at_least(1, n=args.n, columns=args.columns)
    _at_least(0, seed=args.seed)
    if args.input is None:
        _check_png_output(Path(args.output))  # before the model loads, not after it drew
    model = load(args.name, registry=registry)
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
    images = model.sample(n, condition=_parse_condition(args, n), seed=args.seed)
    path = save_grid(args.output, images, columns=columns)
    print(f"wrote {n} samples from {args.name} to {path.resolve()}")
    return 0


def _at_least(minimum: int, **options: int | None) -> None:
    """Refuse any given option below ``minimum``, naming it as the user typed it."""
    for name, value in options.items():
        if value is not None and value < minimum:
            flag = f"-{name}" if len(name) == 1 else f"--{name.replace('_', '-')}"
            bound = "0 or more" if minimum == 0 else f"at least {minimum}"
            raise GenzooError(f"{flag} must be {bound}, got {value}")


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


def _check_parent(output: Path) -> None:
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise GenzooError(f"-o {output}: {parent} is a file, not a folder")
            return


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


def _parse_config(pairs: Sequence[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--config takes KEY=VALUE, got {pair!r}")
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    return config


def cmd_train(args: argparse.Namespace, registry: Registry) -> int:
    """Train a model on a dataset; resume if the output folder holds a checkpoint."""
    from genzoo_core.api import train
    from genzoo_core.spec import NAME_PATTERN

    if not NAME_PATTERN.fullmatch(args.name):
        raise GenzooError(
            f"'{args.name}' is not a model name (lowercase, like 'gan'): see 'genzoo list'"
        )
    _at_least(1, epochs=args.epochs, batch_size=args.batch_size,
              steps_per_epoch=args.steps_per_epoch)
    spec = registry.get_model(args.name)  # fail fast, before TensorFlow loads
    config = _parse_config(args.config) or None
    if config is not None:
        spec.resolve_config(config)  # unknown keys and bad values, before TensorFlow loads
    from genzoo_core.trainer import FINAL_NAME

    strategy = None
    if args.strategy == "mirrored":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
    command = "genzoo " + " ".join(shlex.quote(a) for a in args.argv)
    train(
        args.name,
        args.data,
        args.out,
        epochs=args.epochs,
        config=config,
        batch_size=args.batch_size,
        strategy=strategy,
        steps_per_epoch=args.steps_per_epoch,
        metadata={"training_command": command},
        registry=registry,
        verbose=0 if args.quiet else "auto",
        tensorboard=args.tensorboard,
    )
    print(f"trained weights: {(Path(args.out) / FINAL_NAME).resolve()}")
    return 0


def _format_metrics(results: dict[str, Any]) -> str:
    rows = []
    for key, value in results.items():
        if key.endswith("_std") or key == "nll_count":
            continue
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        std = results.get(f"{key}_std")
        if std is not None:
            text += f" ± {std:.2g}"
        rows.append([key, text])
    return _table(rows, ["METRIC", "VALUE"])


def cmd_eval(args: argparse.Namespace, registry: Registry) -> int:
    """Score a model against real data, or a folder of images against another."""
    from genzoo_core._files import atomic_path
    from genzoo_core.evaluation import evaluate, evaluate_folders

    _at_least(2, n=args.n)  # two images are the fewest any metric can compare
    _at_least(0, seed=args.seed)
    output = Path(args.output)
    if output.is_dir():
        raise GenzooError(f"-o {output} is a folder: name a .json file (e.g. {output}/eval.json)")
    _check_parent(output)
    verbose = 0 if args.quiet else 1
    if args.real or args.fake:
        if not (args.real and args.fake) or args.name is not None:
            raise GenzooError("score folders with both --real DIR and --fake DIR, and no model")
        report = evaluate_folders(
            args.real, args.fake, metrics=args.metrics or "fid,kid,pr",
            features=args.features or "inception-v3", seed=args.seed, verbose=verbose,
            registry=registry,
        )
    elif args.name is not None:
        report = evaluate(
            args.name, args.data, metrics=args.metrics or "fid,kid,is,pr", n=args.n,
            features=args.features or "mnist-cnn", seed=args.seed, split=args.split,
            verbose=verbose, registry=registry,
        )
    else:
        raise GenzooError("name a model (genzoo eval gan/mnist) or give --real DIR --fake DIR")
    print(_format_metrics(report["metrics"]))
    with atomic_path(output) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"settings and results: {output.resolve()}")
    return 0


def cmd_new_plugin(args: argparse.Namespace, registry: Registry) -> int:
    """Write a plugin skeleton (no TensorFlow import)."""
    from genzoo_core.scaffold import new_plugin

    target = new_plugin(args.name, args.dir)
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        print(path)
    print(f"\nnext: pip install -e {target} && pytest {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``genzoo`` command."""
    parser = argparse.ArgumentParser(
        prog="genzoo", description="A zoo of generative models for TensorFlow and Keras 3."
    )
    parser.add_argument("--version", action="version", version=f"genzoo-core {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="installed models and their pretrained weights")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="details of a model, weights, dataset or .h5 file")
    p.add_argument("name", help="MODEL, MODEL/WEIGHTS, DATASET or a weights file")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("plugins", help="discovered plugins and any load errors")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("datasets", help="named datasets for --data")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("features", help="feature extractors for 'genzoo eval --features'")
    p.set_defaults(func=cmd_features)

    p = sub.add_parser("sample", help="draw images from pretrained weights")
    p.add_argument("name", help="MODEL/WEIGHTS, MODEL (default weights) or a weights file")
    p.add_argument("-n", type=int, default=None,
                   help="number of images (default 64; a class grid for class-conditional models)")
    p.add_argument("-o", "--output", default=SAMPLE_OUTPUT,
                   help="PNG file to write (a folder when --input is a folder)")
    p.add_argument("--seed", type=int, default=None, help="same seed, same images")
    p.add_argument("--columns", type=int, default=None, help="images per grid row")
    p.add_argument("--label", type=int, default=None, help="class label (conditional models)")
    p.add_argument("--text", default=None,
                   help="text-to-image models: the caption every image is drawn for")
    p.add_argument("--input", default=None,
                   help="image-to-image models: an image file or a folder of images to translate")
    p.add_argument("--crop", choices=CROPS, default=None,
                   help="translations: the part of a non-square --input to take (left for "
                        "the input half of a side-by-side pair); default: refuse to squash it")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default=None,
                   help="translation direction, for models that go both ways (CycleGAN)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("eval", help="score a model, or two image folders (FID, KID, IS, PR, NLL)")
    p.add_argument("name", nargs="?", help="MODEL/WEIGHTS, MODEL or a weights file")
    p.add_argument("--data", default=None,
                   help="real data to compare with (default: what the weights were trained on)")
    p.add_argument("--split", default="test", help="real split (default: test)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated: fid,kid,is,pr,nll (default fid,kid,is,pr)")
    p.add_argument("-n", type=int, default=10000, help="generated images (default 10000)")
    p.add_argument("--features", default=None,
                   help="feature extractor (default mnist-cnn; inception-v3 for folders)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and KID subsets")
    p.add_argument("--real", default=None, help="folder of real images (with --fake)")
    p.add_argument("--fake", default=None, help="folder of generated images (with --real)")
    p.add_argument("-o", "--output", default="eval.json", help="JSON report (default eval.json)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train a model; resumes from --out's checkpoint")
    p.add_argument("name", help="model name")
    p.add_argument("--data", required=True, help="dataset name (see 'genzoo datasets') or path")
    p.add_argument("--epochs", type=int, required=True, help="total number of epochs")
    p.add_argument("--out", required=True, help="folder for checkpoints, grids, log, model.h5")
    p.add_argument("--batch-size", type=int, default=None, help="global batch size")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="cap on steps per epoch")
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key (JSON value); repeatable")
    p.add_argument("--strategy", choices=["default", "mirrored"], default="default",
                   help="'mirrored' uses tf.distribute.MirroredStrategy over local devices")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard logs to OUT/tensorboard")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("new-plugin", help="write a ready-to-install plugin skeleton")
    p.add_argument("name", help="model name, e.g. 'mygan' (the plugin is genzoo-NAME)")
    p.add_argument("--dir", default=".", help="parent folder of genzoo-NAME/ (default: .)")
    p.set_defaults(func=cmd_new_plugin)
    return parser


SIGPIPE_STATUS = 141
"""Exit status when the reader of the output went away (``genzoo list | head -1``):
128 + SIGPIPE, what a shell reports for ``cat`` or ``yes`` in the same place."""


def main(argv: Sequence[str] | None = None, *, registry: Registry | None = None) -> int:
    """Run the CLI; return the exit status.

    0 on success; 1 with one line ``genzoo: error: ...`` on any error (an
    unexpected exception included; ``GENZOO_DEBUG=1`` re-raises it instead);
    2 for a usage error (argparse); 130 on Ctrl-C; :data:`SIGPIPE_STATUS`,
    silently, when the output's reader closed the pipe.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    args.argv = argv
    registry = registry or default_registry()
    try:
        status = int(args.func(args, registry) or 0)
        sys.stdout.flush()  # a reader that went away shows up here, not at exit
        return status
    except BrokenPipeError:
        return _reader_went_away()
    except KeyboardInterrupt:
        print("genzoo: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("GENZOO_DEBUG"):
            raise
        print(f"genzoo: error: {_describe(exc, registry)}", file=sys.stderr)
        return 1


def _reader_went_away() -> int:
    # Python ignores SIGPIPE, so a closed pipe is a BrokenPipeError. End as a process
    # killed by SIGPIPE appears to the shell: no message; and point stdout at devnull
    # so that the interpreter's last flush does not fail again.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return SIGPIPE_STATUS


def _describe(exc: BaseException, registry: Registry) -> str:
    """The one line after ``genzoo: error:`` for any exception."""
    if isinstance(exc, GenzooError):
        return str(exc)
    # TensorFlow's own out-of-memory error, recognised without importing TensorFlow
    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        return (
            "out of memory: ask for less at once (a smaller -n or --batch-size), or free "
            "memory"
        )
    if isinstance(exc, OSError):
        return _describe_os_error(exc)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (
        f"unexpected {type(exc).__name__}{': ' if message else ''}{message} (run with "
        f"GENZOO_DEBUG=1 for the traceback, and report it to {_owner(exc, registry)})"
    )


# Advice by errno: what to do about the path the error names.
_OS_ADVICE = {
    errno.ENOSPC: "free some space, or write somewhere else",
    errno.EDQUOT: "free some space, or write somewhere else",
    errno.EROFS: "pick a writable folder",
    errno.EACCES: "pick a writable folder, or fix the permissions",
    errno.EPERM: "pick a writable folder, or fix the permissions",
    errno.ENOENT: "check the path",
    errno.EISDIR: "it is a folder: name a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "use a shorter name",
}

# Names of genzoo's temporary files (_files.atomic_path and the staging folders):
# report the path the user named instead.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.(tmp|partial)$")


def _describe_os_error(exc: OSError) -> str:
    """``<reason>: <path>: <what to do>`` for an error of the operating system."""
    filename = exc.filename2 if exc.filename2 is not None else exc.filename
    reason = exc.strerror or str(exc)
    if filename is None:
        return reason
    path = Path(os.fsdecode(filename))
    temporary = _TEMPORARY.fullmatch(path.name)
    if temporary:
        path = path.with_name(temporary["name"])
    advice = _OS_ADVICE.get(exc.errno)
    return f"{reason}: {path}" + (f": {advice}" if advice else "")


def _owner(exc: BaseException, registry: Registry) -> str:
    """The distribution whose code raised ``exc`` (innermost frame first), else genzoo-core."""
    owners = {"genzoo_core": "genzoo-core"}
    with contextlib.suppress(Exception):  # a broken registry must not hide the first error
        owners.update({spec.package: spec.distribution for spec in registry.models.values()})
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    for module in reversed(frames):
        owner = owners.get(module.partition(".")[0])
        if owner:
            return owner
    return "genzoo-core"


if __name__ == "__main__":
    sys.exit(main())
