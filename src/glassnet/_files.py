"""What kind of file a path is, for messages and for refusing what is not a regular file.

Standard library only: the data reader, the model loader and the command line's
``--out`` checks all use it.
"""

from __future__ import annotations

import os
import stat

__all__ = ["describe_mode", "regular_file_problem"]

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"), (stat.S_ISREG, "a regular file"),
          (stat.S_ISLNK, "a symbolic link"))


def describe_mode(mode):
    """``'a FIFO (named pipe)'``, ``'a character device'``, … for an ``st_mode``."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def regular_file_problem(path, what):
    """None when ``path`` is a regular file (links followed), else the sentence that says
    what it is instead. A FIFO, a device (``/dev/zero`` never ends) or a socket is
    refused before it is opened: reading one could block forever or never finish, and
    a shell's process substitution (``<(cat big.csv)``) is such a pipe."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"no such file: {path}"
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror}"
    if stat.S_ISDIR(mode):
        return f"{path} is a directory, not a {what} file"
    if not stat.S_ISREG(mode):
        return (f"{path} is {describe_mode(mode)}, not a regular file; glassnet reads {what} "
                f"files only from regular files (a pipe or a device may never end): save it "
                f"to a file first")
    return None
