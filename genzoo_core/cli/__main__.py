"""``python -m genzoo_core.cli``: the ``genzoo`` command, with the same exit statuses."""

import sys

from genzoo_core.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
