"""The playground's server: what it serves, whom it refuses, how it survives errors,
and how it starts and stops. No browser: Starlette's test client and subprocesses."""

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # newer Starlette prefers another HTTP client for its tests
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
from _playground_process import environment, start, stop, wait_until_serving
from starlette.websockets import WebSocketDisconnect

from glassnet.io import load_model
from glassnet.playground import server as playground_server
from glassnet.playground.session import Session

BASE = "http://127.0.0.1:8000"
ORIGIN = {"origin": BASE}
WS = "ws://127.0.0.1:8000/ws"


@pytest.fixture
def client():
    with TestClient(playground_server.create_app(), base_url=BASE) as c:
        yield c


def receive_until(ws, kind, limit=50):
    """Messages up to and including the first of type ``kind``."""
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        seen.append(message)
        if message["type"] == kind:
            return seen
    raise AssertionError(f"no {kind!r} message in {[m['type'] for m in seen]}")


def hello(ws, query="", until="state"):
    ws.send_json({"type": "hello", "query": query})
    messages = receive_until(ws, until)
    return {m["type"]: m for m in messages}


# -- what it serves ----------------------------------------------------------------------
def test_the_page_and_its_files_come_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'src="/static/app.js"' in page.text
    static = Path(playground_server.STATIC)
    for name in ("index.html", "app.js", "draw.js", "style.css"):
        text = (static / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.(com|org|net|io)", text), name  # no CDN
        if name != "index.html":
            assert client.get(f"/static/{name}").status_code == 200
    schema = client.get("/api/schema").json()
    assert "spirals" in [d["name"] for d in schema["datasets"]]


def test_requests_for_another_host_are_refused(client):
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"host": "localhost:8000"}).status_code == 200
    evil = {"host": "evil.example", "origin": "http://evil.example"}
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(WS, headers=evil) as ws:
        ws.receive_json()


@pytest.mark.parametrize("headers", [{"origin": "http://evil.example"},
                                     {"origin": "http://127.0.0.1:9999"}, {}])
def test_the_websocket_only_opens_for_the_page_itself(client, headers):
    with pytest.raises(WebSocketDisconnect) as info, \
            client.websocket_connect(WS, headers=headers) as ws:
        ws.receive_json()
    assert info.value.code == 1008  # closed before accepting: uvicorn answers HTTP 403


# -- uploads -----------------------------------------------------------------------------
def upload(client, content, name="data.csv", headers=None):
    return client.post("/api/upload", content=content,
                       headers={"x-glassnet": "upload", "x-filename": name, **ORIGIN,
                                **(headers or {})})


def test_uploads_are_capped_with_a_clear_message():
    app = playground_server.create_app(upload_limit=1000)
    with TestClient(app, base_url=BASE) as c:
        response = upload(c, b"a,b\n" + b"1,2\n" * 400)
        assert response.status_code == 413
        assert "larger than the playground's limit" in response.json()["error"]
        # a body without a declared length is counted as it streams
        streamed = c.post("/api/upload", content=iter([b"a,b\n", b"1,2\n" * 400]),
                          headers={"x-glassnet": "upload", **ORIGIN})
        assert streamed.status_code == 413
        assert upload(c, b"a,b\n1,2\n3,4\n").status_code == 200
    assert playground_server.UPLOAD_LIMIT == 50 * 1024 * 1024


def test_uploads_are_checked_and_only_taken_from_the_page(client):
    ragged = upload(client, b"a,b,c\n1,2,3\n4,5\n", name="ragged.csv")
    assert ragged.status_code == 400
    assert ragged.json()["error"] == ("ragged.csv, line 3: expected 3 fields (like the header), "
                                      "got 2")
    assert upload(client, b"", name="empty.csv").json()["error"] == "empty.csv is empty"
    cross_site = upload(client, b"a,b\n1,2\n", headers={"origin": "http://evil.example"})
    assert cross_site.status_code == 403
    no_header = client.post("/api/upload", content=b"a,b\n1,2\n", headers=ORIGIN)
    assert no_header.status_code == 403
    good = upload(client, b"u,v,label\n" + b"".join(f"{i},{i % 3},{i % 2}\n".encode()
                                                    for i in range(40)), name="mine.csv")
    assert good.status_code == 200
    assert good.json()["columns"] == ["u", "v", "label"] and good.json()["target"] == "label"


