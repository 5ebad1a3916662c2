"""The playground's local web server: a thin layer between the page and a :class:`Session`.

Starlette on uvicorn. The page is static HTML, CSS and JavaScript shipped in
this package (no build step, no CDN); everything it shows comes over one
WebSocket per page as JSON messages, which
:class:`~glassnet.playground.protocol.Protocol` answers (the same module the
browser build runs in a Web Worker). Each page has a worker thread for its
session, so the server keeps answering while a frame is computed, and a
bounded inbox, so a page that floods the socket is slowed instead of growing
the server's memory.

Safety, for a server on the user's own machine: it binds 127.0.0.1 unless
told otherwise; ``TrustedHostMiddleware`` rejects requests whose ``Host`` is
not this server's (DNS rebinding); the WebSocket handshake and uploads must
come from this server's own page (``Origin``); uploads are capped (50 MB); and
a bad request or a failure in training becomes an ``error`` message on the
page while the server keeps running (a traceback on the terminal only for
the server's own bugs, never for a page's mistakes). Served on an address
other than loopback, every request must carry a token, as Jupyter's does.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import sys
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
    from starlette.requests import ClientDisconnect, HTTPConnection
    from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocketDisconnect
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(f"the glassnet playground needs starlette and uvicorn ({exc.name} is "
                      f"missing): pip install 'glassnet[playground]'") from exc

from .._version import __version__
from .config import schema
from .protocol import EXPORTS, USER_ERRORS, Protocol, UploadStore, error_text, read_upload

__all__ = ["UPLOAD_LIMIT", "create_app", "serve"]

UPLOAD_LIMIT = 50 * 1024 * 1024
UPLOAD_SECONDS = 30.0  # reading an upload takes longer: the page is told, the server goes on
INBOX = 4  # messages waiting per page; a fuller inbox stops reading from its socket
LOOPBACK = ("127.0.0.1", "localhost", "::1")
STATIC = resources.files(__package__) / "static"
TOKEN_COOKIE = "glassnet-playground-token"


def report_bug(exc):
    """Print a bug's traceback on the server's terminal (a page's mistake prints nothing)."""
    if not isinstance(exc, USER_ERRORS):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


# -- origin checks ----------------------------------------------------------------------
def same_origin(headers):
    """True when ``Origin`` names this very server (scheme http(s), the request's host and port)."""
    origin, host = headers.get("origin"), headers.get("host")
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


# -- one page's connection ----------------------------------------------------------------
class Connection:
    """A page's WebSocket: a :class:`~glassnet.playground.protocol.Protocol` in its own
    worker thread, fed from a bounded inbox.

    The inbox holds :data:`INBOX` messages; when it is full the reader stops
    reading, so a page that sends faster than the engine answers is slowed by
    TCP itself instead of growing the server's memory.
    """

    def __init__(self, websocket, state):
        self.websocket = websocket
        self.state = state
        self.protocol = Protocol(state.uploads, report=report_bug)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="glassnet-session")

    async def call(self, function, *args):
        """Run ``function`` in this page's worker thread (all session work goes there)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, function, *args)

    async def send_all(self, messages):
        for message in messages:
            await self.websocket.send_text(json.dumps(message, allow_nan=False))

    async def run(self):
        inbox = asyncio.Queue(maxsize=INBOX)

        async def read():
            try:
                while True:
                    event = await self.websocket.receive()
                    if event["type"] == "websocket.disconnect":
                        break
                    # a binary frame goes in as bytes and is answered with an error
                    text = event.get("text")
                    await inbox.put(text if text is not None else event.get("bytes", b""))
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                await inbox.put(None)

        reader = asyncio.create_task(read())
        self.state.sessions[self.protocol.session_id] = self
        try:
            while True:
                if self.protocol.wants_frame() and inbox.empty():
                    await self.send_all(await self.call(self.protocol.next_frame))
                    continue
                text = await inbox.get()
                if text is None:
                    break
                messages = await self.call(self.protocol.handle_text, text)
                await self.send_all(messages)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            self.state.sessions.pop(self.protocol.session_id, None)
            self.executor.shutdown(wait=False, cancel_futures=True)


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
    """``POST /api/upload``: the raw file as the body, its name in ``X-Filename``.

    The file is read in a thread of its own, never on the event loop, and the
    page gets an answer within :data:`UPLOAD_SECONDS` whatever the file holds.
    """
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
    state = request.app.state
    loop = asyncio.get_running_loop()
    reading = loop.run_in_executor(state.upload_reader, read_upload, state.uploads, name,
                                   b"".join(chunks))
    try:
        answer = await asyncio.wait_for(asyncio.shield(reading), state.upload_seconds)
    except asyncio.TimeoutError:
        return JSONResponse({"error": f"reading {os.path.basename(name)} took longer than "
                                      f"{state.upload_seconds:g} s, the playground's budget; "
                                      f"train on it with `glassnet train FILE` instead"},
                            status_code=413)
    except Exception as exc:  # noqa: BLE001 - the file's problem, in the user's words
        report_bug(exc)
        return JSONResponse({"error": error_text(exc)}, status_code=400)
    return JSONResponse(answer)


async def export(request):
    """``GET /api/session/{id}/{file}``: the model, the rows or the snippet of a live page."""
    connection = request.app.state.sessions.get(request.path_params["session"])
    what = request.path_params["file"]
    if connection is None or what not in EXPORTS:
        return JSONResponse({"error": "no such session or file; reload the page"},
                            status_code=404)
    try:
        content, media = await connection.call(connection.protocol.export, what)
    except Exception as exc:  # noqa: BLE001 - shown on the page; the server keeps running
        report_bug(exc)
        return JSONResponse({"error": error_text(exc)}, status_code=400)
    headers = {"Content-Disposition": f'attachment; filename="{what}"'}
    return Response(content, media_type=media, headers=headers)


async def websocket_route(websocket):
    if not same_origin(websocket.headers):
        await websocket.close(code=1008)  # before accept: the handshake gets HTTP 403
        return
    await websocket.accept()
    await Connection(websocket, websocket.app.state).run()


class TokenCheck:
    """Refuse every request without the server's token (as Jupyter does), for a server
    that others can reach. The page's URL carries ``?token=…`` once; the answer sets a
    cookie that the page's later requests (files, WebSocket, uploads) carry."""

    def __init__(self, app, token):
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request = HTTPConnection(scope)
        given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await PlainTextResponse("this playground needs its token: open the address with "
                                    "?token=… that the server printed", status_code=403)(
                scope, receive, send)
            return
        if scope["type"] == "http" and request.query_params.get("token"):
            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    cookie = (f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; "
                              f"SameSite=Strict").encode()
                    message = dict(message, headers=[*message.get("headers", []),
                                                     (b"set-cookie", cookie)])
                await send(message)

            await self.app(scope, receive, send_with_cookie)
            return
        await self.app(scope, receive, send)


