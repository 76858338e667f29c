"""``genzoo new-plugin``: write a plugin skeleton."""

from __future__ import annotations

import argparse

from genzoo_core.registry import Registry


def cmd_new_plugin(args: argparse.Namespace, registry: Registry) -> int:
    """Write a plugin skeleton (no TensorFlow import)."""
    from genzoo_core.scaffold import new_plugin

    target = new_plugin(args.name, args.dir)
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        print(path)
    print(f"\nnext: pip install -e {target} && pytest {target}")
    return 0
