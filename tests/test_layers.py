"""The dense layer on its own: forward, backward against finite differences, memory sharing."""

import pickle

import numpy as np
import pytest

import glassnet as gn
from glassnet.gradcheck import numerical_gradient


@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu", "leaky_relu",
                                        "softmax"])
def test_forward_is_f_of_XW_plus_b(rng, activation):
    layer = gn.Dense(4, 3, activation=activation, rng=0)
    layer.b[:] = rng.normal(size=3)
    X = rng.normal(size=(5, 4))
    Z = X @ layer.W + layer.b
    expected = {"identity": Z, "sigmoid": 1 / (1 + np.exp(-Z)), "tanh": np.tanh(Z),
                "relu": np.maximum(Z, 0), "leaky_relu": np.where(Z > 0, Z, 0.01 * Z),
                "softmax": np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)}[activation]
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.apply(X), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softmax"])
def test_backward_matches_finite_differences(rng, activation):
    """For L = Σ G ⊙ A, dA = G: backward must give ∂L/∂W, ∂L/∂b and ∂L/∂X."""
    layer = gn.Dense(3, 4, activation=activation, rng=1)
    layer.b[:] = rng.normal(size=4)
    X = rng.normal(size=(6, 3))
    G = rng.normal(size=(6, 4))

    def loss():
        return float(np.sum(G * layer.apply(X)))

    layer.forward(X)
    dX = layer.backward(G.copy())
    np.testing.assert_allclose(layer.dW, numerical_gradient(loss, layer.W), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(layer.db, numerical_gradient(loss, layer.b), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=1e-6, atol=1e-8)


def test_backward_from_dZ_is_the_three_formulas(rng):
    layer = gn.Dense(5, 1, activation="identity", rng=0)  # one unit: the outer-product path
    X = rng.normal(size=(7, 5))
    dZ = rng.normal(size=(7, 1))
    layer.forward(X)
    dX = layer.backward_from_dZ(dZ)
    np.testing.assert_allclose(layer.dW, X.T @ dZ, rtol=1e-12)
    np.testing.assert_allclose(layer.db, dZ.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(dX, dZ @ layer.W.T, rtol=1e-12)
    assert layer.backward_from_dZ(dZ, need_input_gradient=False) is None


def test_forward_reuses_its_buffer_apply_does_not(rng):
    layer = gn.Dense(2, 3, rng=0)
    X = rng.normal(size=(4, 2))
    first = layer.forward(X)
    again = layer.forward(X + 1.0)
    assert first is again  # the documented reuse: valid until the next forward
    assert layer.apply(X) is not layer.apply(X)


def test_from_arrays_shares_memory_and_skips_gradients():
    W, b = np.ones((2, 3)), np.zeros(3)
    layer = gn.Dense.from_arrays(W, b, "relu")
    layer.W += 1.0
    assert W[0, 0] == 2.0 and layer.parameters()[0] is W
    assert gn.Dense.from_arrays(W, b, gradients=False).dW is None


def test_no_bias_layer_has_only_W():
    layer = gn.Dense(3, 2, bias=False, rng=0)
    assert layer.b is None and len(layer.parameters()) == len(layer.gradients()) == 1
    assert "bias=False" in repr(layer)


def test_sparse_input_gives_the_dense_results(rng):
    sp = pytest.importorskip("scipy.sparse")
    X = rng.normal(size=(6, 4)) * (rng.random((6, 4)) > 0.5)
    dense, sparse = gn.Dense(4, 3, rng=0), gn.Dense(4, 3, rng=0)
    np.testing.assert_allclose(sparse.forward(sp.csr_matrix(X)), dense.forward(X), rtol=1e-12)
    dA = rng.normal(size=(6, 3))
    dense.backward(dA.copy())
    sparse.backward(dA.copy())
    np.testing.assert_allclose(sparse.dW, dense.dW, rtol=1e-12)


def test_astype_float32_and_pickle_drops_scratch(rng):
    layer = gn.Dense(3, 2, rng=0).astype(np.float32)
    assert layer.W.dtype == layer.dW.dtype == layer.b.dtype == np.float32
    layer.forward(rng.normal(size=(4, 3)).astype(np.float32))
    restored = pickle.loads(pickle.dumps(layer))
    assert restored.A is None and restored._buffers == {}
    np.testing.assert_array_equal(restored.W, layer.W)


@pytest.mark.parametrize("kwargs,match", [
    ({"n_inputs": 0, "n_units": 2}, "n_inputs must be a positive integer"),
    ({"n_inputs": 2, "n_units": 1.5}, "n_units must be a positive integer"),
    ({"n_inputs": 2, "n_units": 2, "dtype": np.int64}, "dtype must be float32 or float64"),
    ({"n_inputs": 2, "n_units": 2, "activation": "swish"}, "unknown activation"),
])
def test_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gn.Dense(**kwargs)
