"""DDIM with few steps against ancestral sampling with all of them: images per second and FID.

    GENZOO_DATA=../shared/data .venv/bin/python benchmarks/bench_ddpm_samplers.py \
        [--weights ddpm/mnist] [-n 1000] [--samplers ddim:50,ddim:20,ddpm:50,ddpm:1000]

Every sampler draws the same ``n`` images' starting noise (``evaluate``'s seeds,
seed 0) from the same weights; FID is in the dataset's features (``mnist-cnn``
for MNIST) against its test split. Images per second counts the time inside
``sample`` only. The goal: DDIM with 50 steps at least 15x faster than
ancestral sampling over all T steps, at an FID within 10% of it. Writes
``bench-results/ddpm_samplers.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "bench-results" / "ddpm_samplers.json"


def main() -> None:
    """Run every sampler, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="ddpm/mnist", help="a ddpm weights name or file")
    parser.add_argument("--data", default=None,
                        help="real data to compare with (default: what the weights trained on)")
    parser.add_argument("-n", type=int, default=1000, help="images per sampler")
    parser.add_argument("--samplers", default="ddim:50,ddim:20,ddpm:50,ddpm:1000",
                        help="SAMPLER:STEPS pairs; ddpm:1000 is the full ancestral sampler")
    args = parser.parse_args()

    import genzoo_core

    model = genzoo_core.load(args.weights)
    _, path = genzoo_core.resolve_weights(args.weights)
    data = args.data or str(genzoo_core.read_header(path).metadata["dataset"]).split(":")[0]
    draw = model.sample
    spent = [0.0]

    def timed_sample(*positional, **keywords):
        start = time.perf_counter()
        try:
            return draw(*positional, **keywords)
        finally:
            spent[0] += time.perf_counter() - start

    model.sample = timed_sample  # evaluate draws through it
    rows = []
    for pair in args.samplers.split(","):
        sampler, steps = pair.split(":")
        steps = min(int(steps), model.timesteps)
        spent[0] = 0.0
        report = genzoo_core.evaluate(model, data, metrics=["fid"], n=args.n, seed=0, verbose=0,
                                      sample_options={"sampler": sampler, "steps": steps})
        rows.append({"sampler": sampler, "steps": steps, "n": args.n,
                     "sampling_seconds": round(spent[0], 1),
                     "images_per_second": round(args.n / spent[0], 2),
                     "fid": round(report["metrics"]["fid"], 3)})
        print(json.dumps(rows[-1]), flush=True)
    full = next((r for r in rows if r["sampler"] == "ddpm" and r["steps"] == model.timesteps),
                None)
    if full is not None:
        for row in rows:
            row["speed_vs_full"] = round(row["images_per_second"] / full["images_per_second"], 2)
            row["fid_vs_full"] = round(row["fid"] / full["fid"], 3)
    result = {"weights": args.weights, "data": data, "timesteps": model.timesteps, "rows": rows,
              "cpus": os.cpu_count()}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print("| sampler | steps | images/s | FID | speed vs full | FID vs full |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sampler']} | {r['steps']} | {r['images_per_second']} | {r['fid']} | "
              f"{r.get('speed_vs_full', '')} | {r.get('fid_vs_full', '')} |")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
