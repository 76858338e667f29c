"""Shared files several publishes edit at once: a plugin's manifest and model card."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from genzoo_core.manifest import read_manifest, record
from genzoo_core.results import update_card

WRITERS = 6


def _entry(index: int) -> dict:
    return {"model": "toy", "name": f"w{index}", "file": f"weights/w{index}.h5",
            "sha256": "0" * 64, "size": 10, "metrics": {"fid": float(index)},
            "evaluation": {"n": 10}, "recipe": None, "precision": "float32"}


def _publish_one(args: tuple[str, str, int]) -> None:
    manifest, card, index = args
    for _ in range(5):  # several rounds, so writes overlap however the processes start
        record(manifest, _entry(index))
        update_card(card, _entry(index))


def test_concurrent_records_and_card_updates_all_land(tmp_path):
    manifest = tmp_path / "weights" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps({"manifest_format": 1, "weights": []}))
    card = tmp_path / "README.md"
    card.write_text("# toy\n")
    context = multiprocessing.get_context("spawn")
    with context.Pool(WRITERS) as pool:
        pool.map(_publish_one, [(str(manifest), str(card), i) for i in range(WRITERS)])
    names = sorted(entry["name"] for entry in read_manifest(manifest))
    assert names == [f"w{i}" for i in range(WRITERS)]
    text = Path(card).read_text()
    for i in range(WRITERS):
        assert text.count(f"<!-- results:toy/w{i} -->") == 1
