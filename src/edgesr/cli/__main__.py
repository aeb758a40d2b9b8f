"""``python -m edgesr.cli``."""

import sys

from edgesr.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
