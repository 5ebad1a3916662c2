"""glassnet's speed, side by side with its peers in one process.

    python benchmarks/bench.py            # everything (a few minutes on 2 cores)
    python benchmarks/bench.py --quick    # tiny sizes, seconds: keeps the script working in CI
    python benchmarks/bench.py --only tutorial,mnist

Sections:

tutorial   the first tutorial's workload: Wisconsin (683 rows, min-max), 9-15-1
           ReLU/sigmoid, binary cross-entropy, full-batch gradient descent, lr 0.07,
           float64. Time per iteration of glassnet (engine and estimator) vs
           (a) the tutorial's own NumPy code (benchmarks/tutorial_numpy.py),
           (b) scikit-learn's MLPClassifier, (c) PyTorch eager.
mnist      MNIST-shaped: 60,000 x 784 float32, 784-256-256-10 ReLU, softmax
           cross-entropy, batches of 256, one reshuffled epoch of plain SGD;
           vs PyTorch and scikit-learn, and vs the float32 GEMM rate of the
           same matrix products measured here.
fit        the same epoch through ``MLPClassifier.fit``, as a user calls it,
           with plain SGD, Nesterov momentum 0.9 and Adam, each beside PyTorch's
           eager loop with the matching torch.optim optimiser, scikit-learn and
           the matrix products alone; rotated order, median of five rounds.
inference  predict_proba: latency for 1 row and throughput for 100,000 rows.
scaling    one epoch at 10k, 100k and 1M rows (100 features, 128-128 hidden,
           float32, batches of 256) in fresh processes, with peak memory.
defaults   default-settings MLPClassifier fit time vs scikit-learn on the
           bundled data sets (standard-scaled).
landscape  a 51 x 51 loss-landscape grid of the Wisconsin 9-15-1 network, and
           `glassnet landscape wisconsin` at its defaults stage by stage: the
           four training runs with the sharpness and the plane, each figure,
           and the GIF's share of the whole (blitted frames vs a full redraw
           of each frame, as matplotlib's animation writers do).
layers     the cost of dropout, batch normalisation and L1: the MNIST-shaped epoch
           with each added to both hidden layers, glassnet beside PyTorch.
curvature  the Hessian's spectrum of the MNIST-shaped network (269,322 parameters, on
           a batch of 1,000 rows, float32): the top 5 eigenvalues by Lanczos, the
           trace by Hutchinson, the density by stochastic Lanczos quadrature; and
           what `--track-sharpness` adds to the first tutorial's `glassnet train` run.

Ratios are peer time / glassnet time: above 1 means glassnet is faster.
Missing peers (torch, scikit-learn) are reported as missing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import cpu_name, table

import glassnet as gn
from glassnet.datasets import load_heart, load_wisconsin

try:
    import torch
except ImportError:  # pragma: no cover - reported in the output
    torch = None
try:
    import sklearn
    from sklearn.neural_network import MLPClassifier as SkMLP
except ImportError:  # pragma: no cover
    sklearn = None


def best_of(function, repeat=3):
    """Smallest wall time of ``repeat`` calls (the least disturbed run)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def rotated_medians(runs, rounds=5):
    """Median wall time of each of ``runs`` (name -> callable) over ``rounds``
    rounds. Every round calls each once, the order rotated by one place per
    round, so no implementation always runs first (cold) or right after the
    same neighbour; the median ignores a round that other work disturbed."""
    names = list(runs)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            started = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - started)
    return {name: float(np.median(t)) for name, t in times.items()}


def ratio(peer, ours):
    return "missing" if peer is None else f"{peer / ours:.2f}x"


