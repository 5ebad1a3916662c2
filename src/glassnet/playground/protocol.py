"""The playground's conversation with one page, as plain synchronous Python.

Both versions of the playground speak it: the local server
(:mod:`~glassnet.playground.server`, one worker thread per page) and the
browser build (``static/worker.js``: Pyodide in a Web Worker). Each hands
every message the page sends to :meth:`Protocol.handle`, which answers with
the list of messages to send back, and asks :meth:`Protocol.next_frame` for a
frame whenever the page is playing and has room for one. Nothing here knows
about sockets, threads or ``postMessage``: a transport only moves text.

page → engine
    ``hello`` (the URL's configuration), ``set`` (changed settings), ``play``,
    ``pause``, ``step``, ``reset``, ``regenerate``, ``ack`` (a frame was
    drawn), ``inspect`` (a sample for the step inspector), ``apply_step``,
    ``landscape``, ``edit`` (a weight or a bias set by hand).
engine → page
    ``hello`` (the session id and the settings schema), ``scene`` (data and
    layout, once per run), ``frame`` (a snapshot), ``config``, ``state``,
    ``inspect``, ``landscape``, ``error``.

Frames are paced by the page: at most :data:`FRAMES_IN_FLIGHT` are in flight,
and the next goes out when the page acknowledges one it drew, so a slow
browser never builds a backlog. Play pauses by itself at the run's stop
condition (``maxepochs``, ``targetloss``): the frame says why.

A message type is one entry of :attr:`Protocol.handlers`: a method that takes
the message (a dict) and returns the messages to send. A mistake in a message
(not JSON, a wrong type, a value out of range) is answered with an ``error``
message and the session goes on as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import threading
import time

from .._version import __version__
from ..datasets import DataError
from .config import Config, ConfigError, schema
from .data import thumbnails
from .export import data_csv, model_bytes, snippet
from .session import Session

__all__ = ["EXPORTS", "FRAMES_IN_FLIGHT", "FRAME_TIME", "MESSAGE_LIMIT", "MessageError",
           "Protocol", "UploadStore", "error_text", "parse_message"]

FRAMES_IN_FLIGHT = 3
FRAME_TIME = 0.03  # seconds of training per screen update, at most
MESSAGE_LIMIT = 1024 * 1024  # characters; the page's messages are a few hundred
MAX_DEPTH = 32  # nesting of JSON arrays and objects; the page's messages use 3
RUNTIME = f"Python {platform.python_version()}" + (
    " in this browser (Pyodide)" if sys.platform == "emscripten" else "")
# user mistakes: shown as they are; anything else is a bug, shown with its type
USER_ERRORS = (ConfigError, DataError, ValueError, ArithmeticError)

EXPORTS = {
    "model.glassnet": (model_bytes, "application/octet-stream"),
    "data.csv": (data_csv, "text/csv; charset=utf-8"),
    "playground_run.py": (snippet, "text/x-python; charset=utf-8"),
}


class MessageError(ValueError):
    """A message from the page that the engine cannot take (the page's mistake)."""


def error_text(exc, runner="the server"):
    """What the page shows for ``exc``: a user mistake as it is, a bug with its type."""
    if isinstance(exc, USER_ERRORS):
        return str(exc) or type(exc).__name__
    return f"internal error ({type(exc).__name__}: {exc}); {runner} keeps running"


def _depth(text):
    """The deepest nesting of ``[`` and ``{`` in JSON ``text``, outside strings (one pass)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_message(text):
    """The dict a page's message ``text`` holds; :class:`MessageError` for anything else.

    The length and the nesting are checked before ``json.loads`` sees the text,
    so a huge or deeply nested message costs one linear pass, never a recursion.
    """
    if not isinstance(text, str):
        raise MessageError("the page sent a binary message; the playground speaks JSON text")
    if len(text) > MESSAGE_LIMIT:
        raise MessageError(f"the page sent a message of {len(text):,} characters; the limit "
                           f"is {MESSAGE_LIMIT:,}")
    if _depth(text) > MAX_DEPTH:
        raise MessageError(f"the page sent JSON nested more than {MAX_DEPTH} levels deep")
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise MessageError(f"the page sent a message that is not JSON ({exc})") from None
    if not isinstance(message, dict):
        raise MessageError(f"a message must be a JSON object, not {type(message).__name__}")
    return message


def _field(message, name, kinds, default=None, what=None):
    """``message[name]`` when it is one of ``kinds`` (bool is never a number)."""
    value = message.get(name, default)
    number = kinds in (int, (int, float))
    if not isinstance(value, kinds) or (number and isinstance(value, bool)):
        raise MessageError(f"{message.get('type')}: {name!r} must be {what}, "
                           f"not {json.dumps(value)[:40]}")
    return value


class UploadStore:
    """Uploaded files in a private temporary directory, removed by :meth:`close`.

    The files are kept on disk because the engine reads tables from paths; in
    the browser the "disk" is Pyodide's in-memory file system.
    """

    def __init__(self, keep=8):
        self.directory = tempfile.mkdtemp(prefix="glassnet-playground-")
        self.files = {}  # id -> (path, name)
        self.keep = keep
        self.lock = threading.Lock()

    def add(self, name, content):
        upload_id = secrets.token_hex(8)
        path = os.path.join(self.directory, f"{upload_id}.csv")
        with open(path, "wb") as handle:
            handle.write(content)
        with self.lock:
            self.files[upload_id] = (path, name)
            while len(self.files) > self.keep:
                old = next(iter(self.files))
                old_path, _ = self.files.pop(old)
                if os.path.exists(old_path):
                    os.unlink(old_path)
        return upload_id

    def discard(self, upload_id):
        with self.lock:
            path, _ = self.files.pop(upload_id, (None, None))
        if path and os.path.exists(path):
            os.unlink(path)

    def resolve(self, upload_id):
        with self.lock:
            return self.files.get(upload_id, (None, None))

    def close(self):
        shutil.rmtree(self.directory, ignore_errors=True)


def read_upload(store, name, content):
    """Keep an uploaded CSV in ``store`` and read it as ``glassnet train`` would.

    Returns what the page shows (``id``, ``name``, ``columns``, ``rows``,
    ``target``); a file the engine refuses raises :class:`DataError` in the
    user's words, and is not kept.
    """
    from ..tables import read_data

    name = os.path.basename(str(name).replace("\\", "/")) or "upload.csv"
    if not content.strip():
        raise DataError(f"{name} is empty")
    upload_id = store.add(name, content)
    path, _ = store.resolve(upload_id)
    try:
        table = read_data(path)
    except DataError as exc:
        store.discard(upload_id)
        raise DataError(str(exc).replace(path, name)) from None
    return {"id": upload_id, "name": name, "columns": table.names, "rows": table.n_rows,
            "target": table.names[-1]}


class Protocol:
    """One page's :class:`Session` and the state of its conversation.

    Parameters
    ----------
    uploads : UploadStore
        Where uploaded CSV files are kept (shared by a server's pages).
    frame_time : float
        Seconds of training per played frame, at most.
    frame_rate : float, optional
        Screen updates per second to aim for instead: each frame trains for what
        is left of ``1 / frame_rate`` after the last snapshot's cost (at least a
        fifth of it). The browser build, where NumPy has no optimised BLAS and a
        snapshot costs several times more than on the server, uses it.
    runner : str
        What keeps running after a bug, in the page's error message
        (``"the server"``; the browser build says ``"the playground"``).
    report : callable, optional
        Called with each exception a message raised (the server prints the
        traceback of those that are bugs, not the page's mistakes).

    Attributes
    ----------
    session : Session or None
        ``None`` until the page's ``hello``.
    playing : bool
    credits : int
        Frames the page has room for.
    handlers : dict
        Message type → method ``(message) -> list of messages``.
    """

    def __init__(self, uploads, frame_time=FRAME_TIME, frame_rate=None, runner="the server",
                 report=None):
        self.uploads = uploads
        self.frame_rate = frame_rate
        self.snapshot_seconds = 0.0
        self.runner = runner
        self.report = report or (lambda exc: None)
        self.frame_time = frame_time
        self.session = None
        self.session_id = secrets.token_urlsafe(16)
        self.playing = False
        self.credits = FRAMES_IN_FLIGHT
        self.handlers = {
            "hello": self.on_hello, "ack": self.on_ack, "play": self.on_play,
            "pause": self.on_pause, "step": self.on_step, "reset": self.on_reset,
            "regenerate": self.on_regenerate, "set": self.on_set, "inspect": self.on_inspect,
            "apply_step": self.on_apply_step, "landscape": self.on_landscape,
            "edit": self.on_edit,
        }

    # -- the transport's entry points ------------------------------------------------------
    def handle_text(self, text):
        """:meth:`handle` for the raw text of a message (binary → an error message)."""
        try:
            message = parse_message(text)
        except MessageError as exc:
            return self.failed(exc)
        return self.handle(message)

    def handle(self, message):
        """The messages that answer ``message``; a failure becomes an ``error`` message
        (play stops, the session stays as it was before the message)."""
        try:
            kind = message.get("type")
            handler = self.handlers.get(kind) if isinstance(kind, str) else None
            if handler is None:
                raise MessageError(f"unknown message type {kind!r}")
            if self.session is None and kind != "hello":
                raise MessageError("the page must say hello first")
            return handler(message)
        except Exception as exc:  # noqa: BLE001 - a bad message never ends the session
            return self.failed(exc)

    def failed(self, exc):
        """The answer to a message that failed: the error, and play stops."""
        self.playing = False
        out = [self.error(exc)]
        if self.session is not None:
            out.append(self.state())
        return out

    def wants_frame(self):
        """True when the page is playing and has room for another frame."""
        return self.session is not None and self.playing and self.credits > 0

    def next_frame(self):
        """Train for up to ``frame_time`` seconds and snapshot: the messages to send."""
        budget = self.frame_time
        if self.frame_rate:
            period = 1.0 / self.frame_rate
            budget = max(0.2 * period, period - self.snapshot_seconds)
        try:
            stopped = self.session.advance(budget)
            started = time.perf_counter()
            frame = self.session.frame()
            self.snapshot_seconds = time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 - shown on the page; the session goes on
            self.playing = False
            out = [self.error(exc), self.state()]
            with contextlib.suppress(Exception):  # the frame may be what failed (reported)
                out.append(self.session.frame())
            return out
        self.credits -= 1
        if stopped:  # the stop condition (the frame's "stop" says which): play pauses
            self.playing = False
            return [frame, self.state()]
        return [frame]

    def export(self, name):
        """``(content bytes, media type)`` of the export file ``name``."""
        if name not in EXPORTS or self.session is None:
            raise MessageError(f"no export named {name!r}; the files are {', '.join(EXPORTS)}")
        function, media = EXPORTS[name]
        content = function(self.session)
        return (content.encode() if isinstance(content, str) else content), media

    def upload(self, name, content):
        """Read an uploaded CSV (bytes): see :func:`read_upload`."""
        return read_upload(self.uploads, name, content)

    # -- messages ---------------------------------------------------------------------------
    def error(self, exc):
        self.report(exc)
        return {"type": "error", "message": error_text(exc, self.runner)}

    def state(self):
        return {"type": "state", "playing": self.playing}

    def on_hello(self, message):
        query = _field(message, "query", str, "", "the text after # in the URL")
        problem = None
        try:
            config = Config.from_query(query)
            if config.kind == "csv" and self.uploads.resolve(config.upload)[0] is None:
                raise ConfigError("the link names an uploaded CSV file this playground does "
                                  "not have (uploads last while the server or the page "
                                  "runs): upload it again")
        except ConfigError as exc:
            problem, config = exc, Config()
        try:
            self.session = Session(config, self.uploads.resolve)
        except Exception as exc:  # noqa: BLE001 - shown on the page; the default runs instead
            problem = problem or exc
            self.session = Session(Config(), self.uploads.resolve)
        self.playing, self.credits = False, FRAMES_IN_FLIGHT
        out = [{"type": "hello", "session": self.session_id, "version": __version__,
                "runtime": RUNTIME, "schema": schema(), "thumbnails": thumbnails()},
               self.session.scene(), self.session.frame(), self.state()]
        if problem is not None:
            out.append({"type": "error", "message": f"{error_text(problem, self.runner)} (the page shows "
                                                    f"the default setup instead)"})
        return out

    def on_ack(self, message):
        frames = _field(message, "frames", int, 1, "a whole number of frames")
        self.credits = min(FRAMES_IN_FLIGHT, self.credits + max(frames, 0))
        return []

    def on_play(self, message):
        self.playing, self.credits = True, FRAMES_IN_FLIGHT
        return [self.state()]

    def on_pause(self, message):
        self.playing = False
        return [self.state()]

    def on_step(self, message):
        self.playing = False
        self.session.step()
        return [self.state(), self.session.frame()]

    def on_reset(self, message):
        self.session.reset()
        return [self.session.scene(), self.session.frame()]

    def on_regenerate(self, message):
        self.session.regenerate()
        return [self.session.scene(), self.session.frame()]

    def on_set(self, message):
        changes = _field(message, "changes", dict, None, "an object of settings")
        rebuilt = self.session.apply(changes)
        if rebuilt in ("data", "network", "view"):
            out = [self.session.scene()]
        else:
            config = self.session.config
            out = [{"type": "config", "config": config.to_dict(), "query": config.to_query()}]
        if rebuilt != "page" or not self.playing:
            out.append(self.session.frame())
        return out

    def on_inspect(self, message):
        row = message.get("row", 0)
        if row != "worst":
            row = _field(message, "row", int, 0, 'a row number or "worst"')
        self.playing = False
        return [self.state(), self.session.inspect(row)]

    def on_apply_step(self, message):
        self.session.apply_inspected()
        return [self.session.frame(), self.session.inspect(self.session.inspected_row)]

    def on_landscape(self, message):
        return [self.session.landscape()]

    def on_edit(self, message):
        """Set ``W^layer[source, unit]`` (or, with ``source`` null, ``b^layer[unit]``) to
        ``value``; the frame follows, and the step inspector's next step from the
        edited weights when a sample is inspected."""
        layer = _field(message, "layer", int, None, "a layer number from 1")
        unit = _field(message, "unit", int, None, "a unit number from 0")
        source = message.get("source")
        if source is not None:
            source = _field(message, "source", int, None, "an input number from 0, or null")
        value = _field(message, "value", (int, float), None, "a number")
        self.session.edit(layer, unit, value, source)
        out = [self.session.frame()]
        if self.session.inspected_row is not None:
            out.append(self.session.inspect(self.session.inspected_row))
        return out

