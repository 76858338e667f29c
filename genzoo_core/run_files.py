"""The files of a run folder: their names, and the tidying a resumed run needs.

:class:`genzoo_core.run.Run` owns a run folder and uses these; they are public
for scripts that inspect or repair a run folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from genzoo_core import weights as weights_io
from genzoo_core._files import atomic_path
from genzoo_core.errors import GenzooError, WeightsError

CHECKPOINT_NAME = "checkpoint.h5"
FINAL_NAME = "model.h5"
LOG_NAME = "log.csv"
SAMPLES_DIR = "samples"
RESUME_LOG_NAME = "resume.log"
TENSORBOARD_DIR = "tensorboard"
TRAINER_KEYS = ("batch_size", "epochs", "steps_per_epoch", "precision")
"""Trainer options that may change on resume, recorded as ``trainer.<name>``."""

# The temporary files _files.atomic_path makes: '.<target>.<mkstemp suffix>.tmp'.
_STALE_TMP = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")
_GRID = re.compile(r"^epoch_(\d+)\.png$")


def remove_stale_temp_files(out_dir: str | Path) -> list[Path]:
    """Delete the temporary files a killed write left in a run folder and its ``samples/``.

    Only names of the ``.NAME.XXXX.tmp`` form that atomic writes use are touched.
    Returns the removed paths.
    """
    removed = []
    for folder in (Path(out_dir), Path(out_dir) / SAMPLES_DIR):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if _STALE_TMP.match(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _logged_epochs(path: Path) -> tuple[list[str], list[int]]:
    """The lines of ``log.csv`` and the epoch of each row (header excluded)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return [], []
    epochs = []
    for line in lines[1:]:
        first = line.split(",", 1)[0]
        epochs.append(int(first) if first.isdigit() else -1)
    return lines, epochs


def epoch_seconds(out_dir: str | Path, column: str = "seconds") -> list[float]:
    """The ``seconds`` column of a run's ``log.csv``: how long each epoch took, in order.

    A resumed run's log holds every epoch once (a re-run epoch replaces its row),
    so this is the whole run's timing. Empty when there is no log. ``column``
    reads another timing column (``preview_seconds``: each epoch's sample grid).
    """
    import csv

    path = Path(out_dir) / LOG_NAME
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    seconds = []
    for row in rows:
        try:
            seconds.append(round(float(row.get(column) or "nan"), 2))
        except ValueError:
            continue
    return [s for s in seconds if s == s]


def last_logged_epoch(out_dir: str | Path) -> int:
    """The last epoch ``out_dir/log.csv`` records a row for (0 when none)."""
    _, epochs = _logged_epochs(Path(out_dir) / LOG_NAME)
    return max(epochs, default=0) if epochs else 0


def trim_run(out_dir: str | Path, epoch: int) -> None:
    """Drop ``log.csv`` rows and sample grids of epochs after ``epoch``.

    A run killed after an epoch's log row or grid but before its checkpoint
    re-runs that epoch on resume; without this its row would appear twice. A
    row cut short by the kill (no newline, or too few fields) is dropped too.
    The log is rewritten atomically.
    """
    out_dir = Path(out_dir)
    path = out_dir / LOG_NAME
    lines, epochs = _logged_epochs(path)
    if lines:
        fields = lines[0].count(",")
        kept = [lines[0]] + [
            line for line, row in zip(lines[1:], epochs)
            if 0 < row <= epoch and line.endswith("\n") and line.count(",") == fields
        ]
        if kept != lines:
            with atomic_path(path) as tmp:
                Path(tmp).write_text("".join(kept), encoding="utf-8")
    samples = out_dir / SAMPLES_DIR
    if samples.is_dir():
        for grid in samples.iterdir():
            match = _GRID.match(grid.name)
            if match and int(match.group(1)) > epoch:
                grid.unlink(missing_ok=True)


def resume_error(out_dir: str | Path, reason: BaseException | str) -> GenzooError:
    """The error for a run folder whose ``checkpoint.h5`` cannot be resumed from.

    It names the folder, the last epoch ``log.csv`` records, how to start over,
    and ``model.h5`` when that holds finished weights worth keeping.
    """
    out_dir = Path(out_dir)
    checkpoint, final = out_dir / CHECKPOINT_NAME, out_dir / FINAL_NAME
    # A weights file from the hub is re-downloaded; a checkpoint cannot be: keep the reason,
    # drop the advice.
    reason = str(getattr(reason, "reason", reason)).rstrip(". ")
    last = last_logged_epoch(out_dir)
    logged = (f"log.csv records epoch {last} as the last completed" if last
              else "log.csv records no completed epoch")
    keep = ""
    if final.is_file():
        try:
            epochs = weights_io.read_header(final).metadata.get("metrics", {}).get("epochs")
            keep = (f"; {final} is intact (the weights after epoch {epochs}): copy it "
                    f"elsewhere first to keep it")
        except WeightsError:
            pass
    return GenzooError(
        f"cannot resume the run in {out_dir}: {reason}. {logged}. To start over, delete "
        f"{checkpoint} or train into another --out{keep}"
    )


def recorded_changes(header: weights_io.WeightsHeader) -> list[dict[str, Any]]:
    """The ``config_changes`` a weights file's metadata records (``[]`` when none)."""
    value = header.metadata.get("config_changes", [])
    if isinstance(value, str):  # non-scalar metadata is stored as JSON text
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return list(value) if isinstance(value, list) else []