# -- the page's session --------------------------------------------------------------------
def test_a_page_plays_steps_changes_settings_and_exports(client):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        first = hello(ws, "data=moons&hidden=5&speed=2")
        assert first["scene"]["config"]["data"] == "moons"
        assert first["frame"]["epoch"] == 0 and first["state"]["playing"] is False
        session = first["hello"]["session"]
        ws.send_json({"type": "play"})
        frames = [m for m in receive_until(ws, "frame") if m["type"] == "frame"]
        ws.send_json({"type": "ack", "frames": 1})
        frames += [m for m in receive_until(ws, "frame") if m["type"] == "frame"]
        assert frames[-1]["epoch"] > frames[0]["epoch"] >= 2
        ws.send_json({"type": "pause"})
        receive_until(ws, "state")
        ws.send_json({"type": "step"})
        stepped = receive_until(ws, "frame")[-1]
        ws.send_json({"type": "set", "changes": {"lr": "0.1"}})
        changed = receive_until(ws, "frame")
        assert changed[0]["type"] == "config" and changed[0]["config"]["lr"] == 0.1
        assert "lr=0.1" in changed[0]["query"]
        assert changed[-1]["step"] == stepped["step"]  # a live change does not restart

        model = client.get(f"/api/session/{session}/model.glassnet")
        assert model.status_code == 200
        assert model.headers["content-disposition"] == 'attachment; filename="model.glassnet"'
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"pg-{os.getpid()}.glassnet"
        path.write_bytes(model.content)
        try:
            assert load_model(path).network.sizes == [2, 5, 1]
        finally:
            path.unlink()
        code = client.get(f"/api/session/{session}/playground_run.py").text
        assert "make_moons(500" in code and f"epochs={stepped['epoch']}," in code
        assert client.get(f"/api/session/{session}/data.csv").text.startswith("x1,x2,label,split")
        assert client.get("/api/session/nope/model.glassnet").status_code == 404

        points = first["scene"]["points"]
        row = next(r for r, split in zip(points["row"], points["split"]) if split == 0)
        ws.send_json({"type": "inspect", "row": row})
        inspected = receive_until(ws, "inspect")[-1]
        ws.send_json({"type": "set", "changes": {"hidden": "3,3"}})
        scene = receive_until(ws, "scene")[-1]
        assert scene["network"]["sizes"] == [2, 3, 3, 1]
        assert inspected["layers"][0]["dW"]
    assert client.get(f"/api/session/{session}/model.glassnet").status_code == 404  # gone


def test_bad_requests_and_failures_show_an_error_and_the_server_keeps_going(client, monkeypatch):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        first = hello(ws, "lr=banana", until="error")
        assert first["error"]["message"].startswith("lr must be a number, got 'banana'")
        assert first["scene"]["config"]["lr"] == 0.03  # the default setup instead
        ws.send_text("this is not JSON")
        assert "a message that is not JSON" in receive_until(ws, "error")[-1]["message"]
        ws.send_json({"type": "set", "changes": {"hidden": "0,4"}})
        assert "hidden: each layer needs 1 to 16 units" in receive_until(ws, "error")[-1]["message"]
        ws.send_json({"type": "launch"})
        assert "unknown message type 'launch'" in receive_until(ws, "error")[-1]["message"]
        upload_id = upload(client, b"a,b,label\n1,2,x\n3,oops,y\n5,6,x\n").json()["id"]
        ws.send_json({"type": "set", "changes": {"data": "csv", "upload": upload_id}})
        message = receive_until(ws, "error")[-1]["message"]
        assert message == "data.csv: non-numeric value 'oops' in numeric column 'b' at line 3"

        calls = {"n": 0}
        original = Session.advance

        def flaky(self, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("boom")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Session, "advance", flaky)
        ws.send_json({"type": "play"})
        seen = receive_until(ws, "error")
        assert seen[-1]["message"] == ("internal error (RuntimeError: boom); the server keeps "
                                       "running")
        state = receive_until(ws, "state")[-1]
        assert state["playing"] is False
        ws.send_json({"type": "step"})
        assert receive_until(ws, "frame")[-1]["type"] == "frame"
        # training that diverges pauses with the engine's own message
        ws.send_json({"type": "set", "changes": {"data": "bumps", "act": "relu", "hidden": "8,8",
                                                 "lr": "10", "batch": "full", "speed": "20"}})
        receive_until(ws, "frame")
        ws.send_json({"type": "play"})
        for _ in range(400):  # the page acknowledges each frame it draws
            message = ws.receive_json()
            if message["type"] == "frame":
                ws.send_json({"type": "ack", "frames": 1})
            if message["type"] == "error":
                break
        diverged = message["message"]
        assert "the loss became" in diverged
        assert "learning rate 10 is probably too large" in diverged
    with client.websocket_connect(WS, headers=ORIGIN) as ws:  # and a new page still works
        assert hello(ws)["frame"]["type"] == "frame"