def create_app(allowed_hosts=LOOPBACK, upload_limit=UPLOAD_LIMIT, token=None,
               upload_seconds=UPLOAD_SECONDS):
    """The Starlette application. ``allowed_hosts``: the names the ``Host`` header may
    carry; ``token``: when given, every request must carry it (see :class:`TokenCheck`)."""

    @asynccontextmanager
    async def lifespan(app):
        app.state.uploads = UploadStore()
        app.state.sessions = {}
        app.state.upload_limit = upload_limit
        app.state.upload_seconds = upload_seconds
        app.state.upload_reader = ThreadPoolExecutor(max_workers=1,
                                                     thread_name_prefix="glassnet-upload")
        try:
            yield
        finally:
            app.state.upload_reader.shutdown(wait=False, cancel_futures=True)
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
    if token:
        middleware.append(Middleware(TokenCheck, token=token))
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
    # Starlette compares the Host header's name with its brackets: [::1]:8000 is "[::1]"
    names.update({f"[{n}]" for n in names if ":" in n})
    return sorted(n.lower() for n in names if n)


def _bind(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait in the backlog until uvicorn is up
    sock.set_inheritable(True)
    return sock


def serve(host="127.0.0.1", port=0, open_browser=True, print_fn=print, token=None):
    """Run the playground until Ctrl-C. ``port=0`` picks a free port. Returns 0.

    ``token``: the text every request must carry (``?token=`` in the printed
    address). ``None`` (the default) makes a random one when ``host`` is not a
    loopback address and none on loopback; ``""`` turns the check off.
    """
    loopback = host.strip("[]") in LOOPBACK
    if token is None:
        token = "" if loopback else secrets.token_urlsafe(24)
    if not loopback:
        guard = ("only with the token in the address printed below" if token else
                 "with no token")
        print_fn(f"warning: serving on {host}: anyone who can reach this machine can use the "
                 f"playground ({guard}), train networks on it and upload files to it; the "
                 f"default, 127.0.0.1, keeps it to this machine", file=sys.stderr)
    _one_blas_thread()
    host = host.strip("[]")
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(
        host, f"[{host}]" if ":" in host else host)
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    app = create_app(allowed_hosts=_host_names(host), token=token or None)
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
