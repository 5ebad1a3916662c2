"""Hyper-parameter search at scale: one process, two local processes, a 2-worker Dask cluster.

    python benchmarks/search.py            # a few minutes on 2 cores
    python benchmarks/search.py --quick    # seconds: keeps the script working in CI

The same random search of 40 configurations (hidden sizes 8..64 log-uniform,
learning rate 1e-4..1e-1 and alpha 1e-6..1e-2 log-uniform, seed 0) on

- Wisconsin (546 training rows of 683, 9 features), 5 folds, 100 epochs a fit;
- a generated set of 100,000 rows (80,000 for the search), 20 features
  (scikit-learn's make_classification), 3 folds, 2 epochs a fit (so the whole
  run takes minutes);

run three ways, each in this process: ``n_jobs=1`` (fits one after the other),
``n_jobs=2`` (joblib's loky processes) and a 2-worker ``LocalCluster``
(processes on 127.0.0.1, joblib's "dask" backend). Wall time of
``search.fit`` (the cluster's start-up is timed apart), the speed-up over
``n_jobs=1``, and whether every fold's score is the same in all three. One
more row, ``n_jobs=2`` with every fit in a single round (as scikit-learn's own
searches run), prices the rounds that give the progress line and keep results
on Ctrl-C.

Then the scheduling overhead of each way: 400 no-op tasks through joblib (per
task), and in the search itself (worker time not spent fitting or scoring, per
fit); and, on paper, a 1,000-configuration 5-fold search on a 16-node cluster
from the measured per-fit time: fits x per-fit time / workers + fits x the
measured per-task overhead.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import cpu_name, table

import glassnet as gn

SPACE = ["hidden=8:64:log", "lr=1e-4:1e-1:log", "alpha=1e-6:1e-2:log"]


def data_sets(quick):
    from sklearn.datasets import make_classification

    from glassnet.search import raw_features, split_raw
    from glassnet.tables import prepare

    prepared = prepare("wisconsin")
    rows = split_raw(prepared, raw_features(prepared), 0.2, 0)
    n = 2_000 if quick else 100_000
    X, y = make_classification(n_samples=n, n_features=20, n_informative=10, random_state=0)
    cut = int(0.8 * n)
    return [
        ("Wisconsin", rows.X_train, rows.y_train, 2 if quick else 5, 2 if quick else 100),
        (f"generated {n:,} x 20", X[:cut], y[:cut], 2 if quick else 3, 1 if quick else 2),
    ]


def make(cv, epochs, n_iter, n_jobs, round_fits=None):
    from glassnet.search import make_pipeline, make_search, parse_param

    model = gn.MLPClassifier(random_state=0, max_iter=epochs)
    space = dict(parse_param(p, model) for p in SPACE)
    return make_search(make_pipeline(model), space, n_iter=n_iter, cv=cv, n_jobs=n_jobs,
                       random_state=0, refit=False, round_fits=round_fits)


def timed_search(X, y, cv, epochs, n_iter, n_jobs, round_fits=None):
    search = make(cv, epochs, n_iter, n_jobs, round_fits)
    started = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - started, search


def scores(search):
    results = search.cv_results_
    return np.array([results[f"split{k}_test_score"] for k in range(search.n_splits_)])


def busy_seconds(search):
    """Worker time spent fitting and scoring, summed over every fit."""
    results = search.cv_results_
    return float(np.sum((results["mean_fit_time"] + results["mean_score_time"])
                        * search.n_splits_))


def noop(i):
    return i


def task_overhead(n_jobs, tasks):
    """Seconds per task for no-op tasks through joblib (the active backend)."""
    from joblib import Parallel, delayed

    with Parallel(n_jobs=n_jobs) as parallel:
        parallel(delayed(noop)(i) for i in range(8))  # start the workers first
        started = time.perf_counter()
        parallel(delayed(noop)(i) for i in range(tasks))
        return (time.perf_counter() - started) / tasks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args(argv)
    quick = args.quick
    import distributed
    import joblib
    import sklearn
    from distributed import Client, LocalCluster

    warnings.simplefilter("ignore")  # short fits do not converge: that is the point
    n_iter = 4 if quick else 40
    print(f"# glassnet {gn.__version__}: hyper-parameter search benchmark"
          f"{' (quick)' if quick else ''}\n")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores, {cpu_name()}, "
          f"Python {platform.python_version()}")
    print(f"- NumPy {np.__version__}, scikit-learn {sklearn.__version__}, joblib "
          f"{joblib.__version__}, dask.distributed {distributed.__version__}")
    print(f"- search: random, {n_iter} configurations of {', '.join(SPACE)}, seed 0")
    print(f"- load average at the start: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores; "
          f"other work on the machine slows every row, the parallel ones most)")

    started = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    cluster_start = time.perf_counter() - started
    measured = []
    try:
        sets = data_sets(quick)
        # The first search in fresh workers pays their start-up (loky spawns its
        # processes; each Dask worker imports glassnet and scikit-learn): timed apart.
        _, X, y, _, _ = sets[0]
        warm = {"loky": timed_search(X, y, 2, 1, 2, 2)[0]}
        with joblib.parallel_config(backend="dask"):
            warm["dask"] = timed_search(X, y, 2, 1, 2, -1)[0]
        print(f"- first use: LocalCluster start {cluster_start:.1f} s, first search on it "
              f"{warm['dask']:.1f} s; loky's first search {warm['loky']:.1f} s (not included "
              f"below)")
        rows = []
        for name, X, y, cv, epochs in sets:
            one, base = timed_search(X, y, cv, epochs, n_iter, 1)
            two, local = timed_search(X, y, cv, epochs, n_iter, 2)
            # every fit in one call, as scikit-learn's own searches do: the price of
            # evaluating in rounds (progress, results kept on Ctrl-C)
            whole, single = timed_search(X, y, cv, epochs, n_iter, 2, round_fits=10**9)
            with joblib.parallel_config(backend="dask"):
                dask_time, remote = timed_search(X, y, cv, epochs, n_iter, -1)
            same = all(np.allclose(scores(base), scores(s), rtol=0, atol=1e-12)
                       for s in (local, single, remote))
            fits = n_iter * cv
            for label, seconds, search, workers in (("n_jobs=1", one, base, 1),
                                                    ("n_jobs=2", two, local, 2),
                                                    ("n_jobs=2, one round", whole, single, 2),
                                                    ("LocalCluster, 2 workers", dask_time,
                                                     remote, 2)):
                idle = max(0.0, seconds * workers - busy_seconds(search)) / fits
                rows.append((name, f"{n_iter} x {cv} folds = {fits}", label, f"{seconds:.2f}",
                             f"{one / seconds:.2f}x", f"{idle * 1e3:.1f}",
                             "yes" if same else "NO"))
            measured.append((name, busy_seconds(base) / fits))
        table("Search wall time (search.fit, workers already started)",
              ["data", "fits", "run", "wall (s)", "speed-up", "ms per fit not fitting",
               "same scores"], rows)

        tasks = 40 if quick else 400
        overhead = {"n_jobs=2 (loky)": task_overhead(2, tasks)}
        with joblib.parallel_config(backend="dask"):
            overhead["LocalCluster, 2 workers (dask)"] = task_overhead(-1, tasks)
        table(f"Scheduling overhead: {tasks} no-op tasks through joblib",
              ["backend", "ms per task"],
              [(k, f"{v * 1e3:.2f}") for k, v in overhead.items()])
    finally:
        client.close()
        cluster.close()

    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    name, per_fit = measured[-1]  # the generated set's per-fit time
    dask_overhead = overhead["LocalCluster, 2 workers (dask)"]
    fits = 1000 * 5
    rows = []
    for per_node in (1, 8):
        workers = 16 * per_node
        compute = fits * per_fit / workers
        total = compute + fits * dask_overhead
        rows.append((f"16 nodes x {per_node} = {workers}", f"{per_fit:.3f}",
                     f"{compute:.1f}", f"{fits * dask_overhead:.1f}", f"{total:.1f}",
                     f"{fits * per_fit / total:.0f}x"))
    table(f"On paper: 1,000 configurations x 5 folds = {fits:,} fits on a 16-node cluster, "
          f"per-fit time of the {name} set",
          ["workers", "s per fit (measured)", "fits x s / workers", "+ fits x overhead",
           "estimate (s)", "vs one process"], rows)


if __name__ == "__main__":
    main()