# -- the server speaks errors ----------------------------------------------------------------
WRONGLY_TYPED = [
    ({"type": "ack", "frames": "two"}, "ack: 'frames' must be a whole number of frames"),
    ({"type": "inspect", "row": {"x": 1}}, "inspect: 'row' must be a row number or \"worst\""),
    ({"type": "set", "changes": [["lr", 0.1]]}, "set: 'changes' must be an object of settings"),
    ({"type": "hello", "query": 7}, "hello: 'query' must be the text after # in the URL"),
    ({"type": ["play"]}, "unknown message type ['play']"),
    ({"type": "set", "changes": {"seed": {}}}, "seed must be a whole number, got {}"),
    ([1, 2, 3], "a message must be a JSON object, not list"),
]


def test_every_malformed_message_is_answered_and_the_session_keeps_working(client, capfd):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        first = hello(ws, "data=xor&hidden=3")
        ws.send_bytes(b"\x00\x01binary")  # once dropped the connection without a word
        assert receive_until(ws, "error")[-1]["message"] == (
            "the page sent a binary message; the playground speaks JSON text")
        ws.send_text("[" * 100_000 + "]" * 100_000)  # once a RecursionError
        assert receive_until(ws, "error")[-1]["message"] == (
            "the page sent JSON nested more than 32 levels deep")
        ws.send_text(json.dumps({"type": "set", "changes": {"note": "x" * 2_000_000}}))
        assert "characters; the limit is 1,048,576" in receive_until(ws, "error")[-1]["message"]
        for message, expected in WRONGLY_TYPED:
            ws.send_json(message)
            assert receive_until(ws, "error")[-1]["message"].startswith(expected), message
        # the session is the one from before, and it still steps
        ws.send_json({"type": "step"})
        frame = receive_until(ws, "frame")[-1]
        assert frame["step"] == first["frame"]["step"] + 1
        ws.send_json({"type": "inspect", "row": "worst"})
        assert receive_until(ws, "inspect")[-1]["type"] == "inspect"
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err  # a page's mistakes print nothing on the server


def test_a_flooding_page_is_slowed_by_a_bounded_inbox(client, monkeypatch):
    """While the engine is busy, the server reads at most INBOX messages ahead;
    the rest wait in the socket (back-pressure), not in the server's memory."""
    import threading

    from starlette.websockets import WebSocket

    from glassnet.playground.protocol import Protocol

    release, received = threading.Event(), {"n": 0}
    handle_text = Protocol.handle_text

    def slow(self, text):
        release.wait(30)
        return handle_text(self, text)

    original_receive = WebSocket.receive

    async def counting(self):
        event = await original_receive(self)
        received["n"] += 1
        return event

    monkeypatch.setattr(Protocol, "handle_text", slow)
    monkeypatch.setattr(WebSocket, "receive", counting)
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        for _ in range(40):
            ws.send_json({"type": "pause"})
        import time

        time.sleep(1.0)
        # the handshake, one message with the engine, INBOX in the queue and one held by
        # the blocked reader; without the bound all 40 are read at once
        assert received["n"] <= playground_server.INBOX + 3, received
        release.set()
        ws.send_json({"type": "hello", "query": ""})
        receive_until(ws, "scene", limit=200)
    assert received["n"] >= 42


def test_uploads_are_read_off_the_event_loop_within_a_time_budget(monkeypatch):
    import threading
    import time

    started, release = threading.Event(), threading.Event()

    def stuck(store, name, content):
        started.set()
        release.wait(30)
        raise AssertionError("not reached in time")

    app = playground_server.create_app(upload_seconds=0.5)
    with TestClient(app, base_url=BASE) as c:
        monkeypatch.setattr(playground_server, "read_upload", stuck)
        t0 = time.monotonic()
        with c.websocket_connect(WS, headers=ORIGIN) as ws:
            answer = {}
            thread = threading.Thread(target=lambda: answer.update(r=upload(c, b"a,b\n1,2\n")))
            thread.start()
            assert started.wait(10)
            # the server answers the page while the upload is being read
            assert hello(ws, "data=moons")["frame"]["type"] == "frame"
            thread.join(30)
        release.set()
    assert answer["r"].status_code == 413
    assert answer["r"].json()["error"].startswith(
        "reading data.csv took longer than 0.5 s, the playground's budget")
    assert time.monotonic() - t0 < 20