# -- 1. the tutorial's workload --------------------------------------------------
def tutorial(quick):
    """Each implementation in turn, the order rotated, median of five rounds."""
    from tutorial_numpy import TutorialNet

    X, y = load_wisconsin(return_X_y=True)
    X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
    n_iter = 300 if quick else 3000
    runs = {}

    def engine():
        net = gn.Network.from_sizes([9, 15, 1], activation="relu", output_activation="sigmoid",
                                    init="scaled_normal", seed=1)
        gn.train(net, X, y, lr=0.07, epochs=n_iter)

    runs["glassnet engine (gn.train)"] = engine

    def estimator():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gn.MLPClassifier((15,), solver="sgd", momentum=0.0, learning_rate_init=0.07,
                             batch_size=len(X), shuffle=False, alpha=0.0, tol=0.0,
                             n_iter_no_change=n_iter + 1, max_iter=n_iter,
                             random_state=0).fit(X, y)

    runs["glassnet MLPClassifier"] = estimator

    def tutorial_code():
        TutorialNet(X.T, y[None, :].astype(float)).gd(n_iter)

    runs["(a) tutorial NumPy, samples as columns"] = tutorial_code
    if sklearn is not None:
        def scikit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                SkMLP((15,), solver="sgd", momentum=0.0, learning_rate_init=0.07,
                      batch_size=len(X), shuffle=False, alpha=0.0, tol=0.0,
                      n_iter_no_change=n_iter + 1, max_iter=n_iter, random_state=0).fit(X, y)

        runs["(b) scikit-learn MLPClassifier"] = scikit
    if torch is not None:
        Xt = torch.tensor(X)
        Yt = torch.tensor(y, dtype=torch.float64)[:, None]

        def pytorch():
            torch.manual_seed(1)
            model = torch.nn.Sequential(torch.nn.Linear(9, 15), torch.nn.ReLU(),
                                        torch.nn.Linear(15, 1)).double()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.07)
            loss_fn = torch.nn.BCEWithLogitsLoss()
            for _ in range(n_iter):
                optimizer.zero_grad()
                loss = loss_fn(model(Xt), Yt)
                loss.backward()
                optimizer.step()
                loss.item()  # the loss curve, as the others record it

        runs["(c) PyTorch eager"] = pytorch
    for run in runs.values():  # warm up: imports, BLAS threads, allocator
        run()
    results = rotated_medians(runs, rounds=2 if quick else 5)
    results.setdefault("(b) scikit-learn MLPClassifier", None)
    results.setdefault("(c) PyTorch eager", None)
    results = {name: None if t is None else t / n_iter for name, t in results.items()}
    ours = results["glassnet engine (gn.train)"]
    estimator_time = results["glassnet MLPClassifier"]
    rows = [(name, "missing" if t is None else f"{t * 1e6:.1f}", ratio(t, ours),
             ratio(t, estimator_time)) for name, t in results.items()]
    table(f"Tutorial workload: 9-15-1 full-batch GD on 683 rows, float64 ({n_iter} iterations, "
          f"median of {2 if quick else 5} rotated rounds)",
          ["implementation", "µs per iteration", "peer / glassnet engine",
           "peer / glassnet MLPClassifier"], rows)
    return results


# -- 2. MNIST-shaped ---------------------------------------------------------------
def mnist_data(n, seed=0):
    """MNIST-shaped synthetic data: pixel intensities in [0, 1], labels from a
    random linear teacher so that the problem is learnable."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784), dtype=np.float32)
    X *= X > 0.6  # mostly-dark images, like MNIST's
    teacher = rng.standard_normal((784, 10)).astype(np.float32)
    y = (X @ teacher).argmax(axis=1)
    return X, y


def gemm_products(batch, sizes):
    """``(run, flops)``: ``run()`` does the float32 matrix products one SGD step
    needs, at these shapes: per layer Z = A·W (forward), dW = Aᵀ·dZ, and
    dA = dZ·Wᵀ for all but the first."""
    rng = np.random.default_rng(0)
    products = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        A = rng.random((batch, fan_in), dtype=np.float32)
        W = rng.random((fan_in, fan_out), dtype=np.float32)
        dZ = rng.random((batch, fan_out), dtype=np.float32)
        products.append((A, W, np.empty((batch, fan_out), np.float32)))
        products.append((A.T, dZ, np.empty((fan_in, fan_out), np.float32)))
        if i > 0:
            products.append((dZ, W.T, np.empty((batch, fan_in), np.float32)))
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in products)

    def run():
        for a, b, out in products:
            np.matmul(a, b, out=out)

    return run, flops


def gemm_time(batch, sizes, repeat=20):
    """Fastest time of one step's matrix products (see :func:`gemm_products`), and their flops."""
    run, flops = gemm_products(batch, sizes)
    run()
    seconds = min(best_of(run, 1) for _ in range(repeat))
    return seconds, flops


