"""The playground's conversation with a page (glassnet.playground.protocol), without a
transport: the same object the server runs in a thread and the browser build in a Web Worker."""

import io
import json

import numpy as np
import pytest

from glassnet.io import load_model
from glassnet.playground.protocol import FRAMES_IN_FLIGHT, Protocol, UploadStore


@pytest.fixture
def protocol():
    store = UploadStore()
    yield Protocol(store)
    store.close()


def kinds(messages):
    return [m["type"] for m in messages]


def test_hello_then_play_is_paced_by_the_page(protocol):
    assert kinds(protocol.handle_text(json.dumps({"type": "play"}))) == ["error"]
    assert kinds(protocol.handle({"type": "hello", "query": "data=xor&hidden=3"})) == [
        "hello", "scene", "frame", "state"]
    assert not protocol.wants_frame()
    assert protocol.handle({"type": "play"}) == [{"type": "state", "playing": True}]
    frames = []
    while protocol.wants_frame():
        frames += protocol.next_frame()
    assert len(frames) == FRAMES_IN_FLIGHT  # then it waits for the page
    assert frames[-1]["step"] > frames[0]["step"]
    assert protocol.handle({"type": "ack", "frames": 1}) == []
    assert protocol.wants_frame()
    protocol.handle({"type": "pause"})
    assert not protocol.wants_frame()


def test_a_failed_message_leaves_the_session_as_it_was(protocol):
    protocol.handle({"type": "hello", "query": "data=xor&hidden=3&lr=0.1"})
    before = protocol.session
    answer = protocol.handle({"type": "set", "changes": {"hidden": "0"}})
    assert kinds(answer) == ["error", "state"]
    assert protocol.session is before and protocol.session.config.hidden == (3,)
    assert protocol.session.config.lr == 0.1


def test_exports_are_bytes_the_engine_reads_back(protocol, tmp_path):
    protocol.handle({"type": "hello", "query": "data=moons&hidden=4"})
    for _ in range(5):
        protocol.handle({"type": "step"})
    content, media = protocol.export("model.glassnet")
    assert media == "application/octet-stream"
    path = tmp_path / "model.glassnet"
    path.write_bytes(content)
    model = load_model(path)
    X = protocol.session.X_test
    np.testing.assert_array_equal(model.network.predict_proba(X),
                                  protocol.session.network.predict_proba(X))
    snippet, _ = protocol.export("playground_run.py")
    assert b"glassnet" in snippet
    with pytest.raises(ValueError, match="no export named 'secrets.txt'"):
        protocol.export("secrets.txt")


def test_an_upload_is_read_and_trains(protocol):
    protocol.handle({"type": "hello", "query": ""})
    rows = io.StringIO()
    rng = np.random.default_rng(0)
    rows.write("u,v,label\n")
    for u, v in rng.normal(size=(60, 2)):
        rows.write(f"{u:.4f},{v:.4f},{int(u + v > 0)}\n")
    answer = protocol.upload("../mine.csv", rows.getvalue().encode())
    assert answer["name"] == "mine.csv" and answer["rows"] == 60
    messages = protocol.handle({"type": "set", "changes": {"data": "csv", "upload": answer["id"],
                                                           "target": "label"}})
    assert kinds(messages)[0] == "scene" and messages[0]["data"]["n_train"] == 30
    with pytest.raises(ValueError, match="ragged.csv, line 3: expected 3 fields"):
        protocol.upload("ragged.csv", b"a,b,c\n1,2,3\n4,5\n")
    assert len(protocol.uploads.files) == 1  # a refused file is not kept


def test_a_frame_that_fails_is_reported_and_the_conversation_goes_on(protocol):
    """When the session's frame() raises, next_frame answers with the error and the
    (paused) state instead of raising out of it (which ended the server's connection);
    once frames work again, so does play."""
    protocol.handle({"type": "hello", "query": "data=xor&hidden=3"})
    session = protocol.session
    working = session.frame

    def broken():
        raise ValueError("the boundary could not be drawn")

    session.frame = broken
    protocol.handle({"type": "play"})
    answer = protocol.next_frame()
    assert kinds(answer) == ["error", "state"]
    assert "the boundary could not be drawn" in answer[0]["message"]
    assert answer[1] == {"type": "state", "playing": False} and not protocol.wants_frame()
    session.frame = working
    protocol.handle({"type": "play"})
    assert kinds(protocol.next_frame()) == ["frame"]
