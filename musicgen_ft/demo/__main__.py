"""``python -m musicgen_ft.demo``: see :mod:`musicgen_ft.demo`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