def torch_epoch(Xt, yt, batch, make_optimizer):
    """One reshuffled epoch of PyTorch's eager loop on the MNIST-shaped 784-256-256-10
    network, the optimiser from ``make_optimizer(parameters)``."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    optimizer = make_optimizer(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(Xt)
    order = torch.randperm(n)
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(Xt[idx]), yt[idx])
        loss.backward()
        optimizer.step()
        loss.item()  # the loss curve, as glassnet and scikit-learn record it


def mnist(quick):
    n = 6000 if quick else 60000
    X, y = mnist_data(n)
    sizes = [784, 256, 256, 10]
    batch = 256
    results = {}

    def engine():
        net = gn.Network.from_sizes(sizes, activation="relu", output_activation="softmax",
                                    dtype=np.float32, seed=0)
        gn.train(net, X, y, lr=0.05, epochs=1, batch_size=batch, seed=0)

    results["glassnet engine (gn.train)"] = best_of(engine, 2)

    def estimator():
        gn.MLPClassifier((256, 256), solver="sgd", momentum=0.0, learning_rate_init=0.05,
                         batch_size=batch, alpha=0.0, max_iter=1, random_state=0).fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results["glassnet MLPClassifier"] = best_of(estimator, 2)
    if torch is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def pytorch():
            torch_epoch(Xt, yt, batch, lambda params: torch.optim.SGD(params, lr=0.05))

        results["PyTorch eager"] = best_of(pytorch, 2)
    else:
        results["PyTorch eager"] = None
    if sklearn is not None:
        def scikit():
            SkMLP((256, 256), solver="sgd", momentum=0.0, learning_rate_init=0.05,
                  batch_size=batch, alpha=0.0, max_iter=1, random_state=0).fit(X, y)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results["scikit-learn MLPClassifier"] = best_of(scikit, 2)
    else:
        results["scikit-learn MLPClassifier"] = None
    step_gemm, flops = gemm_time(batch, sizes)
    n_full, tail = divmod(n, batch)
    gemm_epoch = step_gemm * (n_full + tail / batch)
    ours = results["glassnet engine (gn.train)"]
    rows = [(name, "missing" if t is None else f"{t:.3f}",
             "missing" if t is None else f"{n / t:,.0f}", ratio(t, ours))
            for name, t in results.items()]
    rows.append(("float32 GEMMs alone (same shapes)", f"{gemm_epoch:.3f}",
                 f"{n / gemm_epoch:,.0f}", f"glassnet reaches {gemm_epoch / ours:.0%} of it"))
    table(f"MNIST-shaped: {n:,} x 784 float32, 784-256-256-10, batch {batch}, one SGD epoch "
          f"(GEMM rate {flops / step_gemm / 1e9:.1f} GFLOP/s)",
          ["implementation", "epoch (s)", "samples / s", "peer / glassnet engine"], rows)
    return results


# -- 2b. MNIST-shaped, through the estimator --------------------------------------
FIT_SOLVERS = [  # label, glassnet/scikit-learn options, PyTorch optimiser
    ("SGD", {"solver": "sgd", "momentum": 0.0, "learning_rate_init": 0.05},
     lambda params: torch.optim.SGD(params, lr=0.05)),
    ("SGD, Nesterov momentum 0.9",
     {"solver": "sgd", "momentum": 0.9, "learning_rate_init": 0.05},
     lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", {"solver": "adam", "learning_rate_init": 0.001},
     lambda params: torch.optim.Adam(params, lr=0.001)),
]


def fit(quick):
    """One epoch through the estimator a user calls, per solver: glassnet's
    ``MLPClassifier.fit``, PyTorch's eager loop with the matching ``torch.optim``
    optimiser, scikit-learn's ``MLPClassifier.fit``, and the same matrix
    products alone. Every round runs each in turn, the order rotated; the
    table shows medians of five rounds."""
    n = 6000 if quick else 60000
    X, y = mnist_data(n)
    sizes, batch = [784, 256, 256, 10], 256
    rounds = 2 if quick else 5
    common = {"batch_size": batch, "alpha": 0.0, "max_iter": 1, "random_state": 0}
    Xt, yt = (torch.from_numpy(X), torch.from_numpy(y)) if torch is not None else (None, None)
    step_products, flops = gemm_products(batch, sizes)
    n_full, tail = divmod(n, batch)

    def gemms():  # the epoch's matrix products alone, at the same shapes
        for _ in range(n_full + (tail > 0)):
            step_products()

    for label, options, make_optimizer in FIT_SOLVERS:
        runs = {}

        def ours(options=options):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gn.MLPClassifier((256, 256), **options, **common).fit(X, y)

        runs["glassnet MLPClassifier"] = ours
        if torch is not None:
            def pytorch(make_optimizer=make_optimizer):
                torch_epoch(Xt, yt, batch, make_optimizer)

            runs["PyTorch eager"] = pytorch
        if sklearn is not None:
            def scikit(options=options):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    SkMLP((256, 256), **options, **common).fit(X, y)

            runs["scikit-learn MLPClassifier"] = scikit
        runs["float32 GEMMs alone (same shapes)"] = gemms
        for run in runs.values():  # warm up
            run()
        medians = rotated_medians(runs, rounds)
        mine = medians["glassnet MLPClassifier"]
        rows = []
        for name, seconds in medians.items():
            if name.startswith("float32"):
                compare = f"glassnet reaches {seconds / mine:.0%} of it"
            else:
                compare = ratio(seconds, mine)
            rows.append((name, f"{seconds:.3f}", f"{n / seconds:,.0f}", compare))
        for name in ("PyTorch eager", "scikit-learn MLPClassifier"):
            if name not in medians:
                rows.append((name, "missing", "", "missing"))
        gemm = medians["float32 GEMMs alone (same shapes)"]
        step_flops = flops * (n_full + (tail > 0))
        table(f"Through the estimator, {label}: MNIST-shaped {n:,} x 784 float32, "
              f"784-256-256-10, batch {batch}, one epoch, median of {rounds} rotated rounds "
              f"(GEMM rate {step_flops / gemm / 1e9:.1f} GFLOP/s)",
              ["implementation", "epoch (s)", "samples / s", "peer / glassnet"], rows)


# -- 3. inference ------------------------------------------------------------------
def inference(quick):
    X, y = mnist_data(2000)
    big = mnist_data(10000 if quick else 100000, seed=1)[0]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = gn.MLPClassifier((256, 256), max_iter=1, random_state=0).fit(X, y)
        peers = {"glassnet MLPClassifier": ours}
        if sklearn is not None:
            peers["scikit-learn MLPClassifier"] = SkMLP((256, 256), max_iter=1,
                                                        random_state=0).fit(X, y)
    one = big[:1]
    for name, model in peers.items():
        latency = min(best_of(lambda m=model: m.predict_proba(one), 1) for _ in range(200))
        throughput = len(big) / best_of(lambda m=model: m.predict_proba(big), 3)
        rows.append((name, f"{latency * 1e6:.0f}", f"{throughput:,.0f}"))
    if torch is not None:
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                    torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                    torch.nn.Linear(256, 10), torch.nn.Softmax(dim=1))
        model.eval()
        bt, ot = torch.from_numpy(big), torch.from_numpy(one)

        def run_torch(data):
            with torch.no_grad():
                return model(data).numpy()

        latency = min(best_of(lambda: run_torch(ot), 1) for _ in range(200))
        throughput = len(big) / best_of(lambda: run_torch(bt), 3)
        rows.append(("PyTorch eager (no_grad)", f"{latency * 1e6:.0f}", f"{throughput:,.0f}"))
    table("Inference, 784-256-256-10 float32: predict_proba",
          ["implementation", "1-row latency (µs)", f"rows / s on {len(big):,} rows"], rows)


# -- 4. scaling and memory -----------------------------------------------------------
SCALING_CHILD = r"""
import json, sys, threading, time, tracemalloc
import numpy as np
import glassnet as gn

