import numpy as np
import pytest
from _networks import give_trained_statistics

import glassnet as gn
from glassnet.curvature import (
    hessian_eigenvalues,
    hessian_trace,
    hessian_vector_product,
    lanczos,
    largest_eigenvalue,
    sharpness,
    spectral_density,
)


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


# -- the exact Hessian from PyTorch, for any stack of glassnet's layers ----------------
def torch_hessian(net, X, y, w=None):
    """``H`` of ``net``'s loss (L2 included) at its weights and in its mode, from
    ``torch.autograd.functional.hessian`` on a PyTorch copy of the forward pass;
    each dropout layer's mask is the one glassnet's next forward pass draws."""
    torch = pytest.importorskip("torch")
    from glassnet.gradcheck import Replay

    Xc, Yc, wc = net.check_data(X, y, w)
    replay = Replay(net)
    net.forward(Xc)
    masks = [layer.mask.copy() if isinstance(layer, gn.Dropout) and layer.mask is not None
             else None for layer in net.layers]
    replay()
    shapes = [p.shape for p in net.parameters()]
    sizes = [int(np.prod(s)) for s in shapes]
    flat = torch.tensor(np.concatenate([p.ravel() for p in net.parameters()]))
    Xt, Yt = torch.tensor(Xc), torch.tensor(Yc)
    wt = torch.ones(len(Xc), dtype=torch.float64) if wc is None else torch.tensor(wc)
    acts = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
            "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
            "softmax": lambda z: torch.softmax(z, dim=1), "identity": lambda z: z}

    def loss(theta):
        arrays = list(torch.split(theta, sizes))
        arrays = [a.reshape(s) for a, s in zip(arrays, shapes)]
        A, k, penalty = Xt, 0, 0.0
        for layer, mask in zip(net.layers, masks):
            if isinstance(layer, gn.Dense):
                A = A @ arrays[k]
                penalty = penalty + (arrays[k] ** 2).sum()
                if layer.b is not None:
                    A = A + arrays[k + 1]
                A = acts[layer.activation.name](A)
            elif isinstance(layer, gn.BatchNorm):
                if layer.training:
                    mean, var = A.mean(0), A.var(0, unbiased=False)
                else:
                    mean, var = torch.tensor(layer.running_mean), torch.tensor(layer.running_var)
                A = arrays[k] * (A - mean) / torch.sqrt(var + layer.eps) + arrays[k + 1]
            elif isinstance(layer, gn.Dropout):
                if mask is not None:
                    A = A * torch.tensor(mask)
            else:
                A = acts[layer.activation.name](A)
            k += len(layer.parameters())
        name = net.output_activation.name
        if name == "sigmoid":
            rows = -(Yt * torch.log(A) + (1 - Yt) * torch.log(1 - A)).sum(1)
        elif name == "softmax":
            rows = -(Yt * torch.log(A)).sum(1)
        else:
            rows = ((A - Yt) ** 2).sum(1) / Yt.shape[1]
        return (wt * rows).sum() / wt.sum() + 0.5 * net.alpha * penalty / wt.sum()

    return torch.autograd.functional.hessian(loss, flat, vectorize=True).numpy()


def flat_hvp(net, X, y, vector, w=None):
    like = net.parameters()
    parts = np.split(vector, np.cumsum([p.size for p in like])[:-1])
    v = [part.reshape(p.shape) for part, p in zip(parts, like)]
    return np.concatenate([h.ravel() for h in hessian_vector_product(net, X, y, v, w)])


def layered_problem(kind, training, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(24, 4))
    y = rng.integers(0, 3, 24)
    net = gn.Network.from_sizes([4, 6, 5, 3], activation=["tanh", "sigmoid"],
                                output_activation="softmax", alpha=0.2, seed=seed,
                                batch_norm=kind == "batch_norm",
                                dropout=0.3 if kind == "dropout" else 0.0)
    give_trained_statistics(net, rng)
    for layer in net.layers:
        if isinstance(layer, gn.Dense) and layer.b is not None:
            layer.b[:] = rng.normal(scale=0.3, size=layer.b.shape)
    net.train(training)
    return net, X, y, rng.uniform(0.5, 2.0, 24)


