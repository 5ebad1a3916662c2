"""Parameters laid end to end in one buffer: the layout, and that the whole-buffer
optimiser step gives exactly the numbers of the per-array one."""

import copy
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.flat import SpanCache, pack, span
from glassnet.optimizers import PRESETS, get_optimizer


def test_pack_copies_into_views_of_one_buffer_and_span_finds_it():
    arrays = [np.arange(6.0).reshape(2, 3), np.arange(3.0), np.ones((4, 1))]
    buffer, views = pack(arrays)
    assert buffer.shape == (13,) and all(np.shares_memory(v, buffer) for v in views)
    assert all(np.array_equal(v, a) for v, a in zip(views, arrays))
    whole = span(views)
    assert whole is not None and whole.shape == (13,)
    whole[0] = 100.0
    assert views[0][0, 0] == 100.0  # the span is the same memory
    assert span(views[1:]).shape == (7,)  # a tail of the buffer is a span too


@pytest.mark.parametrize("arrays", [
    lambda views: [views[0], views[2]],            # a gap
    lambda views: [views[1], views[0]],            # out of order
    lambda views: [views[0].T, views[1]],          # not C-contiguous
    lambda views: [np.zeros((2, 3)), np.zeros(3)],  # separate arrays
    lambda views: [],
])
def test_span_refuses_what_is_not_one_run_of_memory(arrays):
    _, views = pack([np.zeros((2, 3)), np.zeros(3), np.zeros(2)])
    assert span(arrays(views)) is None


def test_pack_refuses_mixed_dtypes():
    with pytest.raises(ValueError, match="one dtype"):
        pack([np.zeros(2), np.zeros(2, np.float32)])


def test_span_cache_recomputes_for_other_arrays():
    cache = SpanCache()
    _, views = pack([np.zeros(2), np.zeros(3)])
    assert cache(views).shape == (5,)
    assert cache([np.zeros(2), np.zeros(3)]) is None
    assert cache(views).shape == (5,)


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("decay", [0.0, 0.01])
@pytest.mark.parametrize("piece_size", [7, 32768])
def test_whole_buffer_step_equals_per_array_step_bit_for_bit(name, decay, piece_size):
    rng = np.random.default_rng(0)
    shapes = [(5, 4), (4,), (4, 3), (3,)]
    start = [rng.standard_normal(s) for s in shapes]
    flat_params = pack(start)[1]
    loose_params = [a.copy() for a in start]
    options = {"weight_decay": decay} if decay else {}
    flat_opt = get_optimizer(name, lr=0.05, **options)
    flat_opt.piece_size = piece_size  # 7: the 39 elements go in six pieces
    loose_opt = get_optimizer(name, lr=0.05, **options)
    for _ in range(5):
        grads = [rng.standard_normal(s) for s in shapes]
        flat_opt.step(flat_params, pack(grads)[1])
        loose_opt.step(loose_params, grads)
    assert flat_opt._flat_state is not None and span(flat_params) is not None
    for a, b in zip(flat_params, loose_params):
        assert np.array_equal(a, b)
    for a, b in zip(flat_opt.state, loose_opt.state):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_copied_optimizer_keeps_its_state_laid_out():
    params = pack([np.zeros((2, 2)), np.zeros(2)])[1]
    optimizer = get_optimizer("adam", lr=0.1)
    optimizer.step(params, pack([np.ones((2, 2)), np.ones(2)])[1])
    for twin in (pickle.loads(pickle.dumps(optimizer)), copy.deepcopy(optimizer)):
        assert np.array_equal(twin.state[0]["m"], optimizer.state[0]["m"])
        assert all(np.shares_memory(s["m"], twin._flat_state["m"]) for s in twin.state)
        twin.step(params, pack([np.ones((2, 2)), np.ones(2)])[1])
        assert twin.t == 2 and twin.state[1]["v"][0] == pytest.approx(0.001 * (1 + 0.999))


def test_networks_and_estimators_lay_out_their_parameters_and_gradients():
    net = gn.Network.from_sizes([4, 6, 3, 1], seed=0)
    assert span(net.parameters()) is not None and span(net.gradients()) is not None
    net.astype(np.float32)
    assert span(net.parameters()).dtype == np.float32 and span(net.gradients()) is not None
    X = np.random.default_rng(0).random((60, 4))
    y = (X[:, 0] > 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = gn.MLPClassifier((6, 3), max_iter=5, random_state=0).fit(X, y)
        params = [a for pair in zip(clf.coefs_, clf.intercepts_) for a in pair]
        assert span(params) is not None
        before = [a.copy() for a in params]
        clf.set_params(warm_start=True).fit(X, y)  # trains on laid-out copies
    assert all(np.array_equal(a, b) for a, b in zip(params, before))
    network = clf.network_
    assert all(layer.W is W for layer, W in zip(network.layers, clf.coefs_))
    assert span(network.parameters()) is not None and span(network.gradients()) is not None


def test_packing_keeps_the_values_and_the_training():
    X = np.random.default_rng(1).random((50, 3))
    y = (X.sum(axis=1) > 1.5).astype(float)
    packed = gn.Network.from_sizes([3, 5, 1], seed=2)
    layers = [gn.Dense(3, 5, rng=np.random.default_rng(0)), gn.Dense(5, 1, "sigmoid")]
    loose = gn.Network(layers)  # built from layers: left as they are
    loose.set_weights(packed.get_weights())
    assert span(loose.parameters()) is None
    gn.train(packed, X, y, optimizer="adam", lr=0.01, epochs=20, batch_size=10, seed=0)
    gn.train(loose, X, y, optimizer="adam", lr=0.01, epochs=20, batch_size=10, seed=0)
    for a, b in zip(packed.parameters(), loose.parameters()):
        assert np.array_equal(a, b)


def test_loaded_and_imported_networks_are_laid_out(tmp_path):
    from glassnet.io import Scaler, load_model, save_model

    old = Path(__file__).parent / "data" / "models-0.1.0" / "binary.glassnet"  # format 1
    network = load_model(old).network
    assert span(network.parameters()) is not None and span(network.gradients()) is not None
    net = gn.Network.from_sizes([2, 4, 1], batch_norm=True, dropout=0.2, seed=0)  # format 2
    scaler = Scaler("standard").fit(np.random.default_rng(0).normal(size=(10, 2)))
    save_model(tmp_path / "m.glassnet", net, scaler,
               {"task": "classification", "classes": ["a", "b"], "feature_names": ["p", "q"]})
    loaded = load_model(tmp_path / "m.glassnet").network
    assert span(loaded.parameters()) is not None
    for a, b in zip(loaded.parameters(), net.parameters()):
        assert np.array_equal(a, b)
    torch = pytest.importorskip("torch")
    from glassnet.interop import from_torch

    sequential = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1))
    assert span(from_torch(sequential, loss="mse").parameters()) is not None


def test_the_state_is_made_anew_for_parameters_of_other_shapes():
    optimizer = get_optimizer("momentum", lr=0.1)
    first = pack([np.zeros((2, 3)), np.zeros(3)])[1]
    optimizer.step(first, pack([np.ones((2, 3)), np.ones(3)])[1])
    other = pack([np.zeros((3, 2)), np.zeros(3)])[1]  # same count, same total size
    optimizer.step(other, pack([np.ones((3, 2)), np.ones(3)])[1])
    assert [s["velocity"].shape for s in optimizer.state] == [(3, 2), (3,)]
    assert np.array_equal(other[0], np.full((3, 2), -0.1))  # v started again at g
