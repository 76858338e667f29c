"""Time FID between 10k generated MNIST images and the 10k test images; peak memory.

    GENZOO_DATA=../shared/data .venv/bin/python benchmarks/bench_fid.py [--model gan/mnist]

Runs ``genzoo_core.evaluate`` with the shipped ``mnist-cnn`` extractor, once with
an empty real-statistics cache (generation + both extractions + FID) and once
with it warm, and reports wall time and the process's peak resident memory.
Writes ``bench-results/fid.json``. Target: under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "bench-results" / "fid.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gan/mnist")
    parser.add_argument("-n", type=int, default=10000)
    args = parser.parse_args()
    os.environ["GENZOO_HOME"] = tempfile.mkdtemp(prefix="genzoo-bench-")  # a cold cache

    import genzoo_core

    model = genzoo_core.load(args.model)
    extractor_start = time.perf_counter()
    genzoo_core.get_feature_extractor("mnist-cnn")
    load_seconds = time.perf_counter() - extractor_start
    timings = {}
    for label in ("cold cache", "warm cache"):
        start = time.perf_counter()
        report = genzoo_core.evaluate(model, "mnist", metrics="fid", n=args.n, verbose=0)
        timings[label] = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "model": args.model,
        "n": args.n,
        "fid": round(report["metrics"]["fid"], 4),
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "extractor_load_seconds": round(load_seconds, 2),
        "peak_rss_mb": round(peak_mb),
        "cpus": os.cpu_count(),
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
