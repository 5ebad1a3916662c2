import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from glassnet.activations import ACTIVATIONS, LeakyReLU, Sigmoid, Softmax, get_activation

ELEMENTWISE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "exp"]


def test_sigmoid_is_stable_at_extremes():
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = Sigmoid().forward(z)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    # tiny probabilities keep full relative precision (no 1 - (1 - tiny))
    assert s[1] == pytest.approx(np.exp(-40.0) / (1 + np.exp(-40.0)), rel=1e-14)


def test_softmax_rows_sum_to_one_and_survive_huge_logits():
    Z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = Softmax().forward(Z)
    np.testing.assert_allclose(A.sum(axis=1), 1.0)
    np.testing.assert_allclose(A[0], [1.0, 0.0, 0.0])
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(A[1], e / e.sum())


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_backward_matches_finite_differences(name, rng):
    act = get_activation(name)
    Z = rng.normal(size=(6, 4))
    Z[np.abs(Z) < 1e-3] = 0.5  # keep away from the ReLU kink
    dA = rng.normal(size=Z.shape)
    A = act.forward(Z)
    analytic = act.backward(dA, A)
    h = 1e-6
    numeric = dA * (act.forward(Z + h) - act.forward(Z - h)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_softmax_backward_matches_jacobian(rng):
    Z = rng.normal(size=(3, 4))
    dA = rng.normal(size=Z.shape)
    act = Softmax()
    A = act.forward(Z)
    for i in range(3):
        J = np.diag(A[i]) - np.outer(A[i], A[i])  # ∂a_k/∂z_j = a_k(δ_kj − a_j)
        np.testing.assert_allclose(act.backward(dA, A)[i], J.T @ dA[i], atol=1e-12)


def test_forward_in_place_matches_out_of_place(rng):
    for name in ELEMENTWISE + ["softmax"]:
        act = get_activation(name)
        Z = rng.normal(size=(5, 3))
        expected = act.forward(Z.copy())
        buffer = Z.copy()
        assert act.forward(buffer, out=buffer) is buffer
        np.testing.assert_allclose(buffer, expected)


@pytest.mark.parametrize("order", ["C", "F"])
def test_backward_into_a_buffer_or_in_place_matches_a_fresh_array(rng, order):
    for name in ELEMENTWISE + ["softmax"]:
        act = get_activation(name)
        A = act.forward(rng.normal(size=(6, 4)))
        A[0, 0] = 0.0 if name == "relu" else A[0, 0]  # ReLU's kink: derivative 0
        dA = np.asarray(rng.normal(size=(6, 4)), order=order)
        expected = act.backward(dA.copy(order="K"), A)
        into = np.empty_like(dA)
        assert act.backward(dA, A, out=into) is into
        np.testing.assert_array_equal(into, expected)
        in_place = dA.copy(order=order)
        np.testing.assert_array_equal(act.backward(in_place, A, out=in_place), expected)


def test_float32_stays_float32(rng):
    Z = rng.normal(size=(4, 3)).astype(np.float32)
    for name in ELEMENTWISE + ["softmax"]:
        act = get_activation(name)
        A = act.forward(Z)
        assert A.dtype == np.float32, name
        assert act.backward(Z, A).dtype == np.float32, name


def test_leaky_relu_slope():
    act = get_activation({"name": "leaky_relu", "slope": 0.2})
    np.testing.assert_allclose(act.forward(np.array([-2.0, 3.0])), [-0.4, 3.0])
    np.testing.assert_allclose(act.backward(np.ones(2), act.forward(np.array([-2.0, 3.0]))),
                               [0.2, 1.0])
    with pytest.raises(ValueError, match="slope"):
        LeakyReLU(1.5)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu"):
        get_activation("swish")


def test_names_resolve():
    assert get_activation("logistic") == get_activation("sigmoid")
    assert set(ELEMENTWISE) <= set(ACTIVATIONS)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (3, 4), elements=st.floats(-1e300, 1e300)))
def test_sigmoid_and_softmax_never_overflow(Z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = Sigmoid().forward(Z)
        p = Softmax().forward(Z)
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1.0)
