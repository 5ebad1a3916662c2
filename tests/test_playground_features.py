"""The playground's lessons beyond training: the problem types and their toys, the
multi-class toy, the zero initialiser, the stop condition, the confusion matrix,
weights edited by hand, the classroom keys and λ_max against 2/η (engine side)."""

import numpy as np
import pytest

from glassnet.curvature import sharpness
from glassnet.datasets import make_blobs, make_plane
from glassnet.playground.config import HIDEABLE, Config, ConfigError, problem_of, schema
from glassnet.playground.data import thumbnails
from glassnet.playground.export import model_bytes, snippet
from glassnet.playground.session import Session


def session(query=""):
    return Session(Config.from_query(query))


# -- problem types, toys ---------------------------------------------------------------------
def test_every_toy_has_a_problem_type_and_the_schema_says_which():
    listed = {d["name"]: d["problem"] for d in schema()["datasets"]}
    assert listed["plane"] == listed["bumps"] == "regression"
    assert listed["blobs"] == listed["circles"] == "classification"
    assert listed["wisconsin"] is None and listed["csv"] is None  # their target decides
    assert [name for name, p in listed.items() if p == "regression"] == ["bumps", "plane"]
    assert problem_of("moons") == "classification"
    small = thumbnails(30)
    assert small["blobs"]["classes"] == 3 and small["plane"]["regression"]


def test_the_plane_toy_is_a_linear_target_a_linear_network_fits():
    X, y = make_plane(400, noise=0.0, seed=1)
    assert np.allclose(y, (X[:, 0] + X[:, 1]) / 2, rtol=0, atol=1e-15)
    s = session("data=plane&hidden=&noise=0&batch=full&lr=0.3&speed=20")
    assert s.data.task == "regression" and s.network.sizes == [2, 1]
    assert s.network.loss.name == "mse" and s.network.output_activation.name == "identity"
    for _ in range(10):
        s.advance(time_limit=10)
    metrics, _ = s.metrics()
    # no noise and a linear model of the exact form: R² reaches 1 (up to the optimiser's
    # remaining distance after 200 full-batch epochs, far below 1e-6 here)
    assert metrics["train_score"] > 1 - 1e-6


def test_the_three_blobs_toy_trains_a_softmax_network():
    X, y = make_blobs(300, noise=0.0, seed=0)
    assert np.bincount(y).tolist() == [100, 100, 100]
    # the centres sit on the unit circle, 120° apart, the first at the top
    assert np.allclose(X[y == 0], [0.0, 1.0]) and np.allclose(np.linalg.norm(X, axis=1), 1.0)
    s = session("data=blobs&hidden=4&speed=5&lr=0.1")
    assert s.data.classes == [0, 1, 2] and s.network.sizes[-1] == 3
    assert s.network.output_activation.name == "softmax"
    assert s.network.loss.name == "categorical_cross_entropy"
    start = s.metrics()[0]["train_loss"]
    for _ in range(8):
        s.advance(time_limit=10)
    # the loss the page shows is the engine's categorical cross-entropy, −mean log p(true)
    P = s.network.output(s.X_train)
    true = s.Y_train.argmax(axis=1)
    by_hand = -np.mean(np.log(P[np.arange(len(P)), true]))
    assert s.metrics()[0]["train_loss"] == pytest.approx(by_hand, rel=1e-12)
    assert s.metrics()[0]["train_loss"] < 0.5 * start
    frame = s.frame()
    assert frame["output"]["kind"] == "classes"
    assert len(frame["confusion"]["train"]) == 3


# -- the zero initialiser: symmetry ----------------------------------------------------------
def test_with_zero_weights_the_units_of_a_layer_stay_equal():
    s = session("init=zeros&hidden=4,3&act=sigmoid,sigmoid&lr=0.3&speed=5")
    assert all(not np.any(block.dense.W) for block in s.blocks)
    for _ in range(6):
        s.advance(time_limit=10)
    for block in s.blocks[:-1]:
        W = block.dense.W
        assert np.abs(W).max() > 1e-4  # the weights moved ...
        # ... but every unit (column) moved alike: the units compute the same numbers in
        # the same order, so they stay equal up to a few roundings of BLAS's blocking
        assert np.allclose(W, W[:, :1], rtol=1e-9, atol=1e-12)
        assert np.allclose(block.dense.b, block.dense.b[0], rtol=1e-9, atol=1e-12)
    tiles = [u["tile"] for u in s.frame()["units"][0]]
    assert len(set(tiles)) == 1  # the page draws four identical units


