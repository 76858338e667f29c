"""The argument parser of the ``genzoo`` command: every command and option."""

from __future__ import annotations

import argparse

from genzoo_core.cli.common import add_sample_option_flags
from genzoo_core.cli.evaluate import cmd_eval, cmd_metrics
from genzoo_core.cli.listing import cmd_datasets, cmd_features, cmd_info, cmd_list, cmd_plugins
from genzoo_core.cli.new_plugin import cmd_new_plugin
from genzoo_core.cli.publish import cmd_publish
from genzoo_core.cli.sample import SAMPLE_OUTPUT, cmd_sample
from genzoo_core.cli.train import cmd_train
from genzoo_core.precision import TRAINING_PRECISIONS
from genzoo_core.version import __version__

CROPS = ("center", "left", "right", "top", "bottom")
"""``--crop`` choices: :data:`genzoo_core.images.CROPS`, spelled out here because
importing that module would load numpy for every command."""


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
    p.add_argument("name", help="MODEL, MODEL/WEIGHTS, DATASET, a weights file or a recipe "
                                "(.toml)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("plugins", help="discovered plugins and any load errors")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("datasets", help="named datasets for --data")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("features", help="feature extractors for 'genzoo eval --features'")
    p.add_argument("--json", action="store_true", help="machine-readable output")
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
    add_sample_option_flags(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("metrics", help="evaluation metrics for 'genzoo eval --metrics'")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("eval", help="score a model, or two image folders (FID, KID, IS, PR, NLL)")
    p.add_argument("name", nargs="?", help="MODEL/WEIGHTS, MODEL or a weights file")
    p.add_argument("--data", default=None,
                   help="real data to compare with (default: what the weights were trained on)")
    p.add_argument("--split", default="test", help="real split (default: test)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated names (see 'genzoo metrics'); default: those that "
                        "fit the model's condition and capabilities, and the dataset")
    p.add_argument("-n", type=int, default=None,
                   help="samples or held-out items (default: 10000 samples; every held-out "
                        "input of translation and text models; 500 images for NLL)")
    p.add_argument("--full", action="store_true",
                   help="the full protocol: NLL on every held-out image (can take hours)")
    p.add_argument("--nll-n", type=int, default=None, metavar="N",
                   help="held-out images for NLL, when it should differ from -n")
    p.add_argument("--features", default=None,
                   help="feature extractor (default: the dataset's; inception-v3 for folders)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and KID subsets")
    p.add_argument("--real", default=None, help="folder of real images (with --fake)")
    p.add_argument("--fake", default=None, help="folder of generated images (with --real)")
    p.add_argument("-o", "--output", default="eval.json", help="JSON report (default eval.json)")
    add_sample_option_flags(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train a model, or run a recipe; resumes from --out")
    p.add_argument("name", nargs="?", help="model name (not with --recipe)")
    p.add_argument("--recipe", default=None, metavar="MODEL/WEIGHTS",
                   help="rebuild pretrained weights from their recipe (or a recipe .toml "
                        "file); --config and the trainer options override single values")
    p.add_argument("--data", default=None, help="dataset name (see 'genzoo datasets') or path")
    p.add_argument("--epochs", type=int, default=None, help="total number of epochs")
    p.add_argument("--seed", type=int, default=None,
                   help="with --recipe: the seed of initial weights and shuffling")
    p.add_argument("--out", required=True, help="folder for checkpoints, grids, log, model.h5")
    p.add_argument("--batch-size", type=int, default=None, help="global batch size")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="cap on steps per epoch")
    p.add_argument("--precision", choices=TRAINING_PRECISIONS, default=None,
                   help="float32, mixed_bfloat16 (fast on CPUs with bfloat16 instructions) "
                        "or mixed_float16 (GPU only); default float32, or what a resumed run "
                        "trained in; with --recipe, overrides the recipe's [train] precision")
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key (JSON value); repeatable")
    p.add_argument("--strategy", choices=["default", "mirrored", "multi-worker"],
                   default="default",
                   help="'mirrored' uses tf.distribute.MirroredStrategy over local devices; "
                        "'multi-worker' uses MultiWorkerMirroredStrategy over the cluster "
                        "in TF_CONFIG (run the same command on every worker, with the same "
                        "shared --out)")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard logs to OUT/tensorboard")
    p.add_argument("--jit", choices=["auto", "on", "off"], default=None,
                   help="compile the train step with XLA: 'auto' (default, or GENZOO_JIT when "
                        "set) measures both ways on the first batch and caches the decision "
                        "in GENZOO_HOME/jit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("publish", help="store, check, score and record a run's weights in a "
                                       "plugin")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished run (genzoo train --out)")
    p.add_argument("--as", dest="as_name", required=True, metavar="MODEL/WEIGHTS",
                   help="the name the weights are published under")
    p.add_argument("--into", default=None, metavar="PLUGIN_DIR",
                   help="the plugin's folder (default: the installed plugin package)")
    p.add_argument("--precision", choices=("auto", "float32", "float16"), default=None,
                   help="storage (default: the recipe's; auto = float16 where measured "
                        "harmless)")
    p.add_argument("-n", type=int, default=None,
                   help="samples for the evaluation (default: the recipe's protocol)")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation")
    p.add_argument("--url", default=None,
                   help="record this download address instead of packaging the file "
                        "(upload the written file there)")
    p.add_argument("--results", default=None, metavar="FILE",
                   help="results page to refresh (default: docs/results.md of the repository "
                        "holding the plugin, if any)")
    p.add_argument("--keep-training-components", action="store_true",
                   help="also store the components only training needs (left out by "
                        "default; loading restores them from the others)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("new-plugin", help="write a ready-to-install plugin skeleton")
    p.add_argument("name", help="model name, e.g. 'mygan' (the plugin is genzoo-NAME)")
    p.add_argument("--dir", default=".", help="parent folder of genzoo-NAME/ (default: .)")
    p.set_defaults(func=cmd_new_plugin)
    return parser
