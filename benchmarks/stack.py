"""Many networks at once: glassnet's stacks against one-at-a-time, scikit-learn and torch.func.

    python benchmarks/stack.py            # several minutes on 2 cores
    python benchmarks/stack.py --quick    # seconds: keeps the script working in CI

Four measurements, each contestant in this process, the order rotated from
round to round (median of the rounds):

1. **The grid**: 24 configurations (learning rate x alpha x momentum) x 3
   folds of the Wisconsin 9-15-1 network, full-batch SGD, 1000 epochs (no
   early stop: ``tol=0``, ``n_iter_no_change=max_iter``), standardised inside
   each fold: ``glassnet.search.make_search`` with stacks, the same without
   (one fit at a time), scikit-learn's ``GridSearchCV`` over its
   ``MLPClassifier``, and PyTorch: the 24 networks of each fold as one model
   batched with ``torch.func.vmap`` over ``functional_call`` (``grad`` of
   each member's loss, the momentum update on the stacked tensors). With
   ``n_jobs=1`` and ``n_jobs=2`` for the searches.
2. **A random search** of 40 configurations of the heart network (13-8-1,
   Adam, full batch, 300 epochs, learning rate and alpha log-uniform), 3
   folds: the same contestants with ``RandomizedSearchCV``.
3. **64 tutorial networks**: the XOR network (3-4-1, sigmoid, summed squared
   error, no biases) trained 64 times: one at a time with ``glassnet.train``,
   as one stack (``glassnet.stack.train_together``, each its own rate), and
   as one ``torch.func.vmap`` model; network-steps per second.
4. **One MNIST-shaped network** (784-128-10, mini-batches of 128): the
   single-network loop is untouched by the stack (a separate path), timed
   here against the same loop from the main branch's checkout when
   ``--main PATH`` is given.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import subprocess
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import cpu_name, table
from bench import rotated_medians

import glassnet as gn


def quiet(function):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return function()
    return run


# -- the searches -------------------------------------------------------------------------
def searches(X, y, space, model_settings, sk_settings, n_iter, cv, n_jobs, random_state=0):
    """Callables for each contestant's search over ``space``."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.pipeline import make_pipeline as sk_pipeline
    from sklearn.preprocessing import StandardScaler

    from glassnet.search import is_grid, make_pipeline, make_search

    grid = is_grid(space)

    def ours(stack):
        model = gn.MLPClassifier(**model_settings)
        search = make_search(make_pipeline(model), space, n_iter=n_iter, cv=cv, n_jobs=n_jobs,
                             refit=False, stack=stack, random_state=random_state)
        return lambda: search.fit(X, y)

    def scikit():
        pipe = sk_pipeline(StandardScaler(), SkMLP(**sk_settings))
        sk_space = {f"mlpclassifier__{k}": v for k, v in space.items()}
        if grid:
            search = GridSearchCV(pipe, sk_space, cv=cv, n_jobs=n_jobs, refit=False)
        else:
            search = RandomizedSearchCV(pipe, sk_space, n_iter=n_iter, cv=cv, n_jobs=n_jobs,
                                        refit=False, random_state=random_state)
        return lambda: search.fit(X, y)

    return {"glassnet, stacked": quiet(ours(True)), "glassnet, one at a time": quiet(ours(False)),
            "scikit-learn": quiet(scikit())}


def torch_vmap(X, y, configs, folds, sizes, epochs, optimizer):
    """One ``torch.func.vmap`` model per fold holding every configuration's network
    (float64, full batch): ``grad`` of each member's loss (BCE plus glassnet's L2
    ``α/(2m)·Σ‖W‖²``) through ``functional_call``, then each member's SGD-momentum
    or Adam update on the stacked tensors."""
    import torch
    from torch.func import functional_call, grad, stack_module_state, vmap

    torch.set_num_threads(1)

    def make(seed):
        torch.manual_seed(seed)
        layers = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            layers.append(torch.nn.Linear(a, b, dtype=torch.float64))
            layers.append(torch.nn.ReLU() if i < len(sizes) - 2 else torch.nn.Sigmoid())
        return torch.nn.Sequential(*layers)

    base = make(0).to("meta")
    K = len(configs)
    lr = torch.tensor([c["learning_rate_init"] for c in configs], dtype=torch.float64)
    alpha = torch.tensor([c["alpha"] for c in configs], dtype=torch.float64)
    momentum = torch.tensor([c.get("momentum", 0.0) for c in configs], dtype=torch.float64)

    def run():
        for train, _ in folds:
            Xf = X[train]
            Xf = (Xf - Xf.mean(axis=0)) / np.where(Xf.std(axis=0) > 0, Xf.std(axis=0), 1)
            Xt = torch.from_numpy(Xf)
            yt = torch.from_numpy(y[train].astype(np.float64))[:, None]
            params, _ = stack_module_state([make(k) for k in range(K)])
            params = {k: v.detach() for k, v in params.items()}
            m = len(Xt)

            def loss(p, a, Xt=Xt, yt=yt, m=m):
                out = functional_call(base, p, (Xt,))
                bce = torch.nn.functional.binary_cross_entropy(out, yt)
                l2 = sum((w ** 2).sum() for name, w in p.items() if name.endswith("weight"))
                return bce + a / (2 * m) * l2  # glassnet's L2 α/(2m)·Σ‖W‖²

            gradients = vmap(grad(loss), in_dims=(0, 0))
            state = {k: torch.zeros_like(v) for k, v in params.items()}
            second = {k: torch.zeros_like(v) for k, v in params.items()}
            for t in range(1, epochs + 1):
                g = gradients(params, alpha)
                for name, p in params.items():
                    shape = (K,) + (1,) * (p.dim() - 1)
                    if optimizer == "sgd":
                        v = state[name]
                        v.mul_(momentum.view(shape)).add_(g[name])  # v ← μ·v + g
                        p.sub_(lr.view(shape) * v)
                    else:  # Adam
                        m1, v2 = state[name], second[name]
                        m1.mul_(0.9).add_(0.1 * g[name])
                        v2.mul_(0.999).add_(0.001 * g[name] ** 2)
                        step = (m1 / (1 - 0.9 ** t)) / ((v2 / (1 - 0.999 ** t)).sqrt() + 1e-8)
                        p.sub_(lr.view(shape) * step)
    return run


