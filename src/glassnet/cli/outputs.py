"""Where a command writes: the run directory, and nothing left half-written on failure.

Each file is written atomically (:func:`glassnet.io.write_text` writes a
temporary file and renames it); :class:`Outputs` removes every file of a
command that fails part-way, and the directory if it made it.
"""

from __future__ import annotations

import os
from datetime import datetime

from ..io import write_text

__all__ = ["Outputs", "run_directory", "slug", "write_text"]


class Outputs:
    """Tracks the files a command writes so that a failure removes all of them."""

    def __init__(self, directory):
        self.directory = directory
        self.created_dir = not os.path.exists(directory)
        self.written = []

    def __enter__(self):
        os.makedirs(self.directory, exist_ok=True)
        return self

    def path(self, name):
        path = os.path.join(self.directory, name)
        self.written.append(path)
        return path

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for path in self.written:
                if os.path.exists(path):
                    os.unlink(path)
            if self.created_dir and os.path.isdir(self.directory) and not os.listdir(
                    self.directory):
                os.rmdir(self.directory)
        return False


def slug(data):
    """A file-name-safe stem of DATA (``runs/my_data-…`` for ``my data.csv``)."""
    base = os.path.splitext(os.path.basename(data))[0] or "data"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in base)


def run_directory(data, prefix=""):
    """The default output directory: ``runs/<prefix><data>-<timestamp>``."""
    return os.path.join("runs", f"{prefix}{slug(data)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
