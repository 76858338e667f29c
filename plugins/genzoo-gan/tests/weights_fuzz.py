"""Mutations of the real ``gan/mnist`` weights file, each loaded three ways.

Run as a script (``python weights_fuzz.py OUT.json``) so that its peak memory
is its own: ``test_weights_fuzz.py`` starts it and checks what it writes. For
every mutation of a fresh copy of the packaged file it records what
``genzoo_core.load(path)``, ``model.load_weights(path)`` into an already
loaded model, and ``genzoo sample PATH`` did.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import genzoo_core  # noqa: E402

# the function behind the installed `genzoo` command, run in this process
cli_main = entry_points(group="console_scripts")["genzoo"].load()
KERNEL = "components/generator/dense_1/kernel"
BIAS = "components/discriminator/dense_0/bias"
Mutation = Callable[[Path], None]


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- ways to damage a file ----------------------------------------------------------------


def truncate(fraction: float | None = None, keep: int | None = None) -> Mutation:
    def mutate(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: keep if keep is not None else int(len(data) * fraction)])

    return mutate


def flip_data(key: str, offset: int) -> Mutation:
    """Flip one bit inside the stored array ``key`` (its first chunk)."""

    def mutate(path: Path) -> None:
        with h5py.File(path, "r") as f:
            dataset = f[key]
            start = (dataset.id.get_chunk_info(0).byte_offset if dataset.chunks
                     else dataset.id.get_offset())
        flip_at(path, start + offset)

    return mutate


def flip_at(path: Path, position: int) -> None:
    with open(path, "r+b") as f:
        f.seek(position)
        byte = f.read(1)[0]
        f.seek(position)
        f.write(bytes([byte ^ 0x20]))


def flip_text(text: bytes, replacement: bytes) -> Mutation:
    """Overwrite the first occurrence of ``text`` in the raw file (metadata bytes)."""

    def mutate(path: Path) -> None:
        data = path.read_bytes()
        index = data.index(text)
        path.write_bytes(data[:index] + replacement + data[index + len(text):])

    return mutate


def flip_byte(position: int) -> Mutation:
    return lambda path: flip_at(path, position)


def set_attr(name: str, value: object) -> Mutation:
    def mutate(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            f.attrs[name] = value

    return mutate


def del_attr(name: str) -> Mutation:
    def mutate(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            del f.attrs[name]

    return mutate


def edit_config(**changes: object) -> Mutation:
    def mutate(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            f.attrs["config"] = json.dumps({**json.loads(f.attrs["config"]), **changes})

    return mutate


def replace_dataset(key: str, make: Callable[[h5py.File, str], None]) -> Mutation:
    def mutate(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            del f[key]
            make(f, key)

    return mutate


def with_data(value: np.ndarray) -> Callable[[h5py.File, str], None]:
    return lambda f, key: f.create_dataset(key, data=value, fletcher32=value.ndim > 0)


def declared(shape: tuple[int, ...], dtype: str = "f4") -> Callable[[h5py.File, str], None]:
    """A dataset that declares ``shape`` and holds no bytes (never written)."""
    return lambda f, key: f.create_dataset(key, shape=shape, dtype=dtype, chunks=True,
                                           fletcher32=True)


def h5_edit(action: Callable[[h5py.File], None]) -> Mutation:
    def mutate(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            action(f)

    return mutate


def cases(size: int) -> dict[str, Mutation]:
    """Name -> mutation; at least 40, every kind the hardening asks for."""
    return {
        # truncations
        **{f"truncate-{int(p * 100)}%": truncate(p) for p in (0.01, 0.1, 0.5, 0.9, 0.99)},
        "truncate-to-0-bytes": truncate(keep=0),
        "truncate-to-superblock": truncate(keep=96),
        "truncate-last-byte": truncate(keep=size - 1),
        # flipped bytes in weight data
        **{f"flip-data-{k.split('/')[-2]}-{k.split('/')[-1]}-{o}": flip_data(k, o)
           for k, o in ((KERNEL, 0), (KERNEL, 4097), (BIAS, 17),
                        ("components/generator/to_pixels/kernel", 999),
                        ("components/discriminator/logit/kernel", 1))},
        # flipped bytes in metadata
        "flip-signature": flip_byte(1),
        "flip-superblock-version": flip_byte(8),
        "flip-format-name": flip_text(b"genzoo-weights", b"genzoo-weighTs"),
        "flip-config-brace": flip_text(b'{"batch_size"', b'["batch_size"'),
        "flip-config-latent-digit": flip_text(b'"latent_dim": 100', b'"latent_dim": 900'),
        "flip-config-width-digit": flip_text(b"[256, 512, 1024]", b"[256, 912, 1024]"),
        "model-name-one-letter-off": set_attr("model", "gax"),
        # edited attributes
        "format-version-text": set_attr("format_version", "abc"),
        "format-version-zero": set_attr("format_version", 0),
        "format-version-future": set_attr("format_version", 99),
        "format-version-float": set_attr("format_version", 2.5),
        "config-json-list": set_attr("config", "[1, 2, 3]"),
        "config-not-json": set_attr("config", "{latent_dim: 100"),
        "config-huge-width": edit_config(generator_units=[256, 512, 10**9]),
        "config-huge-latent": edit_config(latent_dim=4_000_000),
        "config-negative-shape": edit_config(image_shape=[28, -28, 1]),
        "config-wrong-type": edit_config(latent_dim="hundred"),
        "config-unknown-key": edit_config(secret_layers=3),
        "model-other": set_attr("model", "dcgan"),
        "model-not-a-name": set_attr("model", "../../etc"),
        "metrics-not-json": set_attr("metrics", "{"),
        # missing attributes
        "missing-config": del_attr("config"),
        "missing-model": del_attr("model"),
        "missing-format-version": del_attr("format_version"),
        "missing-genzoo-format": del_attr("genzoo_format"),
        # wrong dtypes and values
        "kernel-as-strings": replace_dataset(KERNEL, with_data(np.full((256, 512), b"x"))),
        "kernel-as-complex": replace_dataset(KERNEL, with_data(np.ones((256, 512), "c8"))),
        "kernel-as-ints": replace_dataset(KERNEL, with_data(np.ones((256, 512), "i4"))),
        "kernel-nan": replace_dataset(KERNEL, with_data(np.full((256, 512), np.nan, "f4"))),
        "kernel-inf": replace_dataset(KERNEL, with_data(np.full((256, 512), -np.inf, "f2"))),
        # wrong shapes
        "kernel-transposed": replace_dataset(KERNEL, with_data(np.zeros((512, 256), "f2"))),
        "bias-one-longer": replace_dataset(BIAS, with_data(np.zeros((1025,), "f2"))),
        "bias-scalar": replace_dataset(BIAS, with_data(np.float16(0))),
        # declared-huge datasets that hold no bytes
        "kernel-declared-huge": replace_dataset(KERNEL, declared((10**9,))),
        "kernel-declared-right-shape-empty": replace_dataset(KERNEL, declared((256, 512))),
        "extra-huge-variable": h5_edit(lambda f: declared((10**6, 10**6))(
            f, "components/generator/extra/kernel")),
        # renamed and missing groups
        "rename-component": h5_edit(lambda f: f.move("components/generator",
                                                      "components/gen")),
        "missing-component": h5_edit(lambda f: f.__delitem__("components/discriminator")),
        "rename-components-group": h5_edit(lambda f: f.move("components", "comps")),
        "missing-variable": h5_edit(lambda f: f.__delitem__(BIAS)),
        "rename-variable": h5_edit(lambda f: f.move(BIAS, BIAS.replace("bias", "beta"))),
        "extra-component": h5_edit(lambda f: f.copy("components/generator",
                                                    "components/critic")),
        "components-is-a-dataset": h5_edit(lambda f: (f.__delitem__("components"),
                                                       f.create_dataset("components",
                                                                        data=[1]))),
        "variable-is-a-group": replace_dataset(BIAS, lambda f, key: f.create_group(key)),
    }


# -- running them -----------------------------------------------------------------------------


def snapshot(model: object) -> list[np.ndarray]:
    return [np.array(v.numpy()) for c in model.components.values() for v in c.variables]


def attempt(call: Callable[[], object]) -> dict[str, str]:
    try:
        call()
    except genzoo_core.GenzooError as error:
        return {"outcome": "GenzooError", "type": type(error).__name__, "message": str(error)}
    except Exception as error:  # noqa: BLE001 - recorded, and the test fails on it
        return {"outcome": "other", "type": type(error).__name__, "message": str(error)}
    return {"outcome": "accepted", "type": "", "message": ""}


def run(out: Path) -> None:
    original = genzoo_core.resolve_weights("gan/mnist")[1]
    loaded = genzoo_core.load("gan/mnist")
    reference = snapshot(loaded)
    before_mb = peak_mb()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name, mutate in cases(original.stat().st_size).items():
            path = Path(folder) / f"{name}.h5"
            shutil.copyfile(original, path)
            mutate(path)
            by_load = attempt(lambda path=path: genzoo_core.load(str(path)))
            into_loaded = attempt(lambda path=path: loaded.load_weights(str(path)))
            unchanged = all(np.array_equal(a, b) for a, b in zip(reference, snapshot(loaded)))
            if not unchanged:  # put the reference back so the next case is judged alone
                variables = [v for c in loaded.components.values() for v in c.variables]
                for variable, value in zip(variables, reference):
                    variable.assign(value)
            stderr = io.StringIO()
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                status = cli_main(["sample", str(path), "-n", "2", "-o",
                                   str(Path(folder) / "grid.png")])
            results.append({
                "name": name, "load": by_load, "load_weights": into_loaded,
                "unchanged": unchanged, "cli_status": status,
                "cli_stderr": stderr.getvalue(),
            })
    out.write_text(json.dumps({
        "cases": results, "peak_mb_before": before_mb, "peak_mb_after": peak_mb(),
    }, indent=1))


if __name__ == "__main__":
    run(Path(sys.argv[1]))
