"""The playground's local web server: a thin layer between the page and a :class:`Session`.

Starlette on uvicorn. The page is static HTML, CSS and JavaScript shipped in
this package (no build step, no CDN); everything it shows comes over one
WebSocket per page as JSON messages:

page → server
    ``hello`` (the URL's configuration), ``set`` (changed settings), ``play``,
    ``pause``, ``step``, ``reset``, ``regenerate``, ``ack`` (a frame was
    drawn), ``inspect`` (a sample for the step inspector), ``apply_step``,
    ``landscape``.
server → page
    ``hello`` (the session id and the settings schema), ``scene`` (data and
    layout, once per run), ``frame`` (a snapshot), ``config``, ``state``,
    ``inspect``, ``landscape``, ``error``.

Frames are paced by the page: at most two are in flight, and the next goes
out when the page acknowledges one it drew, so a slow browser never builds a
backlog. Training and snapshots run in one worker thread per page, so the
server keeps answering while a frame is computed.

Safety, for a server on the user's own machine: it binds 127.0.0.1 unless
told otherwise; ``TrustedHostMiddleware`` rejects requests whose ``Host`` is
not this server's (DNS rebinding); the WebSocket handshake and uploads must
come from this server's own page (``Origin``); uploads are capped (50 MB); and
a bad request or a failure in training becomes an ``error`` message on the
page while the server keeps running.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import traceback
import webbrowser
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from urllib.parse import unquote, urlsplit

try:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import ClientDisconnect
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocketDisconnect
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(f"the glassnet playground needs starlette and uvicorn ({exc.name} is "
                      f"missing): pip install 'glassnet[playground]'") from exc

from .._version import __version__
from ..datasets import DataError
from .config import Config, ConfigError, schema
from .data import thumbnails
from .export import data_csv, model_bytes, snippet
from .session import Session

__all__ = ["UPLOAD_LIMIT", "create_app", "serve"]

UPLOAD_LIMIT = 50 * 1024 * 1024
LOOPBACK = ("127.0.0.1", "localhost", "::1")
FRAMES_IN_FLIGHT = 3
FRAME_TIME = 0.03  # seconds of training per screen update, at most
STATIC = resources.files(__package__) / "static"
# user mistakes: shown as they are; anything else is a bug, shown with its type
USER_ERRORS = (ConfigError, DataError, ValueError, ArithmeticError)


# -- uploads ----------------------------------------------------------------------------
class UploadStore:
    """Uploaded files in a private temporary directory, removed when the server stops."""

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

    def resolve(self, upload_id):
        with self.lock:
            return self.files.get(upload_id, (None, None))

    def close(self):
        shutil.rmtree(self.directory, ignore_errors=True)


# -- origin checks ----------------------------------------------------------------------
def same_origin(headers):
    """True when ``Origin`` names this very server (scheme http(s), the request's host and port)."""
    origin, host = headers.get("origin"), headers.get("host")
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def _parse(text):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the page sent a message that is not JSON ({exc})") from None


def _error_text(exc):
    if isinstance(exc, USER_ERRORS):
        return str(exc) or type(exc).__name__
    return f"internal error ({type(exc).__name__}: {exc}); the server keeps running"


# -- one page's connection ----------------------------------------------------------------
class Connection:
    """A page's WebSocket: its :class:`Session`, its worker thread and the frame pacing."""

    def __init__(self, websocket, state):
        self.websocket = websocket
        self.state = state
        self.session = None
        self.session_id = secrets.token_urlsafe(16)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="glassnet-session")
        self.playing = False
        self.credits = FRAMES_IN_FLIGHT

    async def call(self, function, *args):
        """Run ``function`` in this page's worker thread (all session work goes there)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, function, *args)

    async def send(self, message):
        await self.websocket.send_text(json.dumps(message, allow_nan=False))

    async def send_error(self, exc):
        if not isinstance(exc, USER_ERRORS):
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        await self.send({"type": "error", "message": _error_text(exc)})

    async def send_state(self):
        await self.send({"type": "state", "playing": self.playing})

    async def send_frame(self):
        await self.send(await self.call(self.session.frame))

    async def send_scene(self):
        await self.send(await self.call(self.session.scene))

    async def run(self):
        inbox = asyncio.Queue()

        async def read():
            try:
                while True:
                    await inbox.put(await self.websocket.receive_text())
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                await inbox.put(None)

        reader = asyncio.create_task(read())
        try:
            while True:
                if self.session and self.playing and self.credits > 0 and inbox.empty():
                    await self.play_frame()
                    continue
                text = await inbox.get()
                if text is None:
                    break
                try:
                    await self.handle(_parse(text))
                except (WebSocketDisconnect, RuntimeError):
                    raise
                except Exception as exc:  # noqa: BLE001 - a bad message never ends the session
                    self.playing = False
                    await self.send_error(exc)
                    await self.send_state()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            self.state.sessions.pop(self.session_id, None)
            self.executor.shutdown(wait=False, cancel_futures=True)

    async def play_frame(self):
        def advance_and_snapshot():
            self.session.advance(FRAME_TIME)
            return self.session.frame()

        try:
            frame = await self.call(advance_and_snapshot)
        except Exception as exc:  # noqa: BLE001 - shown on the page; the server keeps running
            self.playing = False
            await self.send_error(exc)
            await self.send_state()
            await self.send_frame()
            return
        self.credits -= 1
        await self.send(frame)

    async def handle(self, message):
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "hello":
            await self.hello(message.get("query", ""))
            return
        if self.session is None:
            raise ValueError("the page must say hello first")
        if kind == "ack":
            self.credits = min(FRAMES_IN_FLIGHT, self.credits + int(message.get("frames", 1)))
        elif kind == "play":
            self.playing, self.credits = True, FRAMES_IN_FLIGHT
            await self.send_state()
        elif kind == "pause":
            self.playing = False
            await self.send_state()
        elif kind == "step":
            self.playing = False
            await self.send_state()
            await self.call(self.session.step)
            await self.send_frame()
        elif kind in ("reset", "regenerate"):
            await self.call(getattr(self.session, kind))
            await self.send_scene()
            await self.send_frame()
        elif kind == "set":
            changes = message.get("changes")
            if not isinstance(changes, dict):
                raise ValueError("set needs a dict of changes")
            rebuilt = await self.call(self.session.apply, changes)
            if rebuilt in ("data", "network", "view"):
                await self.send_scene()
            else:
                config = self.session.config
                await self.send({"type": "config", "config": config.to_dict(),
                                 "query": config.to_query()})
            if rebuilt != "page" or not self.playing:
                await self.send_frame()
        elif kind == "inspect":
            self.playing = False
            await self.send_state()
            await self.send(await self.call(self.session.inspect, message.get("row", 0)))
        elif kind == "apply_step":
            await self.call(self.session.apply_inspected)
            await self.send_frame()
            await self.send(await self.call(self.session.inspect, self.session.inspected_row))
        elif kind == "landscape":
            await self.send(await self.call(self.session.landscape))
        else:
            raise ValueError(f"unknown message type {kind!r}")

    async def hello(self, query):
        uploads = self.state.uploads
        problem = None
        try:
            config = Config.from_query(query or "")
            if config.kind == "csv" and uploads.resolve(config.upload)[0] is None:
                raise ConfigError("the link names an uploaded CSV file this server does not "
                                  "have (uploads last while the server runs): upload it again")
        except ConfigError as exc:
            problem, config = exc, Config()
        try:
            self.session = await self.call(Session, config, uploads.resolve)
        except Exception as exc:  # noqa: BLE001 - shown on the page; the server keeps running
            problem = problem or exc
            self.session = await self.call(Session, Config(), uploads.resolve)
        self.state.sessions[self.session_id] = self
        await self.send({"type": "hello", "session": self.session_id, "version": __version__,
                         "schema": schema(), "thumbnails": thumbnails()})
        await self.send_scene()
        await self.send_frame()
        await self.send_state()
        if problem is not None:
            await self.send({"type": "error", "message": f"{_error_text(problem)} (the page "
                                                         f"shows the default setup instead)"})


# -- HTTP routes ------------------------------------------------------------------------
SECURITY_HEADERS = {
    # everything the page loads comes from this server: no CDN, works offline
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def index(request):
    return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)


async def schema_route(request):
    return JSONResponse(schema())


async def upload(request):
    """``POST /api/upload``: the raw file as the body, its name in ``X-Filename``."""
    origin = request.headers.get("origin")
    if (origin is not None and not same_origin(request.headers)) or \
            request.headers.get("x-glassnet") != "upload":
        return JSONResponse({"error": "uploads are accepted from the playground page only"},
                            status_code=403)
    limit = request.app.state.upload_limit
    too_big = {"error": f"the file is larger than the playground's limit of "
                        f"{limit / 1024 / 1024:.0f} MB; train on it with `glassnet train "
                        f"FILE` instead"}
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return JSONResponse(too_big, status_code=413)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return JSONResponse(too_big, status_code=413)
            chunks.append(chunk)
    except ClientDisconnect:
        return Response(status_code=400)
    name = unquote(request.headers.get("x-filename", "upload.csv"))
    name = os.path.basename(name.replace("\\", "/")) or "upload.csv"
    content = b"".join(chunks)
    if not content.strip():
        return JSONResponse({"error": f"{name} is empty"}, status_code=400)
    store = request.app.state.uploads
    upload_id = store.add(name, content)
    path, _ = store.resolve(upload_id)
    try:
        from ..tables import read_data

        table = read_data(path)
    except DataError as exc:
        return JSONResponse({"error": str(exc).replace(path, name)}, status_code=400)
    return JSONResponse({"id": upload_id, "name": name, "columns": table.names,
                         "rows": table.n_rows, "target": table.names[-1]})


EXPORTS = {
    "model.glassnet": (model_bytes, "application/octet-stream"),
    "data.csv": (data_csv, "text/csv; charset=utf-8"),
    "playground_run.py": (snippet, "text/x-python; charset=utf-8"),
}


async def export(request):
    """``GET /api/session/{id}/{file}``: the model, the rows or the snippet of a live page."""
    connection = request.app.state.sessions.get(request.path_params["session"])
    what = request.path_params["file"]
    if connection is None or what not in EXPORTS:
        return JSONResponse({"error": "no such session or file; reload the page"},
                            status_code=404)
    function, media = EXPORTS[what]
    try:
        content = await connection.call(function, connection.session)
    except Exception as exc:  # noqa: BLE001 - shown on the page; the server keeps running
        return JSONResponse({"error": _error_text(exc)}, status_code=400)
    headers = {"Content-Disposition": f'attachment; filename="{what}"'}
    return Response(content, media_type=media, headers=headers)


async def websocket_route(websocket):
    if not same_origin(websocket.headers):
        await websocket.close(code=1008)  # before accept: the handshake gets HTTP 403
        return
    await websocket.accept()
    await Connection(websocket, websocket.app.state).run()


def create_app(allowed_hosts=LOOPBACK, upload_limit=UPLOAD_LIMIT):
    """The Starlette application. ``allowed_hosts``: the names the ``Host`` header may carry."""

    @asynccontextmanager
    async def lifespan(app):
        app.state.uploads = UploadStore()
        app.state.sessions = {}
        app.state.upload_limit = upload_limit
        try:
            yield
        finally:
            app.state.uploads.close()

    routes = [
        Route("/", index),
        Route("/api/schema", schema_route),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/api/session/{session}/{file}", export),
        WebSocketRoute("/ws", websocket_route),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


# -- running it -----------------------------------------------------------------------
def _host_names(host):
    names = set(LOOPBACK)
    if host in ("0.0.0.0", "::", ""):
        hostname = socket.gethostname()
        names.update({hostname, socket.getfqdn()})
        try:
            names.update(socket.gethostbyname_ex(hostname)[2])
        except OSError:
            pass
    else:
        names.add(host.strip("[]"))
    return sorted(n.lower() for n in names if n)


def _bind(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait in the backlog until uvicorn is up
    sock.set_inheritable(True)
    return sock


def serve(host="127.0.0.1", port=0, open_browser=True, print_fn=print):
    """Run the playground until Ctrl-C. ``port=0`` picks a free port. Returns 0."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        print_fn(f"warning: serving on {host}: anyone who can reach this machine can use the "
                 f"playground, train networks on it and upload files to it; the default, "
                 f"127.0.0.1, keeps it to this machine", file=sys.stderr)
    _one_blas_thread()
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else ("127.0.0.1" if host in ("0.0.0.0", "") else host)
    url = f"http://{shown}:{port}/"
    app = create_app(allowed_hosts=_host_names(host))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2,
                                           lifespan="on"))
    restore = _stop_on_ctrl_c(server)
    try:
        print_fn(f"glassnet playground {__version__}: {url}  (Ctrl-C to stop)", flush=True)
        if open_browser:
            threading.Thread(target=_open_when_ready, args=(server, url), daemon=True).start()
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # serving from another thread: no handler of ours
        pass
    finally:
        restore()
        sock.close()
    print_fn("glassnet playground: stopped", flush=True)
    return 0


