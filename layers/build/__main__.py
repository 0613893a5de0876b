"""``python -m layers.build [--shared DIR] [--out DIR] [--seed N] [--no-network]``."""

from __future__ import annotations

import sys

from covplan.cmd_data import main

if __name__ == "__main__":
    sys.exit(main())