def search_section(title, X, y, space, settings, sk_settings, n_iter, epochs, optimizer,
                   sizes, rounds, quick):
    from sklearn.model_selection import ParameterGrid, ParameterSampler, StratifiedKFold

    from glassnet.search import is_grid

    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    folds = list(cv.split(X, y))
    configs = list(ParameterGrid(space)) if is_grid(space) else list(
        ParameterSampler(space, n_iter, random_state=0))
    rows = []
    for n_jobs in (1, 2):
        runs = searches(X, y, space, settings, sk_settings, n_iter, cv, n_jobs)
        if n_jobs == 1:
            runs["PyTorch, torch.func.vmap"] = torch_vmap(X, y, configs, folds, sizes, epochs,
                                                          optimizer)
        times = rotated_medians(runs, rounds)
        ours = times["glassnet, stacked"]
        for name, seconds in times.items():
            rows.append((name, n_jobs, f"{seconds:.2f}", f"{seconds / ours:.2f}x"))
    fits = len(configs) * 3
    table(f"{title}: {len(configs)} configurations x 3 folds = {fits} fits, {epochs} epochs",
          ["contestant", "n_jobs", "seconds (median)", "time / glassnet stacked (same n_jobs)"],
          rows)


def grid(quick):
    from glassnet.datasets import load_wisconsin

    X, y = load_wisconsin(return_X_y=True)
    epochs = 30 if quick else 1000
    space = {"learning_rate_init": [0.001, 0.01, 0.1, 0.3], "alpha": [1e-4, 1e-3, 1e-2],
             "momentum": [0.0, 0.9]}
    full = 10 ** 6  # one batch: every row (both libraries clip it to the rows they get)
    common = {"hidden_layer_sizes": (15,), "solver": "sgd", "batch_size": full,
              "max_iter": epochs, "tol": 0.0, "n_iter_no_change": epochs, "random_state": 0}
    search_section("The grid: Wisconsin 9-15-1, full-batch SGD", X.astype(np.float64), y,
                   space, common, common, None, epochs, "sgd", [9, 15, 1], 1 if quick else 3,
                   quick)


def random_search(quick):
    from scipy.stats import loguniform

    from glassnet.datasets import load_heart

    X, y = load_heart(return_X_y=True)
    epochs = 20 if quick else 300
    space = {"learning_rate_init": loguniform(1e-4, 1e-1), "alpha": loguniform(1e-6, 1e-2)}
    common = {"hidden_layer_sizes": (8,), "solver": "adam", "batch_size": 10 ** 6,
              "max_iter": epochs, "tol": 0.0, "n_iter_no_change": epochs, "random_state": 0}
    search_section("A random search: the heart network 13-8-1, full-batch Adam",
                   X.astype(np.float64), y, space, common, common, 8 if quick else 40, epochs,
                   "adam", [13, 8, 1], 1 if quick else 3, quick)


