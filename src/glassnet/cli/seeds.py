"""``glassnet train --seeds N``: the same configuration from N seeds, trained together.

On a small data set one run's test score is partly luck: the initial weights
and the shuffles. The other seeds (``--seed + 1`` … ``--seed + N − 1``; the
run's own model is the first) are trained as one stack
(:func:`glassnet.estimators.fit_many`) on the same training rows, and the
report gives each test metric's mean ± standard deviation over the N seeds;
``metrics.json`` keeps the table under ``seeds``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .report import evaluate_rows, fmt

__all__ = ["seed_table", "seeds_lines"]


def seed_table(estimator, n_seeds, prepared, X_train, y_train, X_test, y_test, first_metrics):
    """metrics.json's ``seeds``: ``per_seed`` (the seed, its epochs and test metrics,
    or the error of a seed whose fit failed) and each numeric test metric's
    ``mean`` and ``std`` (population) over the seeds that trained."""
    from ..estimators import fit_many

    first = int(estimator.random_state)
    # made from the parameters, not cloned: a clone deep-copies the run's callbacks
    # (a progress bar's console holds a lock, a tracker the data) only to drop them
    settings = {**estimator.get_params(deep=False), "callbacks": None, "verbose": False}
    others = [type(estimator)(**{**settings, "random_state": first + k})
              for k in range(1, n_seeds)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the run's own warnings speak for the configuration
        fitted = fit_many([(other, X_train, y_train) for other in others])
    per_seed = [{"seed": first, "epochs": int(estimator.n_iter_), "test": first_metrics}]
    for k, result in enumerate(fitted, start=1):
        if isinstance(result, BaseException):
            per_seed.append({"seed": first + k, "error": str(result)})
        else:
            per_seed.append({"seed": first + k, "epochs": int(result.n_iter_),
                             "test": evaluate_rows(result, prepared, X_test, y_test)})
    trained = [row["test"] for row in per_seed if "test" in row]
    names = [name for name, value in first_metrics.items() if name != "n_samples"
             and isinstance(value, (int, float)) and not isinstance(value, bool)
             and all(isinstance(m.get(name), (int, float)) for m in trained)]
    summary = {}
    for name in names:
        values = np.array([m[name] for m in trained], dtype=float)
        summary[name] = {"mean": float(values.mean()), "std": float(values.std())}
    return {"n": n_seeds, "trained": len(trained), "per_seed": per_seed, "test": summary}


def seeds_lines(seeds):
    """The report's lines: each test metric as mean ± std over the seeds."""
    lines = [f"over {seeds['trained']} seeds (trained together; per seed in metrics.json):"]
    for name, stats in seeds["test"].items():
        lines.append(f"  test {name}: {fmt(stats['mean'])} ± {fmt(stats['std'])}")
    failed = seeds["n"] - seeds["trained"]
    if failed:
        lines.append(f"  {failed} seed(s) failed to train (see metrics.json)")
    return lines