@pytest.mark.parametrize("kind", ["batch_norm", "dropout"])
@pytest.mark.parametrize("training", [True, False])
def test_exact_products_through_batch_norm_and_dropout_match_torch(kind, training):
    net, X, y, w = layered_problem(kind, training)
    H = torch_hessian(net, X, y, w)
    state = net.rng.bit_generator.state
    running = [b.copy() for b in net.buffers()]
    rng = np.random.default_rng(6)
    for _ in range(3):
        v = rng.normal(size=len(H))
        # float64 products of O(1) numbers over ~100 terms: rounding ~1e-14 relative,
        # so 1e-9 leaves room on any BLAS and catches any wrong term (those are O(1e-2)+)
        np.testing.assert_allclose(flat_hvp(net, X, y, v, w), H @ v, rtol=1e-9, atol=1e-11)
    assert net.rng.bit_generator.state == state  # the same masks every time, Generator put back
    for b, saved in zip(net.buffers(), running):
        np.testing.assert_array_equal(b, saved)  # running statistics untouched
    if kind == "dropout" and training:  # the mask matters: without it the Hessian differs
        net.eval()
        assert np.abs(flat_hvp(net, X, y, v, w) - H @ v).max() > 1e-3


def test_exact_products_with_batch_norm_agree_with_finite_differences():
    net, X, y, w = layered_problem("batch_norm", True)
    v = [np.random.default_rng(7).normal(size=p.shape) for p in net.parameters()]
    exact = hessian_vector_product(net, X, y, v, w)
    numeric = hessian_vector_product(net, X, y, v, w, method="finite_difference")
    for a, b in zip(exact, numeric):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


# -- the spectrum ------------------------------------------------------------------------
def spectrum_problem(kind="plain"):
    if kind == "plain":
        net, X, y, _ = small_problem("softmax", ("tanh", "relu"), alpha=0.05)
        return net, X, y
    net, X, y, _ = layered_problem(kind, True)
    return net, X, y


