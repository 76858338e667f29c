"""Score every installed pretrained weight with its recipe's protocol; rewrite the results.

    GENZOO_DATA=../shared/data .venv/bin/python scripts/make_results.py [--only NAME] [-n N]

For each ``MODEL/WEIGHTS`` the installed plugins ship, the packaged file is
evaluated with the ``[evaluate]`` protocol of its recipe
(:func:`genzoo_core.publishing.rescore`); the metrics go into the plugin's
``weights/manifest.json``, the model card's results block and
``docs/results.md`` (with every setting in ``docs/results.json``). ``genzoo
publish`` does the same for one new weight; this re-scores the shipped ones
after the evaluation itself changes. ``--render`` only rewrites the pages from
the manifests, in seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import genzoo_core
from genzoo_core.manifest import manifest_path, package_dir, read_manifest
from genzoo_core.publishing import rescore
from genzoo_core.recipes import spec_package
from genzoo_core.results import collect_entries, update_card, write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="MODEL/WEIGHTS", action="append",
                        help="re-score these weights only (repeatable)")
    parser.add_argument("-n", type=int, default=None,
                        help="samples per evaluation (default: each recipe's protocol)")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite docs/results.md and the cards from the manifests")
    args = parser.parse_args()
    names = args.only or [f"{spec.name}/{w.name}" for spec in genzoo_core.list_models()
                          for w in spec.weights]
    if not args.render:
        options = {} if args.n is None else {"n": args.n}
        for name in names:
            print(f"== {name}")
            rescore(name, evaluate_options=options, results=RESULTS)
    else:
        for spec in genzoo_core.list_models():
            package = package_dir(spec_package(spec))
            card = package.parent / "README.md"
            for entry in read_manifest(manifest_path(package)):
                if entry["model"] == spec.name and card.is_file():
                    update_card(card, entry)
    write_results(RESULTS, collect_entries())
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
