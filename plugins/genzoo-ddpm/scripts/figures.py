"""Draw the ddpm docs figures from the published weights.

    python plugins/genzoo-ddpm/scripts/figures.py [--out docs/images]

For each weight: 64 samples (seed 0, the default DDIM sampler) as
``<model>-<weights>.png``; for ``ddpm/mnist`` also the denoising figure,
``ddpm-mnist-denoising.png``: eight samples (rows) from pure noise (left) to the
finished image (right), eleven snapshots of x_t over the 50 DDIM steps; and for
``ddpm-guided/mnist`` its class grid at guidance 0, 1 and the default.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import genzoo_core


def main() -> None:
    """Write the figures into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images", help="the folder to write into")
    out = Path(parser.parse_args().out)
    for name in ("ddpm/mnist", "ddpm/fashion-mnist", "ddpm-guided/mnist"):
        model = genzoo_core.load(name)
        stem = name.replace("/", "-")
        if name.startswith("ddpm-guided"):
            for guidance in (0.0, 1.0, float(model.config["guidance"])):
                grid = model.sample(100, seed=0, guidance=guidance)
                path = genzoo_core.save_grid(out / f"{stem}-guidance-{guidance:g}.png", grid,
                                             columns=10)
                print(f"wrote {path}")
            continue
        path = genzoo_core.save_grid(out / f"{stem}.png", model.sample(64, seed=0))
        print(f"wrote {path}")
        if name == "ddpm/mnist":
            noise = np.random.default_rng(0).standard_normal((8, 28, 28, 1)).astype(np.float32)
            _, trajectory = model.denoise(noise, None, sampler="ddim",
                                          steps=int(model.config["sampling_steps"]), keep=11)
            path = genzoo_core.save_grid(out / "ddpm-mnist-denoising.png",
                                         trajectory.reshape(-1, 28, 28, 1), columns=11)
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
