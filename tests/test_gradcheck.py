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


# -- the check fails only when a gradient is wrong --------------------------------------------
def test_the_floor_is_the_finite_difference_noise_over_the_tolerance():
    from glassnet.gradcheck import NOISE_ULPS

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 2)), rng.integers(0, 2, 6)
    net = gn.Network.from_sizes([2, 3, 1], activation="tanh", seed=0)
    check = gn.gradient_check(net, X, y, tolerance=1e-6)
    loss = net.loss_and_gradients(*net.check_data(X, y)[:2])
    sigma = NOISE_ULPS * np.finfo(np.float64).eps * loss / 1e-6
    assert check.floors[1] == pytest.approx(np.sqrt(3) * sigma / 1e-6)  # b1: 3 entries


def test_a_zero_gradient_with_rounding_in_its_numeric_value_passes():
    """XOR's output bias: the analytic gradient is exactly 0 at these weights and the
    numeric one 5.6e-11 of rounding; the old floor called it a 5.6e-3 error."""
    pytest.importorskip("click")
    from click.testing import CliRunner

    from glassnet.cli.gradcheck import gradcheck

    for seed in range(6):
        result = CliRunner().invoke(gradcheck, ["xor", "--seed", str(seed)])
        assert result.exit_code == 0, result.output
        assert "all 4 gradients agree" in result.output


def test_a_one_percent_error_in_a_small_gradient_still_fails(rng):
    X = rng.normal(size=(8, 3)) * 0.01  # small inputs: a first-layer gradient near 1e-3
    y = rng.integers(0, 2, 8)
    net = gn.Network.from_sizes([3, 4, 1], activation="tanh", seed=0)
    original = net.layers[0].backward_from_dZ

    def broken(dZ, need_input_gradient=True):
        out = original(dZ, need_input_gradient)
        net.layers[0].dW *= 1.01
        return out

    net.layers[0].backward_from_dZ = broken
    result = gn.gradient_check(net, X, y)
    assert np.linalg.norm(result.analytic[0]) < 1e-2
    assert not result.passed() and result.as_dict()["W1"] > 1e-5


def test_a_step_across_a_relu_kink_is_counted_not_failed():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([0, 1, 1])
    net = gn.Network.from_sizes([2, 2, 1], activation="relu", seed=3)
    dense = net.layers[0]
    dense.W[:] = [[1.0, 0.5], [-0.5, 1.0]]
    dense.b[:] = [-1.0 + 3e-7, 0.2]  # row 0's first unit sits 3e-7 above its kink
    result = gn.gradient_check(net, X, y)
    assert result.kinks[0] >= 1 and result.kinks[1] >= 1  # W1[0, 0] and b1[0] cross it
    assert result.passed(), str(result)
    assert "kink" in str(result)
    # the kinked entry really disagrees: without leaving it out the check would fail
    a, n = result.analytic[1][0], result.numeric[1][0]
    assert abs(a - n) / (abs(a) + abs(n)) > 1e-3


def test_gradcheck_takes_the_data_options_train_takes(tmp_path):
    pytest.importorskip("click")
    from click.testing import CliRunner

    from glassnet.cli.gradcheck import gradcheck

    path = tmp_path / "my.csv"
    path.write_text("a,b,c,y\n1,x,2,0\n2,y,,1\n3,x,4,0\n4,y,5,1\n5,x,1,0\n6,y,2,1\n")
    result = CliRunner().invoke(gradcheck, [str(path), "--one-hot", "--missing", "median",
                                            "--target", "y", "--task", "classification",
                                            "--sep", ","])
    assert result.exit_code == 0, result.output
    # a, c and b one-hot as b_x, b_y: four inputs; row 2's missing c filled
    assert "Network: 4 inputs -> 1 output" in result.output