def test_with_zero_weights_and_tanh_only_the_output_bias_learns():
    s = session("init=zeros&hidden=3&act=tanh&lr=0.3&speed=2")
    for _ in range(3):
        s.advance(time_limit=10)
    assert not np.any(s.blocks[0].dense.W) and not np.any(s.blocks[1].dense.W)
    assert not np.any(s.blocks[0].dense.b) and np.any(s.blocks[1].dense.b)
    assert "zeros" in schema()["initializers"]


# -- the stop condition ----------------------------------------------------------------------
def test_play_stops_at_the_epoch_limit_even_mid_update():
    s = session("maxepochs=12&speed=5")
    reasons = [s.advance(time_limit=10) for _ in range(4)]
    assert s.epoch == 12  # 5 + 5 + 2, not 15 or 20
    assert reasons[:2] == [None, None] and "after 12 epochs" in reasons[2]
    assert s.frame()["stop"] == reasons[3] == reasons[2]
    s.step()  # a single step still goes, by hand
    assert s.epoch == 12 and s.position > 0
    assert s.apply({"maxepochs": "20"}) == "page" and s.stop_reason() is None


def test_play_stops_once_the_training_loss_reaches_the_target():
    s = session("data=gaussians&targetloss=0.2&speed=1&lr=0.1")
    assert s.stop_reason() is None
    for _ in range(200):
        reason = s.advance(time_limit=10)
        if reason:
            break
    assert reason and "reached the target 0.2" in reason
    loss = s.metrics()[0]["train_loss"]
    assert loss <= 0.2
    # and it stopped at the first epoch that got there: one epoch less was above
    s2 = session("data=gaussians&speed=1&lr=0.1")
    for _ in range(s.epoch - 1):
        s2.run_epoch()
    assert s2.metrics()[0]["train_loss"] > 0.2


