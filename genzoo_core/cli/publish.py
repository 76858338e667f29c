"""``genzoo publish``: a finished run becomes a plugin's packaged, scored weight."""

from __future__ import annotations

import argparse

from genzoo_core.cli.common import _at_least
from genzoo_core.registry import Registry


def cmd_publish(args: argparse.Namespace, registry: Registry) -> int:
    """Store, check, score and record a run's weights in a plugin (see genzoo_core.publishing).

    Prints what was published and, when it was scored, its metrics; ``-q`` hides
    the steps and progress bars on the way, but not the upload it still needs.
    """
    from genzoo_core.publishing import publish

    _at_least(2, n=args.n)
    options = {} if args.n is None else {"n": args.n}
    done = publish(args.run_dir, args.as_name, into=args.into, precision=args.precision,
                   evaluate=not args.no_eval, evaluate_options=options, results=args.results,
                   url=args.url, registry=registry, verbose=0 if args.quiet else 1,
                   keep_training=args.keep_training_components)
    print(f"published {done.name}: {done.path} ({done.precision}, sha256 {done.sha256})")
    if done.metrics:
        from genzoo_core.results import metric_cells

        cells = metric_cells(done.metrics)
        print(f"{done.name}: " + ", ".join(f"{key} {value}" for key, value in cells.items()))
    if args.url and args.quiet:  # said on the way when not quiet
        print(f"upload {done.path} to {args.url} before releasing: the plugin downloads it "
              f"from there")
    return 0
