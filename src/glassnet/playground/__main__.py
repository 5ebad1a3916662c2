"""``python -m glassnet.playground [--host HOST] [--port PORT] [--no-browser]``:
the same as ``glassnet playground``."""

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["playground", *sys.argv[1:]]))
