"""The network on its own: construction, parameters, the L2 penalty, the batched forward pass."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.training import evaluate


def test_from_sizes_builds_the_layers_and_the_natural_loss():
    net = gn.Network.from_sizes([4, 6, 5, 3], activation=["tanh", "relu"],
                                output_activation="softmax", seed=0)
    assert net.sizes == [4, 6, 5, 3] and net.n_inputs == 4 and net.n_outputs == 3
    assert [layer.activation.name for layer in net.layers] == ["tanh", "relu", "softmax"]
    assert net.loss.name == "categorical_cross_entropy" and net.fused
    assert net.parameter_names() == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [p.shape for p in net.parameters()] == [(4, 6), (6,), (6, 5), (5,), (5, 3), (3,)]
    assert [g.shape for g in net.gradients()] == [p.shape for p in net.parameters()]
    assert gn.Network.from_sizes([2, 1], output_activation="identity").loss.name == "mse"
    with pytest.raises(ValueError, match="activation has 1 entries but the network needs 2"):
        gn.Network.from_sizes([2, 3, 3, 1], activation=["relu"])
    with pytest.raises(ValueError, match="no default loss for output activation 'tanh'"):
        gn.Network.from_sizes([2, 1], output_activation="tanh")


def test_same_seed_same_weights_and_get_set_copy():
    a, b = gn.Network.from_sizes([3, 4, 1], seed=7), gn.Network.from_sizes([3, 4, 1], seed=7)
    assert all(np.array_equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    saved = a.get_weights()
    a.parameters()[0][0, 0] += 1.0
    assert saved[0][0, 0] != a.parameters()[0][0, 0]  # get_weights copies
    a.set_weights(saved)
    assert a.parameters()[0][0, 0] == saved[0][0, 0]
    with pytest.raises(ValueError, match=r"W1: expected shape \(3, 4\), got \(4, 3\)"):
        a.set_weights([saved[0].T, *saved[1:]])
    with pytest.raises(ValueError, match="expected 4 arrays, got 3"):
        a.set_weights(saved[:3])


def test_l2_penalty_value_and_gradient(rng):
    """L = loss + α/(2N)·Σ‖W‖² (biases excluded), and dW gains (α/N)·W."""
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)
    w = rng.uniform(0.5, 2.0, 10)
    plain = gn.Network.from_sizes([3, 4, 1], seed=0)
    penalised = gn.Network.from_sizes([3, 4, 1], seed=0, alpha=0.3)
    squares = sum(float(np.sum(layer.W ** 2)) for layer in plain.layers)
    for weights, N in ((None, 10), (w, w.sum())):
        expected = plain.compute_loss(X, y, weights) + 0.3 * squares / (2 * N)
        assert penalised.compute_loss(X, y, weights) == pytest.approx(expected, rel=1e-12)
    Xc, Yc, _ = plain.check_data(X, y)
    plain.loss_and_gradients(Xc, Yc)
    penalised.loss_and_gradients(Xc, Yc)
    for a, b in zip(plain.layers, penalised.layers):
        np.testing.assert_allclose(b.dW, a.dW + 0.3 / 10 * a.W, rtol=1e-12)
        np.testing.assert_allclose(b.db, a.db, rtol=1e-12)


@pytest.mark.parametrize("output,loss", [("sigmoid", None), ("softmax", None),
                                         ("identity", "half_squared_error")])
def test_forward_many_is_forward_at_each_setting(rng, output, loss):
    net = gn.Network.from_sizes([3, 5, 2], output_activation=output, loss=loss, alpha=0.1,
                                seed=0)
    X = rng.normal(size=(8, 3))
    Y = np.eye(2)[rng.integers(0, 2, 8)] if output != "identity" else rng.normal(size=(8, 2))
    settings = [[p + rng.normal(scale=0.1, size=p.shape) for p in net.parameters()]
                for _ in range(4)]
    stacked = [np.stack(arrays) for arrays in zip(*settings)]
    before = net.get_weights()
    outputs = net.forward_many(X, stacked)
    losses, scores = evaluate(net, X, Y, weights=stacked, max_elements=40)  # several chunks
    assert all(np.array_equal(p, q) for p, q in zip(before, net.parameters()))
    for j, weights in enumerate(settings):
        net.set_weights(weights)
        np.testing.assert_allclose(outputs[j], net.output(X), rtol=1e-12)
        loss_j, score_j = evaluate(net, X, Y)
        assert losses[j] == pytest.approx(loss_j, rel=1e-12)
        assert scores[j] == pytest.approx(score_j, rel=1e-12)


def test_predict_shapes_and_labels(rng):
    X = rng.normal(size=(6, 2))
    assert gn.Network.from_sizes([2, 3], output_activation="softmax", seed=0).predict(X).shape \
        == (6,)
    multilabel = gn.Network.from_sizes([2, 3], output_activation="sigmoid", seed=0).predict(X)
    assert multilabel.shape == (6, 3) and set(np.unique(multilabel)) <= {0, 1}
    regression = gn.Network.from_sizes([2, 1], output_activation="identity", seed=0)
    np.testing.assert_allclose(regression.predict(X), regression.output(X).ravel())


@pytest.mark.parametrize("y,weights,match", [
    (np.array([0, 1, 3, 1]), None, r"class labels must be in 0\.\.2.*from 0 to 3"),
    (np.array([0, 1, 2, 1]), np.array([1.0, -1.0, 1.0, 1.0]), "sample_weight must be >= 0"),
    (np.array([0, 1, 2, 1]), np.ones(3), r"sample_weight must have shape \(4,\)"),
    (np.array([0.5, 1, 2, 1]), None, "class labels for a softmax output must be integers"),
])
def test_check_data_names_the_problem(y, weights, match):
    net = gn.Network.from_sizes([2, 3], output_activation="softmax", seed=0)
    with pytest.raises(ValueError, match=match):
        net.check_data(np.zeros((4, 2)), y, weights)


def test_astype_converts_every_layer(rng):
    net = gn.Network.from_sizes([2, 3, 1], seed=0).astype(np.float32)
    assert net.dtype == np.float32 and all(p.dtype == np.float32 for p in net.parameters())
    assert net.output(rng.normal(size=(3, 2))).dtype == np.float32
    with pytest.raises(ValueError, match="all layers must share one dtype"):
        gn.Network([gn.Dense(2, 2), gn.Dense(2, 1, activation="sigmoid", dtype=np.float32)])
