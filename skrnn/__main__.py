"""``python -m skrnn``: the command line of :mod:`skrnn._cli`."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
