"""Where a command writes: the run directory, and nothing of an earlier run lost.

A command's files are first written into a new staging directory (a hidden
``.glassnet-staging-…`` directory inside an existing ``--out``, or beside a new
one, so that every rename stays on one file system) and only moved into place
when every one of them is written:

- ``--out`` did not exist: the staging directory is renamed to it, in one step;
- ``--out`` exists (a re-run): each file is moved over its namesake with
  ``os.replace`` (atomic per file), with Ctrl-C held back until the last one
  has moved. Files of the earlier run that this run does not write stay.

A command that fails, runs out of disk or is interrupted before that point
removes its staging directory and nothing else: the earlier run's files stay
exactly as they were.

``--out`` must be a directory, or a path that does not exist yet whose parent is
a directory (or can be made one); a file, a device, a FIFO or a socket is refused
with one ``error:`` line, and so is a symbolic link unless the command is given
``--follow-symlinks`` (then the link's target is written). Single-file outputs
(``predict --out``, ``evaluate --out``, ``export --out``) take :class:`OutFile`:
a regular file or a new name, never a device.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import threading
from contextlib import contextmanager
from datetime import datetime

import click

from .._files import describe_mode
from ..io import write_text

__all__ = ["OutDir", "OutFile", "OutPath", "Outputs", "check_out_dir", "check_out_file", "follow_symlinks_option", "run_directory", "slug",
           "write_text"]

def _lstat(path):
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _check_parent(path, label):
    """Refuse a path below a file: the nearest existing ancestor must be a directory."""
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        st = _stat(parent)
        if st is not None:
            if not stat.S_ISDIR(st.st_mode):
                raise click.UsageError(f"{label} {path}: {parent} is {describe_mode(st.st_mode)}"
                                       f", not a directory")
            return
        up = os.path.dirname(parent)
        if up == parent:
            return
        parent = up


def _stat(path):
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def check_out_dir(path, follow_symlinks=False, label="--out"):
    """``path`` as an output directory (its target when ``follow_symlinks`` and it is a
    link), or :class:`click.UsageError` naming what it is instead."""
    return _check_out(path, follow_symlinks, label, directory=True)


def check_out_file(path, follow_symlinks=False, label="--out"):
    """``path`` as a file to replace or create: a regular file or a new name (its
    target when ``follow_symlinks`` and it is a link); a directory, a device, a FIFO,
    a socket or a path below a file is :class:`click.UsageError`."""
    return _check_out(path, follow_symlinks, label, directory=False)


def _check_out(path, follow_symlinks, label, directory):
    path = os.fspath(path)
    st = _lstat(path)
    if st is not None and stat.S_ISLNK(st.st_mode):
        if not follow_symlinks:
            raise click.UsageError(f"{label} {path} is a symbolic link (to {os.readlink(path)}"
                                   f"); glassnet does not write through links unless asked: "
                                   f"add --follow-symlinks to write to its target")
        path = os.path.realpath(path)
        st = _lstat(path)
    wanted, advice = (stat.S_ISDIR, "a directory; name a directory (new or existing)")
    if not directory:
        wanted = stat.S_ISREG
        advice = "a regular file; glassnet writes its output to a new or regular file only"
    if st is not None and not wanted(st.st_mode):
        raise click.UsageError(f"{label} {path} is {describe_mode(st.st_mode)}, not {advice}")
    _check_parent(path, label)
    return path


class OutPath(click.ParamType):
    """A ``--out`` path checked when the command line is read, before any work; with
    ``--follow-symlinks``, a link becomes its target."""

    directory = False

    def convert(self, value, param, ctx):
        follow = bool(ctx is not None and ctx.meta.get("glassnet.follow_symlinks"))
        try:
            return _check_out(value, follow, "--out", self.directory)
        except click.UsageError as exc:
            self.fail(exc.message.removeprefix("--out ").strip(), param, ctx)


class OutDir(OutPath):
    """A ``--out`` directory: new, or an existing directory."""

    name, directory = "directory", True


class OutFile(OutPath):
    """A ``--out`` file: new, or an existing regular file."""

    name, directory = "file", False


def _remember_follow(ctx, param, value):
    ctx.meta["glassnet.follow_symlinks"] = value
    return value


def follow_symlinks_option(function):
    """``--follow-symlinks``: let ``--out`` be a symbolic link and write to its target.
    Eager, so that ``--out``'s check sees it; the command does not receive it."""
    return click.option("--follow-symlinks", is_flag=True, is_eager=True, expose_value=False,
                        callback=_remember_follow,
                        help="Let --out be a symbolic link and write to its target "
                             "(refused by default).")(function)


@contextmanager
def _interrupts_held():
    """Hold back SIGINT (Ctrl-C) for the block and deliver it after: the moves into
    place finish together or not at all. Only the main thread can set handlers;
    elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    if previous is None:  # a handler set outside Python: put Python's default back
        previous = signal.default_int_handler
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


class Outputs:
    """A command's output directory, written all at once (see the module docstring).

    ``path(name)`` gives the staging path to write ``name`` to; ``written`` lists
    the final paths, and ``final(staged)`` maps one staged path to its final one.
    """

    def __init__(self, directory):
        self.directory = check_out_dir(directory)
        self.written = []
        self.staging = None
        self._created_parents = []

    def __enter__(self):
        exists = os.path.isdir(self.directory)
        parent = self.directory if exists else os.path.dirname(os.path.abspath(self.directory))
        self._make_parents(parent)
        base = "" if exists else f"{os.path.basename(os.path.normpath(self.directory))}-"
        for _ in range(100):
            staging = os.path.join(parent, f".glassnet-staging-{base}{secrets.token_hex(6)}")
            try:
                os.mkdir(staging, 0o777)  # the umask's permissions, as os.makedirs gives
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 collisions of 48 random bits
            raise FileExistsError(f"could not create a staging directory in {parent}")
        self.staging = staging
        return self

    def _make_parents(self, parent):
        missing = []
        while parent and not os.path.isdir(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(missing):
            os.mkdir(directory)
            self._created_parents.append(directory)

    def path(self, name):
        """Where to write the output ``name`` (inside the staging directory)."""
        self.written.append(os.path.join(self.directory, name))
        return os.path.join(self.staging, name)

    def final(self, staged):
        """The path a staged file will have once moved into place."""
        return os.path.join(self.directory, os.path.relpath(staged, self.staging))

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._discard()
            return False
        try:
            self._commit()
        except BaseException:
            self._discard()
            raise
        return False

    def _commit(self):
        with _interrupts_held():
            if not os.path.exists(self.directory):
                os.rename(self.staging, self.directory)
                return
            for name in sorted(os.listdir(self.staging)):
                os.replace(os.path.join(self.staging, name), os.path.join(self.directory, name))
            os.rmdir(self.staging)

    def _discard(self):
        """Remove the staging directory and the parents this run made, nothing else."""
        if self.staging and os.path.isdir(self.staging):
            shutil.rmtree(self.staging, ignore_errors=True)
        for directory in reversed(self._created_parents):
            try:
                os.rmdir(directory)
            except OSError:
                break


def slug(data):
    """A file-name-safe stem of DATA (``runs/my_data-…`` for ``my data.csv``)."""
    base = os.path.splitext(os.path.basename(data))[0] or "data"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in base)


def run_directory(data, prefix=""):
    """The default output directory: ``runs/<prefix><data>-<timestamp>``."""
    return os.path.join("runs", f"{prefix}{slug(data)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
