"""Cross-checks against PyTorch autograd and torch.optim (skipped without torch)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.optimizers import get_optimizer

torch = pytest.importorskip("torch")

TORCH_ACT = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
}


def torch_loss(name, z, Y):
    """The same losses as glassnet, written with torch ops."""
    m = Y.shape[0]
    if name == "binary_cross_entropy":
        p = torch.sigmoid(z)
        return -(Y * torch.log(p) + (1 - Y) * torch.log(1 - p)).sum() / m
    if name == "categorical_cross_entropy":
        return -(Y * torch.log_softmax(z, dim=1)).sum() / m
    if name == "mse":
        return torch.nn.functional.mse_loss(z, Y)
    raise AssertionError(name)


HEADS = [("sigmoid", "binary_cross_entropy"), ("softmax", "categorical_cross_entropy"),
         ("identity", "mse")]


@pytest.mark.parametrize("trial", range(12))
def test_gradients_match_torch_autograd(trial):
    rng = np.random.default_rng(100 + trial)
    depth = int(rng.integers(1, 4))
    sizes = [int(rng.integers(2, 8))] + [int(rng.integers(2, 9)) for _ in range(depth)]
    out_act, loss = HEADS[trial % 3]
    k = int(rng.integers(2, 5)) if out_act != "sigmoid" else int(rng.integers(1, 3))
    sizes.append(k)
    hidden = [str(rng.choice(list(TORCH_ACT))) for _ in range(depth)]
    alpha = float(rng.uniform(0, 0.5))
    m = int(rng.integers(5, 40))
    X = rng.normal(size=(m, sizes[0]))
    if loss == "categorical_cross_entropy":
        Y = np.eye(k)[rng.integers(0, k, m)]
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, (m, k)).astype(float)
    else:
        Y = rng.normal(size=(m, k))

    net = gn.Network.from_sizes(sizes, activation=hidden, output_activation=out_act, loss=loss,
                                alpha=alpha, seed=trial)
    for layer in net.layers:
        layer.b[:] = rng.normal(size=layer.b.shape)  # nonzero biases exercise db
    ours = net.loss_and_gradients(X, Y)

    params = [torch.tensor(p, requires_grad=True) for p in net.parameters()]
    A = torch.tensor(X)
    for i, act in enumerate(hidden + [None]):
        z = A @ params[2 * i] + params[2 * i + 1]
        A = TORCH_ACT[act](z) if act else z
    total = torch_loss(loss, A, torch.tensor(Y))
    total = total + 0.5 * alpha / m * sum((params[2 * i] ** 2).sum() for i in range(depth + 1))
    total.backward()

    assert ours == pytest.approx(total.item(), rel=1e-10)
    for name, g, p in zip(net.parameter_names(), net.gradients(), params):
        expected = p.grad.numpy()
        scale = np.abs(expected).max()
        assert np.abs(g - expected).max() <= 1e-10 * max(scale, 1e-300), name


OPTIMIZERS = [
    ("sgd", {"lr": 0.1}, torch.optim.SGD, {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.01}, torch.optim.SGD, {"lr": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, torch.optim.SGD,
     {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("rmsprop", {"lr": 0.01, "rho": 0.9, "eps": 1e-6}, torch.optim.RMSprop,
     {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}),
    ("adam", {"lr": 0.01}, torch.optim.Adam, {"lr": 0.01}),
    ("adam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.1}, torch.optim.Adam,
     {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.05}, torch.optim.AdamW,
     {"lr": 0.01, "weight_decay": 0.05}),
]


@pytest.mark.parametrize("name,ours_kw,torch_cls,torch_kw", OPTIMIZERS)
def test_optimizer_matches_torch_over_20_steps(name, ours_kw, torch_cls, torch_kw):
    rng = np.random.default_rng(7)
    M = rng.normal(size=(6, 4))
    target = rng.normal(size=(6, 3))
    start = [rng.normal(size=(4, 3)), rng.normal(size=3)]

    def grads_of(W, b):  # L = ½‖M·W + b − T‖² + Σ sin(W)
        R = M @ W + b - target
        return [M.T @ R + np.cos(W), R.sum(axis=0)]

    ours = [p.copy() for p in start]
    optimizer = get_optimizer(name, **ours_kw)
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in start]
    toptimizer = torch_cls(tparams, **torch_kw)
    for _ in range(20):
        optimizer.step(ours, grads_of(*ours))
        toptimizer.zero_grad()
        W, b = tparams
        loss = 0.5 * ((torch.tensor(M) @ W + b - torch.tensor(target)) ** 2).sum() + torch.sin(W).sum()
        loss.backward()
        toptimizer.step()
    for p, t in zip(ours, tparams):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-12)
