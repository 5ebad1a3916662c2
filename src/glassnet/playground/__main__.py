"""``python -m glassnet.playground [--host HOST] [--port PORT] [--no-browser]``:
the same as ``glassnet playground``."""

import sys

from .._entry import main

if __name__ == "__main__":
    sys.argv[1:1] = ["playground"]
    sys.exit(main())
