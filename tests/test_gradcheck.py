import itertools

import numpy as np
import pytest

import glassnet as gn
from glassnet.gradcheck import numerical_gradient

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
# (output activation, loss, target maker)
HEADS = {
    "bce": ("sigmoid", "binary_cross_entropy", lambda r, m: r.integers(0, 2, (m, 2))),
    "cce": ("softmax", "categorical_cross_entropy", lambda r, m: r.integers(0, 3, m)),
    "mse": ("identity", "mse", lambda r, m: r.normal(size=(m, 2))),
    "half_se": ("identity", "half_squared_error", lambda r, m: r.normal(size=(m, 2))),
    "sse": ("sigmoid", "sse", lambda r, m: r.uniform(size=(m, 2))),  # not fused
    "poisson": ("exp", "poisson", lambda r, m: r.poisson(1.5, (m, 2)).astype(float)),
}


@pytest.mark.parametrize("hidden,head,depth",
                         list(itertools.product(HIDDEN, HEADS, [1, 2, 3])))
def test_every_activation_loss_depth(hidden, head, depth):
    rng = np.random.default_rng(depth)
    out_act, loss, make_y = HEADS[head]
    m, n_out = 12, (3 if head == "cce" else 2)
    X = rng.normal(size=(m, 4))
    y = make_y(rng, m)
    sizes = [4] + [5, 4, 3][:depth] + [n_out]
    net = gn.Network.from_sizes(sizes, activation=hidden, output_activation=out_act, loss=loss,
                                init="glorot_normal", alpha=0.05, seed=depth)
    result = gn.gradient_check(net, X, y)
    assert result.names == net.parameter_names()
    assert result.max_relative_error < 1e-6, str(result)


def test_gradient_check_catches_a_wrong_gradient(rng):
    X = rng.normal(size=(8, 3))
    y = rng.integers(0, 2, 8)
    net = gn.Network.from_sizes([3, 4, 1], activation="tanh", seed=0)
    original = net.layers[0].backward_from_dZ

    def broken(dZ, need_input_gradient=True):
        out = original(dZ, need_input_gradient)
        net.layers[0].dW *= 1.01  # a 1 % error in one gradient
        return out

    net.layers[0].backward_from_dZ = broken
    result = gn.gradient_check(net, X, y)
    assert result.as_dict()["W1"] > 1e-3
    assert result.as_dict()["W2"] < 1e-6


def test_sample_weights_in_gradient(rng):
    X = rng.normal(size=(10, 3))
    y = rng.integers(0, 2, 10)
    net = gn.Network.from_sizes([3, 4, 1], activation="relu", alpha=0.1, seed=2)
    result = gn.gradient_check(net, X, y, sample_weight=rng.uniform(0.1, 3, 10))
    assert result.passed(1e-6)


def test_central_beats_one_sided():
    """The docstring's claim: the one-sided error is O(h), the central one O(h²)."""
    x = np.array([0.7])
    f = lambda: float(np.sin(x[0]))
    h = 1e-3
    central = numerical_gradient(f, x, h)[0]
    one_sided = (np.sin(0.7 + h) - np.sin(0.7)) / h
    exact = np.cos(0.7)
    assert abs(central - exact) < 1e-6 < abs(one_sided - exact)
    assert x[0] == 0.7  # restored


def test_table_lists_every_parameter(rng):
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    text = str(gn.gradient_check(net, rng.normal(size=(4, 2)), [0, 1, 1, 0]))
    for name in ("W1", "b1", "W2", "b2"):
        assert name in text