def _stop_on_ctrl_c(server):
    """Make Ctrl-C ask ``server`` to stop, at any moment, even before it has
    started; returns a function that puts the previous handler back.

    Python's own handler would raise KeyboardInterrupt wherever the main thread
    is: while asyncio builds its event loop that leaves a half-made loop whose
    clean-up prints a traceback, and while uvicorn starts it cancels the server
    task. This handler only sets ``should_exit``, which uvicorn checks once it
    runs; while serving, uvicorn's handler takes over and puts this one back.
    Off the main thread, where Python allows no handler, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum, frame):
        server.should_exit = True

    previous = signal.signal(signal.SIGINT, stop)
    # None: a handler installed from C, which Python cannot put back; the default then
    return lambda: signal.signal(signal.SIGINT,
                                 signal.default_int_handler if previous is None else previous)


def _one_blas_thread():
    """Run BLAS on one thread in this process. The playground's matrices are
    small (a 10,000-point plane through a few narrow layers): a second BLAS
    thread only waits for a free core, and on a busy 2-core machine one such
    product took 18 ms instead of 0.9 ms."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with the playground extra
        return
    threadpool_limits(1, user_api="blas")


def _open_when_ready(server, url):
    for _ in range(200):
        if server.started:
            webbrowser.open(url)
            return
        threading.Event().wait(0.05)