def rss_mib():
    with open("/proc/self/statm") as f:  # resident pages
        return int(f.read().split()[1]) * 4096 / 2**20

n = int(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, 100), dtype=np.float32)
y = (X[:, :10].sum(axis=1) > 0).astype(np.int64)
net = gn.Network.from_sizes([100, 128, 128, 1], activation="relu", dtype=np.float32, seed=0)
gn.train(net, X[:512], y[:512], lr=0.05, epochs=1, batch_size=256, seed=0)  # warm up BLAS
before, peak, done = rss_mib(), [0.0], []

def sample():  # resident memory, sampled every millisecond while training runs
    while not done:
        peak[0] = max(peak[0], rss_mib())
        time.sleep(0.001)

sampler = threading.Thread(target=sample)
sampler.start()
tracemalloc.start()
started = time.perf_counter()
gn.train(net, X, y, lr=0.05, epochs=1, batch_size=256, seed=0)
seconds = time.perf_counter() - started
allocated = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()
done.append(True)
sampler.join()
print(json.dumps({"n": n, "seconds": seconds, "data_mb": X.nbytes / 2**20,
                  "rss_growth_mb": max(peak[0], rss_mib()) - before, "allocated_mb": allocated}))
"""


def scaling(quick):
    sizes = [2000, 20000] if quick else [10_000, 100_000, 1_000_000]
    rows = []
    for n in sizes:
        output = subprocess.run([sys.executable, "-c", SCALING_CHILD, str(n)], check=True,
                                capture_output=True, text=True).stdout
        r = json.loads(output)
        rows.append((f"{n:,}", f"{r['seconds']:.3f}", f"{r['seconds'] / n * 1e6:.2f}",
                     f"{r['data_mb']:.1f}", f"{r['rss_growth_mb']:.1f}",
                     f"{r['allocated_mb']:.2f}", f"{r['allocated_mb'] / r['data_mb']:.1%}"))
    table("Scaling: one epoch, 100 features, 100-128-128-1 ReLU, float32, batch 256 "
          "(fresh process per size)",
          ["rows", "epoch (s)", "µs per row", "data (MiB)", "peak RSS growth in training (MiB)",
           "peak NumPy allocations in training (MiB)", "allocations / data"], rows)


# -- 5. default settings on the bundled data -----------------------------------------
def defaults(quick):
    from sklearn.preprocessing import StandardScaler

    seeds = range(1 if quick else 5)
    rows = []
    for name, loader in (("wisconsin", load_wisconsin), ("heart", load_heart)):
        X, y = loader(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        times = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for label, cls in (("glassnet", gn.MLPClassifier), ("scikit-learn", SkMLP)):
                times[label] = sum(best_of(lambda s=s, c=cls, X=X, y=y: c(random_state=s).fit(X, y), 3)
                                   for s in seeds) / len(seeds)
        rows.append((name, f"{times['scikit-learn'] * 1e3:.0f}", f"{times['glassnet'] * 1e3:.0f}",
                     ratio(times["scikit-learn"], times["glassnet"])))
    table("Default MLPClassifier() fit on the bundled data (standard-scaled)",
          ["data", "scikit-learn (ms)", "glassnet (ms)", "scikit-learn / glassnet"], rows)


# -- 6. the loss landscape ------------------------------------------------------------
def landscape(quick):
    try:
        from glassnet import landscape as ls
    except ImportError:  # pragma: no cover
        print("\n## Loss landscape\n\nmissing: glassnet.landscape")
        return
    X, y = load_wisconsin(return_X_y=True)
    X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
    net = gn.Network.from_sizes([9, 15, 1], activation="relu", init="scaled_normal", seed=1)
    gn.train(net, X, y, lr=0.07, epochs=200)
    rng = np.random.default_rng(0)
    d1, d2 = ls.random_direction(net, rng), ls.random_direction(net, rng)
    coords = np.linspace(-1, 1, 51)
    seconds = best_of(lambda: ls.grid_loss(net, X, y, d1, d2, coords, coords), 5)
    rows = [("51 x 51 grid, Wisconsin 9-15-1, all 683 rows, float64", f"{seconds * 1e3:.1f} ms")]
    table("Loss landscape", ["what", "time"], rows)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        from glassnet import plots
    except ImportError:  # pragma: no cover
        print("\nmissing: matplotlib (the landscape command's stages)")
        return
    import tempfile

    epochs = 40 if quick else 200
    with tempfile.TemporaryDirectory() as out:
        stages = {}
        started = time.perf_counter()
        net = gn.Network.from_sizes([9, 15, 1], activation="relu", init="scaled_normal", seed=1)
        result = ls.compare_optimizers(net, X, y, epochs=epochs, seed=1)
        stages["train 4 runs, sharpness, plane, grid"] = time.perf_counter() - started
        for name, make in (("landscape.png", plots.landscape_figure),
                           ("landscape_3d.png", plots.landscape_surface_figure)):
            begin = time.perf_counter()
            plots.save_figure(make(result), os.path.join(out, name))
            stages[name] = time.perf_counter() - begin
        begin = time.perf_counter()
        plots.save_descent_animation(result, os.path.join(out, "descent.gif"))
        stages["descent.gif"] = gif = time.perf_counter() - begin
        total = sum(stages.values())
        # the same frames drawn the way an animation writer grabs them: a full
        # redraw of the 3-D figure per frame (surface included), no GIF encoding
        figure = plots.Figure(figsize=(6.4, 5.4), dpi=80)
        canvas = FigureCanvasAgg(figure)
        ax = plots._surface_axes(figure, result)
        balls = [ax.plot([], [], [], "o")[0] for _ in result.drawn]
        begin = time.perf_counter()
        for k in range(len(next(iter(result.paths.values())))):
            for ball, name in zip(balls, result.drawn):
                j = min(k, len(result.paths[name]) - 1)
                a, b = result.paths[name][j]
                ball.set_data_3d([a], [b], [result.path_loss[name][j]])
            canvas.draw()
        redraw = time.perf_counter() - begin
    rows = [(name, f"{seconds:.2f} s") for name, seconds in stages.items()]
    rows.append(("total", f"{total:.2f} s"))
    rows.append(("descent.gif's share of the total", f"{gif / total:.0%}"))
    rows.append(("the GIF's frames by full redraw, without encoding (for comparison)",
                 f"{redraw:.2f} s ({ratio(redraw, gif)} the blitted GIF)"))
    table(f"`glassnet landscape wisconsin` at its defaults ({epochs} epochs), stage by stage",
          ["stage", "time"], rows)


# -- 7. the cost of each layer ---------------------------------------------------------
LAYER_CONFIGS = [
    ("plain", {}),
    ("dropout 0.2", {"dropout": 0.2}),
    ("batch norm", {"batch_norm": True}),
    ("batch norm + dropout 0.2", {"batch_norm": True, "dropout": 0.2}),
    ("L1 1e-4", {"l1": 1e-4}),
]


def torch_layers_model(extras):
    """PyTorch's 784-256-256-10 with the same layers as ``Network.from_sizes(**extras)``."""
    layers, fan_in = [], 784
    for width in (256, 256):
        bn = extras.get("batch_norm", False)
        layers.append(torch.nn.Linear(fan_in, width, bias=not bn))
        if bn:
            layers.append(torch.nn.BatchNorm1d(width))
        layers.append(torch.nn.ReLU())
        if extras.get("dropout"):
            layers.append(torch.nn.Dropout(extras["dropout"]))
        fan_in = width
    layers.append(torch.nn.Linear(fan_in, 10))
    return torch.nn.Sequential(*layers)


