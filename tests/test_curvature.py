import numpy as np
import pytest

import glassnet as gn
from glassnet.curvature import hessian_vector_product, largest_eigenvalue, sharpness


def small_problem(output, hidden=("tanh", "sigmoid"), alpha=0.3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 4))
    y = {"sigmoid": rng.integers(0, 2, 30), "softmax": rng.integers(0, 3, 30),
         "identity": rng.normal(size=(30, 2))}[output]
    k = {"sigmoid": 1, "softmax": 3, "identity": 2}[output]
    net = gn.Network.from_sizes([4, 6, 5, k], activation=list(hidden), output_activation=output,
                                alpha=alpha, seed=seed)
    for layer in net.layers:
        layer.b[:] = rng.normal(scale=0.3, size=layer.b.shape)
    return net, X, y, rng.uniform(0.5, 2.0, 30)


@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
@pytest.mark.parametrize("hidden", [("tanh", "sigmoid"), ("relu", "leaky_relu")])
def test_exact_hessian_vector_product_matches_torch(output, hidden):
    torch = pytest.importorskip("torch")
    net, X, y, w = small_problem(output, hidden)
    Xc, Yc, wc = net.check_data(X, y, w)
    rng = np.random.default_rng(2)
    v = [rng.normal(size=p.shape) for p in net.parameters()]
    ours = hessian_vector_product(net, X, y, v, w)

    params = [torch.tensor(p, requires_grad=True) for p in net.parameters()]
    Xt, Yt, wt = (torch.tensor(a) for a in (Xc, Yc, wc))

    def loss(*theta):
        A = Xt
        for i, layer in enumerate(net.layers):
            Z = A @ theta[2 * i] + theta[2 * i + 1]
            name = layer.activation.name
            A = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
                 "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
                 "softmax": lambda z: torch.softmax(z, dim=1),
                 "identity": lambda z: z}[name](Z)
        if output == "sigmoid":
            rows = -(Yt * torch.log(A) + (1 - Yt) * torch.log(1 - A)).sum(1)
            value = (wt * rows).sum() / wt.sum()
        elif output == "softmax":
            value = (wt * -(Yt * torch.log(A)).sum(1)).sum() / wt.sum()
        else:
            value = (wt * ((A - Yt) ** 2).sum(1)).sum() / wt.sum() / Yt.shape[1]
        penalty = sum((theta[2 * i] ** 2).sum() for i in range(len(net.layers)))
        return value + 0.5 * net.alpha * penalty / wt.sum()

    _, expected = torch.autograd.functional.hvp(loss, tuple(params),
                                               tuple(torch.tensor(d) for d in v))
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-8, atol=1e-11)


def test_exact_and_finite_difference_agree_on_a_smooth_network():
    net, X, y, w = small_problem("sigmoid")
    before = net.get_weights()
    v = [np.random.default_rng(3).normal(size=p.shape) for p in net.parameters()]
    exact = hessian_vector_product(net, X, y, v, w)
    numeric = hessian_vector_product(net, X, y, v, w, method="finite_difference")
    for a, b in zip(exact, numeric):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)
    for p, q in zip(before, net.get_weights()):
        np.testing.assert_array_equal(p, q)  # weights left as they were


def test_sharpness_is_the_top_eigenvalue_of_the_hessian():
    net, X, y, _ = small_problem("sigmoid", alpha=0.0)
    like = net.parameters()
    n = sum(p.size for p in like)
    columns = []
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        parts, start = [], 0
        for p in like:
            parts.append(e[start:start + p.size].reshape(p.shape))
            start += p.size
        columns.append(np.concatenate([h.ravel() for h in
                                       hessian_vector_product(net, X, y, parts)]))
    H = np.array(columns).T
    np.testing.assert_allclose(H, H.T, atol=1e-12)  # a Hessian is symmetric
    result = sharpness(net, X, y, iterations=2000, tol=1e-12)
    assert result.value == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-6)
    assert result.stable_rate == pytest.approx(2 / result.value)
    assert result.converged


def test_largest_eigenvalue_finds_the_positive_top_when_a_negative_one_dominates():
    rng = np.random.default_rng(4)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    H = Q @ np.diag([-5.0, 2.0, 1.0, 0.5, -1.0, 0.1]) @ Q.T
    value, vector, _, converged = largest_eigenvalue(lambda v: H @ v, 6, iterations=5000,
                                                     tol=1e-13)
    assert converged and value == pytest.approx(2.0, rel=1e-8)
    np.testing.assert_allclose(H @ vector, 2.0 * vector, atol=1e-6)


def test_exact_products_refuse_an_unfused_output():
    net = gn.Network.from_sizes([3, 4, 1], output_activation="sigmoid", loss="mse", seed=0)
    X, y = np.ones((5, 3)), np.ones(5)
    with pytest.raises(ValueError, match="finite_difference"):
        hessian_vector_product(net, X, y, net.get_weights())
    assert np.isfinite(sharpness(net, X, y).value)  # falls back to finite differences