# -- 64 tutorial networks ------------------------------------------------------------------------
def tutorial_networks(quick):
    import torch
    from torch.func import functional_call, grad, stack_module_state, vmap

    from glassnet.datasets import load_xor
    from glassnet.stack import train_together

    torch.set_num_threads(1)
    X, y = load_xor(return_X_y=True)
    K, epochs = 64, 100 if quick else 1500
    lrs = list(np.geomspace(0.1, 3.0, K))

    def nets():
        return [gn.Network.from_sizes([3, 4, 1], activation="sigmoid", loss="sse",
                                      init="uniform", bias=False, seed=k) for k in range(K)]

    def one():
        net = gn.Network.from_sizes([3, 4, 1], activation="sigmoid", loss="sse",
                                    init="uniform", bias=False, seed=0)
        gn.train(net, X, y, lr=1.0, epochs=epochs)

    def stack():
        train_together(nets(), X, y, lr=lrs, epochs=epochs)

    Xt = torch.from_numpy(X.astype(np.float64))
    yt = torch.from_numpy(y.astype(np.float64))[:, None]

    def model(seed):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False, dtype=torch.float64),
                                   torch.nn.Sigmoid(),
                                   torch.nn.Linear(4, 1, bias=False, dtype=torch.float64),
                                   torch.nn.Sigmoid())

    base = model(0).to("meta")
    rates = torch.tensor(lrs, dtype=torch.float64)

    def vmapped():
        params, _ = stack_module_state([model(k) for k in range(K)])
        params = {k: v.detach() for k, v in params.items()}

        def loss(p):
            return ((functional_call(base, p, (Xt,)) - yt) ** 2).sum()

        gradients = vmap(grad(loss))
        for _ in range(epochs):
            g = gradients(params)
            for name, p in params.items():
                p.sub_(rates.view((K,) + (1,) * (p.dim() - 1)) * g[name])

    times = rotated_medians({"glassnet, one network": one, "glassnet, 64 stacked": stack,
                             "PyTorch, 64 in torch.func.vmap": vmapped}, 3 if quick else 5)
    steps = {"glassnet, one network": epochs, "glassnet, 64 stacked": K * epochs,
             "PyTorch, 64 in torch.func.vmap": K * epochs}
    ours = steps["glassnet, 64 stacked"] / times["glassnet, 64 stacked"]
    rows = [(name, f"{times[name]:.3f}", f"{steps[name] / times[name]:,.0f}",
             f"{ours / (steps[name] / times[name]):.1f}x") for name in times]
    table(f"64 tutorial networks (XOR 3-4-1, {epochs} full-batch steps each)",
          ["contestant", "seconds (median)", "network-steps / s",
           "glassnet stacked's throughput / this"], rows)


# -- one MNIST-shaped network ----------------------------------------------------------------------
_MNIST = r"""
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1])
import glassnet as gn
rng = np.random.default_rng(0)
n = int(sys.argv[2])
X = rng.random((n, 784)); y = rng.integers(0, 10, n)
times = []
for r in range(int(sys.argv[3])):
    net = gn.Network.from_sizes([784, 128, 10], output_activation="softmax", seed=0)
    started = time.perf_counter()
    gn.train(net, X, y, optimizer="adam", lr=1e-3, epochs=1, batch_size=128, seed=0)
    times.append(time.perf_counter() - started)
print(min(times))
"""


def mnist(quick, main):
    n = 2_000 if quick else 20_000
    src = os.path.join(os.path.dirname(HERE), "src")
    checkouts = {"this branch": src}
    if main:
        checkouts["main"] = os.path.join(main, "src")
    rows = []
    times = {name: [] for name in checkouts}
    for r in range(1 if quick else 3):
        for name in list(checkouts)[r % len(checkouts):] + list(checkouts)[:r % len(checkouts)]:
            out = subprocess.run([sys.executable, "-c", _MNIST, checkouts[name], str(n), "3"],
                                 capture_output=True, text=True, check=True)
            times[name].append(float(out.stdout))
    for name, t in times.items():
        rows.append((name, f"{min(t):.3f}", f"{n / min(t):,.0f}"))
    table(f"One MNIST-shaped network: 784-128-10, Adam, batches of 128, one epoch of {n:,} rows",
          ["checkout", "seconds (best)", "rows / s"], rows)


SECTIONS = {"grid": grid, "random": random_search, "tutorial": tutorial_networks}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="comma-separated: grid, random, tutorial, mnist")
    parser.add_argument("--main", help="a checkout of the main branch, for the MNIST check")
    args = parser.parse_args(argv)
    os.environ["PYTHONWARNINGS"] = "ignore"  # the searches' worker processes too
    warnings.simplefilter("ignore")
    import numpy
    import sklearn
    import torch

    print(f"# glassnet stacks: {cpu_name()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, NumPy {numpy.__version__}, scikit-learn "
          f"{sklearn.__version__}, PyTorch {torch.__version__}"
          + (" (quick mode)" if args.quick else ""))
    chosen = args.only.split(",") if args.only else [*SECTIONS, "mnist"]
    for name in chosen:
        if name == "mnist":
            mnist(args.quick, args.main)
        elif name in SECTIONS:
            SECTIONS[name](args.quick)
        else:
            parser.error(f"unknown section {name!r}")


if __name__ == "__main__":
    main()
