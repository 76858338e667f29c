"""The ``genzoo`` command line.

``genzoo list``, ``info``, ``plugins`` and ``datasets`` read specs only and never
import TensorFlow; ``sample`` and ``train`` import it when they run. Errors print
one line, ``genzoo: error: ...``, and exit with status 1 (``GENZOO_DEBUG=1``
shows the traceback instead). TensorFlow's start-up log lines are kept out of the
output unless ``TF_CPP_MIN_LOG_LEVEL`` or ``GENZOO_DEBUG`` is set.

One module per job, every name importable from here (``genzoo_core.cli:main`` is
the console script):

- :mod:`~genzoo_core.cli.entry`: :func:`main`, its one-line errors and exit statuses.
- :mod:`~genzoo_core.cli.parser`: :func:`build_parser`, every command and option.
- :mod:`~genzoo_core.cli.listing`: ``list``, ``info``, ``plugins``, ``datasets``,
  ``features`` (specs only, no TensorFlow).
- :mod:`~genzoo_core.cli.sample`: ``sample``, drawing a grid or translating images.
- :mod:`~genzoo_core.cli.train`: ``train``.
- :mod:`~genzoo_core.cli.evaluate`: ``eval``.
- :mod:`~genzoo_core.cli.new_plugin`: ``new-plugin``.
- :mod:`~genzoo_core.cli.quiet`: :func:`quiet_tensorflow`, TensorFlow's start-up lines.
- :mod:`~genzoo_core.cli.common`: the table and option checks several commands share.
"""

from __future__ import annotations

# Public names are in __all__; private helpers are imported as themselves, so that every
# name the single-module CLI defined stays importable from here.
from genzoo_core.cli.common import _at_least as _at_least
from genzoo_core.cli.common import _check_parent as _check_parent
from genzoo_core.cli.common import _table as _table
from genzoo_core.cli.entry import _OS_ADVICE as _OS_ADVICE
from genzoo_core.cli.entry import _TEMPORARY as _TEMPORARY
from genzoo_core.cli.entry import SIGPIPE_STATUS, main
from genzoo_core.cli.entry import _describe as _describe
from genzoo_core.cli.entry import _describe_os_error as _describe_os_error
from genzoo_core.cli.entry import _owner as _owner
from genzoo_core.cli.entry import _reader_went_away as _reader_went_away
from genzoo_core.cli.evaluate import _format_metrics as _format_metrics
from genzoo_core.cli.evaluate import cmd_eval
from genzoo_core.cli.listing import _problems_note as _problems_note
from genzoo_core.cli.listing import cmd_datasets, cmd_features, cmd_info, cmd_list, cmd_plugins
from genzoo_core.cli.new_plugin import cmd_new_plugin
from genzoo_core.cli.parser import CROPS, build_parser
from genzoo_core.cli.quiet import _START_UP_NOISE as _START_UP_NOISE
from genzoo_core.cli.quiet import _filtered_stderr as _filtered_stderr
from genzoo_core.cli.quiet import _QuietImport as _QuietImport
from genzoo_core.cli.quiet import _QuietLoader as _QuietLoader
from genzoo_core.cli.quiet import quiet_tensorflow
from genzoo_core.cli.sample import SAMPLE_OUTPUT, cmd_sample
from genzoo_core.cli.sample import _check_grid_size as _check_grid_size
from genzoo_core.cli.sample import _check_png_output as _check_png_output
from genzoo_core.cli.sample import _crop_plan as _crop_plan
from genzoo_core.cli.sample import _crop_warnings as _crop_warnings
from genzoo_core.cli.sample import _parse_condition as _parse_condition
from genzoo_core.cli.sample import _translate_files as _translate_files
from genzoo_core.cli.sample import _write_folder as _write_folder
from genzoo_core.cli.train import _parse_config as _parse_config
from genzoo_core.cli.train import cmd_train

__all__ = [
    "CROPS",
    "SAMPLE_OUTPUT",
    "SIGPIPE_STATUS",
    "build_parser",
    "cmd_datasets",
    "cmd_eval",
    "cmd_features",
    "cmd_info",
    "cmd_list",
    "cmd_new_plugin",
    "cmd_plugins",
    "cmd_sample",
    "cmd_train",
    "main",
    "quiet_tensorflow",
]
