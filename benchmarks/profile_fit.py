"""Where the MNIST-shaped estimator fit spends its time, by kind of work.

    python benchmarks/profile_fit.py                      # this checkout
    PYTHONPATH=OTHER/src python benchmarks/profile_fit.py  # another version, to compare
    python benchmarks/profile_fit.py --solver adam

Runs ``MLPClassifier((256, 256), batch_size=256, max_iter=1).fit`` on
bench.py's MNIST-shaped data (60,000 x 784 float32) once to warm up, then
``--repeat`` times under cProfile, and prints the median seconds per fit of
each kind of work: the functions' own time (cProfile's ``tottime``) summed
over the functions of that kind. NumPy's ufuncs and ``matmul`` are not
functions to cProfile, so their time lands in the glassnet function that
called them (the matrix products in ``Dense.forward`` and
``Dense.backward_from_dZ``, the update in the optimiser's ``_update``); the
time of NumPy's Python wrappers and of C built-ins (``np.take``, reductions)
goes to the first caller outside NumPy.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench import mnist_data

import glassnet as gn

# (kind, test on "file:function") in order: the first that matches wins
KINDS = [
    ("matrix products and bias (Dense.forward)",
     lambda f, n: f.endswith("layers.py") and n == "forward"),
    ("matrix products for dW, db, dX (Dense.backward_from_dZ)",
     lambda f, n: f.endswith("layers.py") and n == "backward_from_dZ"),
    ("activations and their derivatives (ReLU, softmax)",
     lambda f, n: f.endswith("activations.py")),
    ("optimiser update", lambda f, n: f.endswith("optimizers.py")),
    ("gathering the shuffled batches, the epoch's loop (Trainer._run_epoch, _steps)",
     lambda f, n: f.endswith("training.py") and n in ("_run_epoch", "_steps")),
    ("Trainer.step itself: the weights kept for a non-finite loss (a copy, or two buffers)",
     lambda f, n: (f.endswith("training.py") and n in ("step", "swap", "is_live", "settle",
                                                        "other", "restore"))
     or n == "point_parameters_at"),
    ("loss value and dL/dZ", lambda f, n: f.endswith("losses.py")),
    ("input validation (scikit-learn helpers)",
     lambda f, n: "sklearn" in f or n == "_validate_input"),
    ("convergence hint (unscaled columns)",
     lambda f, n: n in ("_unscaled_columns", "_scaling_advice")),
]


def _is_helper(filename):
    """NumPy's Python wrappers and C built-ins: their time belongs to whoever called them."""
    return filename == "~" or f"{os.sep}numpy{os.sep}" in filename


def _owners(stats, function, share, out, depth=0):
    """Split ``share`` seconds of ``function``'s own time among the first callers
    up the stack that are not NumPy helpers, in proportion to the calls' time."""
    filename = function[0]
    if not _is_helper(filename) or depth > 8:
        out[function] = out.get(function, 0.0) + share
        return
    callers = stats.stats[function][4]
    total = sum(entry[2] for entry in callers.values()) or 1.0
    if not callers:
        out[function] = out.get(function, 0.0) + share
    for caller, entry in callers.items():
        _owners(stats, caller, share * entry[2] / total, out, depth + 1)


def classify(stats):
    owned = {}
    for function, (_, _, tottime, _, _) in stats.stats.items():
        _owners(stats, function, tottime, owned)
    totals = {kind: 0.0 for kind, _ in KINDS}
    totals["everything else"] = 0.0
    for (filename, _, name), seconds in owned.items():
        for kind, test in KINDS:
            if test(filename, name):
                totals[kind] += seconds
                break
        else:
            totals["everything else"] += seconds
    return totals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solver", default="sgd", choices=["sgd", "adam"])
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=60000)
    args = parser.parse_args(argv)
    X, y = mnist_data(args.rows)
    rate = 0.05 if args.solver == "sgd" else 0.001

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gn.MLPClassifier((256, 256), solver=args.solver, momentum=args.momentum,
                             learning_rate_init=rate, batch_size=256, alpha=0.0, max_iter=1,
                             random_state=0).fit(X, y)

    fit()
    runs = []
    for _ in range(args.repeat):
        profiler = cProfile.Profile()
        profiler.runcall(fit)
        stats = pstats.Stats(profiler)
        runs.append((stats.total_tt, classify(stats)))
    print(f"# where one fit's time goes: glassnet {gn.__version__} from "
          f"{os.path.dirname(gn.__file__)}, solver {args.solver}"
          f"{f', momentum {args.momentum}' if args.momentum else ''}, "
          f"median of {args.repeat} profiled fits\n")
    print("| work | seconds per fit | share |")
    print("|---|---|---|")
    total = statistics.median(t for t, _ in runs)
    for kind in runs[0][1]:
        seconds = statistics.median(r[kind] for _, r in runs)
        print(f"| {kind} | {seconds:.3f} | {seconds / total:.0%} |")
    print(f"| **the whole fit (profiled)** | **{total:.3f}** | |")


if __name__ == "__main__":
    main()
