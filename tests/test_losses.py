import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from glassnet.activations import get_activation
from glassnet.losses import LOSSES, get_loss


def test_binary_cross_entropy_value_by_hand():
    Y = np.array([[1.0], [0.0]])
    P = np.array([[0.8], [0.3]])
    expected = -(np.log(0.8) + np.log(0.7)) / 2
    assert get_loss("binary_cross_entropy").value(Y, P) == pytest.approx(expected)


def test_cross_entropy_never_takes_log_of_zero():
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    P = np.array([[0.0, 1.0], [1.0, 0.0]])  # confidently wrong
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("binary_cross_entropy", "categorical_cross_entropy"):
            loss = get_loss(name)
            assert np.isfinite(loss.value(Y, P))
            assert np.all(np.isfinite(loss.gradient(Y, P)))


def test_sse_and_mse_by_hand():
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    P = np.array([[0.1], [0.7], [0.9], [0.2]])
    assert get_loss("sse").value(Y, P) == pytest.approx(0.01 + 0.09 + 0.01 + 0.04)
    assert get_loss("mse").value(Y, P) == pytest.approx((0.01 + 0.09 + 0.01 + 0.04) / 4)
    assert get_loss("half_squared_error").value(Y, P) == pytest.approx(0.15 / 8)


@pytest.mark.parametrize("name", sorted(set(LOSSES) - {"bce", "cross_entropy",
                                                         "mean_squared_error",
                                                         "sum_squared_error",
                                                         "squared_error"}))
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_finite_differences(name, weighted, rng):
    loss = get_loss(name)
    if name == "categorical_cross_entropy":
        Y = np.eye(3)[rng.integers(0, 3, 5)]
        P = get_activation("softmax").forward(rng.normal(size=(5, 3)))
    elif name == "binary_cross_entropy":
        Y = rng.integers(0, 2, (5, 3)).astype(float)
        P = rng.uniform(0.05, 0.95, (5, 3))
    else:
        Y = rng.uniform(0.1, 2, (5, 3))
        P = rng.uniform(0.1, 2, (5, 3))
    w = rng.uniform(0.5, 2, 5) if weighted else None
    analytic = loss.gradient(Y, P, w)
    numeric = np.zeros_like(P)
    h = 1e-6
    for idx in np.ndindex(P.shape):
        plus, minus = P.copy(), P.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (loss.value(Y, plus, w) - loss.value(Y, minus, w)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", ["binary_cross_entropy", "categorical_cross_entropy", "mse",
                                  "half_squared_error", "sse", "poisson"])
def test_fused_delta_equals_chain_rule(name, rng):
    """(Ŷ − Y)·c is exactly dL/dŶ pushed back through the canonical activation."""
    loss = get_loss(name)
    act = get_activation(loss.canonical_activation)
    Z = rng.normal(size=(6, 3))
    A = act.forward(Z)
    if name in ("binary_cross_entropy", "categorical_cross_entropy"):
        Y = (np.eye(3)[rng.integers(0, 3, 6)] if name.startswith("categorical")
             else rng.integers(0, 2, (6, 3)).astype(float))
    else:
        Y = rng.uniform(0.1, 2, (6, 3))
    w = rng.uniform(0.5, 2, 6)
    fused = loss.delta(Y, A, w)
    chained = act.backward(loss.gradient(Y, A, w), A)
    np.testing.assert_allclose(fused, chained, rtol=1e-9, atol=1e-12)


def test_unknown_loss():
    with pytest.raises(ValueError, match="unknown loss 'hinge'.*binary_cross_entropy"):
        get_loss("hinge")


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (4, 1), elements=st.floats(0, 1)),
       arrays(np.int64, (4, 1), elements=st.integers(0, 1)))
def test_bce_finite_for_any_probability(P, Y):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = get_loss("binary_cross_entropy").value(Y.astype(float), P)
    assert np.isfinite(value) and value >= 0