def test_a_token_guards_a_server_for_other_hosts():
    app = playground_server.create_app(token="s3cret")
    with TestClient(app, base_url=BASE) as c:
        refused = c.get("/")
        assert refused.status_code == 403 and "needs its token" in refused.text
        assert c.get("/?token=wrong").status_code == 403
        with pytest.raises(WebSocketDisconnect), c.websocket_connect(WS, headers=ORIGIN) as ws:
            ws.receive_json()
        page = c.get("/?token=s3cret")
        assert page.status_code == 200 and "app.js" in page.text
        # the cookie the page got lets its own later requests in
        assert c.get("/static/app.js").status_code == 200
        with c.websocket_connect(WS, headers=ORIGIN) as ws:
            assert hello(ws)["frame"]["type"] == "frame"
    with TestClient(app, base_url=BASE) as other:  # a fresh browser without the cookie
        assert other.get("/static/app.js").status_code == 403


def test_another_host_gets_a_token_in_its_address():
    process, url = start("--host", "0.0.0.0")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w-]{20,}", url), url
        wait_until_serving(url)
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                url.split("?")[0], timeout=10)
        assert refused.value.code == 403
    finally:
        code, _, err = stop(process)
    assert code == 0 and "only with the token" in err, err


def _ipv6_loopback():
    import socket

    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_the_ipv6_loopback_address_serves_the_page():
    process, url = start("--host", "::1")
    try:
        assert re.fullmatch(r"http://\[::1\]:\d+/", url), url  # loopback: no token
        wait_until_serving(url)  # once "Invalid host header"
    finally:
        code, _, err = stop(process)
    assert code == 0, err
    assert "warning" not in err


# -- starting and stopping -------------------------------------------------------------------
def test_ctrl_c_stops_the_server_cleanly_while_a_page_trains():
    import websockets.sync.client as wsclient

    process, url = start(command=("glassnet", "playground"))
    try:
        assert url.startswith("http://127.0.0.1:")
        host = url.split("//")[1].rstrip("/")
        with wsclient.connect(f"ws://{host}/ws", origin=f"http://{host}") as ws:
            ws.send(json.dumps({"type": "hello", "query": "hidden=6,6"}))
            ws.send(json.dumps({"type": "play"}))
            kinds = set()
            while "frame" not in kinds:
                kinds.add(json.loads(ws.recv(timeout=30))["type"])
            code, out, err = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, err
    assert "glassnet playground: stopped" in out
    assert "Traceback" not in err


def test_another_host_prints_a_warning():
    process, url = start("--host", "0.0.0.0")
    try:
        wait_until_serving(url)  # it answers on the loopback address it printed
    finally:
        code, out, err = stop(process)
    assert "warning: serving on 0.0.0.0" in err and "127.0.0.1" in err
    assert code == 0, (out, err)
    assert "Traceback" not in err, err


@pytest.mark.slow
def test_ctrl_c_the_moment_the_address_appears_stops_cleanly():
    """Ctrl-C while uvicorn is still starting (or asyncio is still building its
    loop) stops the server like any other Ctrl-C: no traceback, status 0."""
    for _ in range(8):
        process, _ = start()
        code, out, err = stop(process)  # Ctrl-C as soon as the URL is printed
        assert code == 0, (out, err)
        assert "glassnet playground: stopped" in out
        assert "Traceback" not in err and "Exception ignored" not in err, err


def test_the_ctrl_c_handler_asks_the_server_to_stop_and_puts_the_old_one_back():
    import signal
    from types import SimpleNamespace

    server = SimpleNamespace(should_exit=False)
    mine = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        restore = playground_server._stop_on_ctrl_c(server)
        signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt: a request to stop
        assert server.should_exit is True
        restore()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, mine)


def test_a_busy_port_is_one_error_line():
    process, url = start()
    try:
        port = url.rstrip("/").rsplit(":", 1)[1]
        busy = subprocess.run([sys.executable, "-m", "glassnet.playground", "--no-browser",
                               "--port", port], capture_output=True, text=True, timeout=60,
                              env=environment(), check=False)
    finally:
        stop(process)
    assert busy.returncode == 1
    assert busy.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert len(busy.stderr.strip().splitlines()) == 1