@pytest.mark.parametrize("query, fragment", [
    ("maxepochs=-1", "maxepochs must be between 0 and"),
    ("targetloss=-0.5", "targetloss must be between 0 and"),
    ("hide=lr,volume", "hide must be one of"),
    ("lesson=" + "a" * 601, "lesson: at most 600 characters, got 601"),
])
def test_stop_and_classroom_settings_are_checked(query, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Config.from_query(query)


def test_the_classroom_keys_round_trip_in_canonical_order():
    config = Config.from_query("hide=lr,data,lr&lesson=Why%20do%20the%20units%20agree%3F")
    assert config.hide == ("data", "lr") and config.lesson == "Why do the units agree?"
    assert Config.from_query(config.to_query()) == config
    assert set(HIDEABLE) >= {"lr", "opt", "data", "problem", "inspector", "edit"}


# -- the confusion matrix --------------------------------------------------------------------
def test_the_confusion_matrix_counts_every_row_as_the_accuracy_does():
    for query in ("data=xor&speed=2", "data=blobs&speed=2"):
        s = session(query)
        s.advance(time_limit=10)
        frame = s.frame()
        for rows, X, Y, score in (("train", s.X_train, s.Y_train, frame["train_score"]),
                                  ("test", s.X_test, s.Y_test, frame["test_score"])):
            counts = np.array(frame["confusion"][rows])
            assert counts.sum() == len(X)
            assert np.trace(counts) / counts.sum() == pytest.approx(score, abs=1e-12)
            # rows are the true classes
            true = (Y[:, 0] > 0.5).astype(int) if Y.shape[1] == 1 else Y.argmax(axis=1)
            assert counts.sum(axis=1).tolist() == np.bincount(true, minlength=len(counts)).tolist()
        P = s.network.output(s.X_train)
        predicted = (P[:, 0] > 0.5).astype(int) if P.shape[1] == 1 else P.argmax(axis=1)
        assert np.array(frame["confusion"]["train"]).sum(axis=0).tolist() == \
            np.bincount(predicted, minlength=len(s.data.classes)).tolist()
    assert session("data=bumps").frame()["confusion"] is None


# -- weights edited by hand ------------------------------------------------------------------
def test_an_edited_weight_is_where_the_inspector_next_step_starts():
    s = session("hidden=3&lr=0.1")
    s.run_epoch()
    row = int(s.data.train[3])
    s.inspect(row)
    old = s.edit(1, 2, 1.75, source=0)  # W¹[0, 2]: from x₁ to the third unit
    assert old == s.edits[0][2] and s.edits[0][1] == "W¹[0, 2]"
    assert s.edit(2, 0, -0.5) == pytest.approx(s.edits[1][2])  # the output's bias
    record = s.inspect(row)
    first, second = record["layers"]
    assert first["W"][0][2] == 1.75 and second["b"] == [-0.5]
    # the forward pass the inspector shows is computed from the edited weights
    x = np.array(first["A_prev"])
    W1 = s.blocks[0].dense.W
    assert W1[0, 2] == 1.75
    assert np.allclose(first["Z"], x @ W1 + s.blocks[0].dense.b, rtol=1e-4)
    # and taking the step moves the edited weight by the update shown
    s.apply_inspected()
    assert s.blocks[0].dense.W[0, 2] == pytest.approx(1.75 + first["delta_W"][0][2], rel=1e-4)
    assert "set by hand" in snippet(s)
    assert model_bytes(s)  # the model file carries the edited weights


@pytest.mark.parametrize("args, fragment", [
    ((3, 0, 1.0), "layer must be 1 to 2"),
    ((1, 4, 1.0), "layer 1 has units 0 to 2, got 4"),
    ((1, 0, 1.0, 5), "layer 1 has inputs 0 to 1, got source 5"),
    ((1, 0, float("nan")), "finite number"),
    ((1, 0, "abc"), "must be whole numbers and value a number"),
])
def test_an_edit_out_of_range_is_refused_with_its_range(args, fragment):
    s = session("hidden=3")
    before = [p.copy() for p in s.network.parameters()]
    with pytest.raises(ValueError, match=fragment):
        s.edit(*args)
    assert all(np.array_equal(a, b) for a, b in zip(before, s.network.parameters()))


def test_with_batch_norm_a_hidden_bias_cannot_be_edited():
    with pytest.raises(ValueError, match="no bias"):
        session("batchnorm=1&hidden=3").edit(1, 0, 0.5)


# -- λ_max against 2/η -----------------------------------------------------------------------
def test_sharpness_is_the_curvature_module_on_the_training_rows():
    s = session("data=xor&batch=full&lr=0.3&hidden=4")
    for _ in range(5):
        s.run_epoch()
    entry = s.measure_sharpness()
    reference = sharpness(s.network, s.X_train, s.Y_train, iterations=500, tol=1e-10).value
    # power iteration stopped at a relative change of 1e-3: well within 1 % of the top
    assert entry["value"] == pytest.approx(reference, rel=1e-2)
    assert entry["threshold"] == pytest.approx(2 / 0.3) and entry["epoch"] == 5
    assert s.frame()["curvature"] == entry
    assert session("opt=momentum&lr=0.1").threshold() == pytest.approx(3.8 / 0.1)
    assert session("opt=adam").threshold() is None
    assert session("dropout=0.2").measure_sharpness() is None


def test_playing_measures_sharpness_now_and_then_not_every_update(monkeypatch):
    from glassnet.playground import session as module

    clock = [0.0]  # a clock that moves 1/8 s per screen update (exact in binary), on any machine
    monkeypatch.setattr(module.time, "perf_counter", lambda: clock[0])
    s = session("speed=1")
    for _ in range(30):
        s.advance()
        clock[0] += 0.125
    # at 0 s, then every SHARPNESS_EVERY = 0.25 s, so every 2nd update of the 30
    assert [e["epoch"] for e in s.curvature] == list(range(1, 31, 2))
    # and where play stops, so the curve ends at the last epoch
    stopping = session("speed=1&maxepochs=4")
    for _ in range(4):
        stopping.advance()
    assert [e["epoch"] for e in stopping.curvature] == [1, 4]
    off = session("speed=1&sharpness=0")
    for _ in range(5):
        off.advance()
    assert off.curvature == []
    # measuring leaves the run exactly where it was (its own seed, no training state)
    a, b = session("speed=1"), session("speed=1&sharpness=0")
    for _ in range(3):
        a.advance(time_limit=10), b.advance(time_limit=10)
    assert all(np.array_equal(x, y) for x, y in zip(a.network.parameters(),
                                                    b.network.parameters()))


@pytest.mark.parametrize("make", [make_blobs, make_plane])
def test_the_new_generators_are_seeded_and_check_their_input(make):
    X, y = make(101, seed=3)
    X2, y2 = make(101, seed=3)
    assert X.shape == (101, 2) and np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, make(101, seed=4)[0])
    with pytest.raises(ValueError, match="noise must be >= 0"):
        make(10, noise=-1)