@pytest.mark.parametrize("kind", ["plain", "batch_norm", "dropout"])
def test_top_and_bottom_eigenvalues_match_torch(kind):
    net, X, y = spectrum_problem(kind)
    H = torch_hessian(net, X, y)
    exact = np.linalg.eigvalsh(H)  # ascending
    top = hessian_eigenvalues(net, X, y, k=4, which="largest")
    bottom = hessian_eigenvalues(net, X, y, k=3, which="smallest")
    assert top.converged and bottom.converged
    # relative to the spectrum's scale: the residual bound holds against max|λ|
    scale = np.abs(exact).max()
    np.testing.assert_allclose(top.values, exact[::-1][:4], rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(top.values, exact[::-1][:4], rtol=1e-6)
    np.testing.assert_allclose(bottom.values, exact[:3][::-1], rtol=0, atol=1e-6 * scale)
    assert exact[0] < 0 and bottom.values[-1] < 0  # negative curvature is found
    for value, vector in zip(top.values, top.vectors):
        np.testing.assert_allclose(H @ vector, value * vector, atol=1e-5 * scale)
    both = hessian_eigenvalues(net, X, y, k=2, which="both")
    np.testing.assert_allclose(both.values, np.r_[exact[::-1][:2], exact[:2][::-1]], rtol=0,
                               atol=1e-6 * scale)


def test_eigenvalues_agree_with_scipy_and_start_from_a_given_vector():
    eigsh = pytest.importorskip("scipy.sparse.linalg").eigsh
    net, X, y = spectrum_problem()
    H = torch_hessian(net, X, y)
    reference = np.sort(eigsh(H, k=3, which="LA")[0])[::-1]
    result = hessian_eigenvalues(net, X, y, k=3)
    np.testing.assert_allclose(result.values, reference, rtol=1e-6)
    again = hessian_eigenvalues(net, X, y, k=1, start=result.vectors[0])
    assert again.iterations <= 3 and again.values[0] == pytest.approx(reference[0], rel=1e-6)
    with pytest.raises(ValueError, match="which must be"):
        hessian_eigenvalues(net, X, y, which="top")
    with pytest.raises(ValueError, match="start must have"):
        hessian_eigenvalues(net, X, y, start=np.ones(3))


def test_lanczos_keeps_its_basis_orthonormal():
    rng = np.random.default_rng(8)
    Q, _ = np.linalg.qr(rng.normal(size=(200, 200)))
    H = Q @ np.diag(np.r_[1e3, 1e3 - 1e-3, np.linspace(-1, 1, 198)]) @ Q.T
    _, _, basis = lanczos(lambda v: H @ v, rng.normal(size=200), 60)
    # without reorthogonalisation the converged top pair makes QQᵀ drift far from I
    np.testing.assert_allclose(basis @ basis.T, np.eye(60), atol=1e-12)


def test_hutchinson_trace_within_its_stated_error():
    net, X, y = spectrum_problem()
    H = torch_hessian(net, X, y)
    result = hessian_trace(net, X, y, samples=400, seed=3)
    # a 4-standard-error miss has probability 6e-5; a wrong estimator (a missing
    # factor, a product of the wrong operator) misses by many
    assert abs(result.value - np.trace(H)) < 4 * result.standard_error
    off = H - np.diag(np.diag(H))
    predicted = np.sqrt(2 * np.sum(off ** 2) / 400)  # Var[zᵀHz] = 2·Σ_{i≠j} H_ij² (Rademacher)
    assert result.standard_error == pytest.approx(predicted, rel=0.25)
    assert len(result.samples) == 400


def test_spectral_density_has_mass_one_and_the_hessians_support():
    net, X, y = spectrum_problem()
    H = torch_hessian(net, X, y)
    exact = np.linalg.eigvalsh(H)
    n = len(exact)
    result = spectral_density(net, X, y, vectors=3, steps=n, seed=2)
    assert np.trapezoid(result.density, result.grid) == pytest.approx(1.0, abs=1e-6)
    assert np.all(result.density >= 0)
    # with as many steps as parameters the quadrature nodes are H's eigenvalues
    nodes = result.nodes[~np.isnan(result.nodes)]
    assert np.abs(nodes[:, None] - exact[None, :]).min(axis=1).max() < 1e-6 * np.abs(exact).max()
    inside = (result.grid >= exact[0] - 5 * result.sigma) & (result.grid <= exact[-1] + 5 * result.sigma)
    assert np.trapezoid(result.density[~inside], result.grid[~inside]) < 1e-5
    np.testing.assert_allclose(result.weights.sum(axis=1), 1.0, atol=1e-12)
    # few steps: the nodes stay inside [λ_min, λ_max] and the mean, Σ τ·θ, is vᵀHv,
    # whose average over probes estimates tr(H)/n
    short = spectral_density(net, X, y, vectors=200, steps=8, seed=4)
    assert short.nodes.min() >= exact[0] - 1e-9 and short.nodes.max() <= exact[-1] + 1e-9
    means = np.nansum(short.nodes * short.weights, axis=1)
    assert abs(means.mean() - np.trace(H) / n) < 4 * means.std(ddof=1) / np.sqrt(200)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.5, True)])
def test_stability_threshold_is_where_glassnets_sgd_stops_converging(momentum, nesterov):
    """On L = ½·λ·θ², glassnet's own SGD shrinks θ just below the threshold and
    blows it up just above: the line sharpness.png draws is the real one."""
    from glassnet.curvature import stability_threshold
    from glassnet.optimizers import get_optimizer

    lr = 0.1
    edge = float(stability_threshold(lr, momentum, nesterov))
    final = {}
    for factor in (0.98, 1.02):
        curvature = factor * edge
        optimizer = get_optimizer("sgd", lr=lr, momentum=momentum, nesterov=nesterov)
        theta = np.array([1.0])
        for _ in range(3000):
            optimizer.step([theta], [curvature * theta])  # ∂L/∂θ = λ·θ
        final[factor] = abs(theta[0])
    assert final[0.98] < 1e-3 and final[1.02] > 1e3