def layers(quick):
    """Rounds over every configuration, keeping each one's fastest epoch: on a shared,
    noisy machine interleaving gives every configuration the same chances."""
    n = 2000 if quick else 60000
    X, y = mnist_data(n)
    batch, sizes = 256, [784, 256, 256, 10]
    Xt, yt = (torch.from_numpy(X), torch.from_numpy(y)) if torch is not None else (None, None)

    def engine(extras):
        net = gn.Network.from_sizes(sizes, activation="relu", output_activation="softmax",
                                    dtype=np.float32, seed=0, **extras)
        gn.train(net, X, y, lr=0.05, epochs=1, batch_size=batch, seed=0)

    def pytorch(extras):
        torch.manual_seed(0)
        model = torch_layers_model(extras)
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        loss_fn = torch.nn.CrossEntropyLoss()
        weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
        l1 = extras.get("l1", 0.0)
        order = torch.randperm(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            if l1:
                loss = loss + l1 / len(idx) * sum(w.abs().sum() for w in weights)
            loss.backward()
            optimizer.step()
            loss.item()

    engine({})  # warm up BLAS and the allocator
    best = {}
    for _ in range(1 if quick else 7):
        for label, extras in LAYER_CONFIGS:
            for who, run in (("ours", engine), ("theirs", pytorch)):
                if who == "theirs" and torch is None:
                    continue
                seconds = best_of(lambda run=run, extras=extras: run(extras), 1)
                best[label, who] = min(best.get((label, who), np.inf), seconds)
    rows = []
    for label, _ in LAYER_CONFIGS:
        ours, theirs = best[label, "ours"], best.get((label, "theirs"))
        rows.append((label, f"{ours:.3f}", f"{ours / best['plain', 'ours'] - 1:+.0%}",
                     "missing" if theirs is None else f"{theirs:.3f}",
                     "missing" if theirs is None else
                     f"{theirs / best['plain', 'theirs'] - 1:+.0%}", ratio(theirs, ours)))
    table(f"The cost of each layer: MNIST-shaped {n:,} x 784 float32, 784-256-256-10 ReLU, "
          f"batch {batch}, one SGD epoch, the layer after both hidden layers",
          ["layers", "glassnet epoch (s)", "glassnet vs plain", "PyTorch epoch (s)",
           "PyTorch vs plain", "PyTorch / glassnet"], rows)


# -- curvature ---------------------------------------------------------------------
def curvature(quick):
    """The spectrum's cost on the MNIST-shaped network, and the sharpness tracking's."""
    from glassnet.curvature import hessian_eigenvalues, hessian_trace, spectral_density

    n = 300 if quick else 1000
    X, y = mnist_data(n)
    net = gn.Network.from_sizes([784, 256, 256, 10], activation="relu",
                                output_activation="softmax", dtype=np.float32, seed=0)
    gn.train(net, X, y, lr=0.05, epochs=1 if quick else 3, batch_size=256, seed=0)
    n_params = sum(p.size for p in net.parameters())
    rows = []

    def timed(label, run, products):
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
        used = products(result)
        rows.append((label, f"{seconds:.1f}", str(used), f"{1000 * seconds / used:.0f}"))
        return result

    top = timed("top 5 eigenvalues (Lanczos, tol 1e-6)",
                lambda: hessian_eigenvalues(net, X, y, k=5), lambda r: r.iterations)
    probes = 5 if quick else 50
    trace = timed(f"trace (Hutchinson, {probes} probes)",
                  lambda: hessian_trace(net, X, y, samples=probes), lambda r: len(r.samples))
    vectors, steps = (1, 10) if quick else (3, 60)
    timed(f"density (SLQ, {vectors} probes x {steps} steps)",
          lambda: spectral_density(net, X, y, vectors=vectors, steps=steps),
          lambda r: int(np.sum(~np.isnan(r.nodes))))
    step_gemm, flops = gemm_time(n, [784, 256, 256, 10], repeat=5)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table(f"Curvature: MNIST-shaped 784-256-256-10 ReLU, {n_params:,} parameters, "
          f"{n:,} rows, float32 (GEMM rate {flops / step_gemm / 1e9:.1f} GFLOP/s, "
          f"load average {load:.1f})",
          ["computation", "seconds", "Hessian-vector products", "ms per product"], rows)
    print(f"\ntop 5: {', '.join(f'{v:.4g}' for v in top.values)} (converged: {top.converged}); "
          f"trace {trace.value:.4g} ± {trace.standard_error:.2g}")

    from glassnet.cli import main

    args = ["train", "wisconsin", "--hidden", "15", "--solver", "sgd", "--momentum", "0",
            "--batch-size", "full", "--lr", "0.07", "--epochs", "300" if quick else "3000",
            "--scale", "minmax", "--quiet", "--plots", "none"]
    times = {"without": [], "with --track-sharpness": []}
    with tempfile.TemporaryDirectory() as folder:
        for k in range(2 if quick else 5):
            for label, extra in (("without", []), ("with --track-sharpness",
                                                   ["--track-sharpness"])):
                out = os.path.join(folder, f"{label[:4]}{k}")
                started = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    main([*args, *extra, "--out", out])
                total = time.perf_counter() - started
                with open(os.path.join(out, "metrics.json")) as handle:
                    training = json.load(handle)["seconds"]
                times[label].append((total, training))
    base = np.median(times["without"], axis=0)
    rows = []
    for label, values in times.items():
        total, training = np.median(values, axis=0)
        rows.append((label, f"{total:.2f}", f"{total / base[0] - 1:+.0%}", f"{training:.2f}",
                     f"{training / base[1] - 1:+.0%}"))
    table("`glassnet train wisconsin` at the first tutorial's settings (3,000 full-batch "
          "epochs, --plots none), in process, median of 5 alternating rounds; "
          "--track-sharpness alone measures λ_max 101 times",
          ["run", "whole command (s)", "vs without", "training (s)", "vs without"], rows)


SECTIONS = {"tutorial": tutorial, "mnist": mnist, "fit": fit, "inference": inference, "scaling": scaling,
            "defaults": defaults, "landscape": landscape, "layers": layers, "curvature": curvature}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--only", help="comma-separated sections: " + ", ".join(SECTIONS))
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    for name in chosen:
        if name not in SECTIONS:
            parser.error(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    print(f"# glassnet {gn.__version__} benchmarks{' (quick)' if args.quick else ''}\n")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores, {cpu_name()}, "
          f"Python {platform.python_version()}")
    print(f"- NumPy {np.__version__} with {blas.get('name', '?')} {blas.get('version', '')}")
    print(f"- PyTorch: {torch.__version__ + f' ({torch.get_num_threads()} threads)' if torch else 'missing'}"
          f"; scikit-learn: {sklearn.__version__ if sklearn else 'missing'}")
    for name in chosen:
        if name in ("defaults",) and sklearn is None:
            print(f"\n## {name}\n\nmissing: scikit-learn")
            continue
        SECTIONS[name](args.quick)


if __name__ == "__main__":
    main()
