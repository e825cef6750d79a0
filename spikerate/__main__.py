"""``python -m spikerate``: the ``spikerate`` command (see :mod:`spikerate.cli`)."""

import sys

from .cli import main

sys.exit(main())