# -- the protocol: editing by hand, and play pausing at the stop -----------------------------
def test_the_protocol_edits_a_weight_and_answers_with_the_inspectors_next_step():
    from glassnet.playground.protocol import Protocol, UploadStore

    store = UploadStore()
    try:
        protocol = Protocol(store)
        protocol.handle({"type": "hello", "query": "data=xor&hidden=3"})
        row = int(protocol.session.data.train[0])
        protocol.handle({"type": "inspect", "row": row})
        answer = protocol.handle({"type": "edit", "layer": 1, "unit": 2, "source": 0,
                                  "value": 0.75})
        assert [m["type"] for m in answer] == ["frame", "inspect"]
        assert answer[0]["weights"][0][0][2] == 0.75 and answer[0]["edits"] == 1
        assert answer[1]["row"] == row and answer[1]["layers"][0]["W"][0][2] == 0.75
        bias = protocol.handle({"type": "edit", "layer": 2, "unit": 0, "source": None,
                                "value": -1})
        assert bias[0]["biases"][1] == [-1.0]
        for bad, fragment in (({"layer": "1", "unit": 0, "value": 1}, "'layer' must be"),
                              ({"layer": 1, "unit": 0, "value": True}, "'value' must be"),
                              ({"layer": 1, "unit": 9, "value": 1}, "has units 0 to 2")):
            answer = protocol.handle({"type": "edit", **bad})
            assert answer[0]["type"] == "error" and fragment in answer[0]["message"]
    finally:
        store.close()


def test_the_protocol_pauses_play_at_the_stop_condition():
    from glassnet.playground.protocol import Protocol, UploadStore

    store = UploadStore()
    try:
        protocol = Protocol(store, frame_time=10)
        protocol.handle({"type": "hello", "query": "data=xor&maxepochs=3&speed=2"})
        protocol.handle({"type": "play"})
        first = protocol.next_frame()
        assert [m["type"] for m in first] == ["frame"] and first[0]["epoch"] == 2
        last = protocol.next_frame()
        assert last[0]["epoch"] == 3 and "after 3 epochs" in last[0]["stop"]
        assert last[1] == {"type": "state", "playing": False} and not protocol.wants_frame()
    finally:
        store.close()


@pytest.mark.parametrize("query", ["data=blobs&hidden=5&opt=adam&lr=0.01",
                                   "data=plane&hidden=3&batch=full&lr=0.1",
                                   "data=xor&init=zeros&act=sigmoid&hidden=4&lr=0.3"])
def test_the_snippet_reproduces_the_new_toys_and_the_zero_initialiser(query):
    s = session(query)
    for _ in range(4):
        s.run_epoch()
    namespace = {}
    exec(compile(snippet(s), "playground_run.py", "exec"), namespace)  # noqa: S102 - the point
    assert all(np.array_equal(a, b) for a, b in zip(namespace["net"].parameters(),
                                                    s.network.parameters()))
