"""Hyper-parameter search: scikit-learn's searches over glassnet's estimators.

The search itself is scikit-learn's (``GridSearchCV``, ``RandomizedSearchCV``,
``HalvingGridSearchCV``, ``HalvingRandomSearchCV``) running its fits through
joblib, so ``with joblib.parallel_config(backend="dask"):`` and a
``distributed.Client`` move them onto a Dask cluster. What this module adds:

- :func:`parse_param`: ``"hidden=15,32x16"``, ``"lr=1e-4:1e-1:log"`` into an
  estimator parameter and its candidate values (a list) or a
  ``scipy.stats`` distribution (``uniform``, ``loguniform``, ``randint``);
- :func:`make_pipeline`: the command line's preprocessing as a
  ``Pipeline`` (:class:`TableEncoder`, :class:`FeatureScaler`, the model), so
  that the encoding and the scaling are fitted inside each fold, on that
  fold's training rows only;
- :func:`make_search`: the scikit-learn search for a parameter space (a grid
  when every parameter is a list, random search when any is a range, or
  successive halving), which evaluates its candidates in rounds and reports
  after each (:class:`SearchProgress`): what a progress line shows, and what
  is kept when a search is interrupted;
- :func:`raw_features` and :func:`results_rows`: a prepared table as raw
  columns for the pipeline, and the results one row per configuration and fold.

Example::

    import glassnet
    from glassnet.search import make_search, parse_param

    space = dict(parse_param(p) for p in ["hidden=15,32,64", "lr=1e-4:1e-1:log"])
    search = make_search(glassnet.MLPClassifier(random_state=0), space, n_iter=20)
    search.fit(X, y)
    search.best_params_, search.best_score_
"""

from __future__ import annotations

import math
from concurrent.futures import CancelledError
from dataclasses import dataclass, replace

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.experimental import enable_halving_search_cv  # noqa: F401  (enables the imports)
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    KFold,
    RandomizedSearchCV,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline

from ._dask_watchdog import SearchStalledError
from .datasets import feature_names
from .io import Scaler

__all__ = [
    "ALIASES",
    "STACKABLE",
    "FeatureScaler",
    "SearchProgress",
    "SearchStalledError",
    "TableEncoder",
    "describe_value",
    "is_grid",
    "is_log",
    "make_pipeline",
    "make_search",
    "parse_param",
    "plain_value",
    "raw_features",
    "results_rows",
    "split_raw",
    "stack_groups",
]

#: Short names the command line accepts for estimator parameters (any
#: parameter may also be given by its own name, e.g. ``beta_1``).
ALIASES = {
    "hidden": "hidden_layer_sizes",
    "lr": "learning_rate_init",
    "epochs": "max_iter",
    "batch-size": "batch_size",
    "patience": "n_iter_no_change",
}
_SHORT = {name: alias for alias, name in ALIASES.items() if "-" not in alias}

_WHOLE = ("batch_size", "max_iter", "n_iter_no_change", "max_fun")
_REAL = ("learning_rate_init", "alpha", "momentum", "tol", "beta_1", "beta_2", "epsilon",
         "power_t", "validation_fraction")
_FLAGS = ("early_stopping", "nesterovs_momentum", "shuffle")
_TEXT = ("solver", "activation", "learning_rate", "init", "loss", "schedule", "dtype")
# set by the search itself (the seed) or meaningless to search over
_FIXED = ("random_state", "callbacks", "verbose", "warm_start")


# -- parameter specifications ----------------------------------------------------------
class WholeNumbers:
    """Whole numbers from ``low`` to ``high`` inclusive, log-uniform: ``floor(x)`` for
    ``x ~ loguniform(low, high + 1)``. With ``layer=True`` each draw is a one-layer
    ``hidden_layer_sizes`` tuple ``(n,)``. (Uniform whole numbers are
    ``scipy.stats.randint``; a hidden-size range uses this class either way.)"""

    def __init__(self, low, high, log=True, layer=False):
        self.low, self.high, self.log, self.layer = int(low), int(high), log, layer

    def rvs(self, size=None, random_state=None):
        from scipy import stats

        if self.log:
            x = stats.loguniform(self.low, self.high + 1).rvs(size=size,
                                                              random_state=random_state)
            n = np.minimum(np.floor(x).astype(np.int64), self.high)
        else:
            n = stats.randint(self.low, self.high + 1).rvs(size=size, random_state=random_state)
        if size is None:
            return (int(n),) if self.layer else int(n)
        return [(int(v),) if self.layer else int(v) for v in np.ravel(n)]

    def __repr__(self):
        return f"WholeNumbers({self.low}, {self.high}, log={self.log}, layer={self.layer})"


def parse_param(text, estimator=None):
    """``"NAME=SPEC"`` -> ``(parameter, values)``.

    ``NAME`` is an estimator parameter or one of :data:`ALIASES` (``hidden``,
    ``lr``, ``epochs``, ``batch-size``, ``patience``). ``SPEC`` is either a
    comma-separated list (``15,32,64,32x16`` for hidden layers, ``adam,sgd``,
    ``1e-4,1e-3``) or a range ``low:high`` (uniform) or ``low:high:log``
    (log-uniform): ``scipy.stats.uniform``/``loguniform`` for real numbers,
    ``randint`` for whole ones, :class:`WholeNumbers` for a hidden-layer size.
    ``estimator``, when given, checks every listed value and both ends of a range
    against its parameter validation. Raises ``ValueError`` naming the problem.
    """
    if "=" not in text:
        raise ValueError(f"expected NAME=VALUES (e.g. hidden=15,32 or lr=1e-4:1e-1:log), "
                         f"got {text!r}")
    label, spec = (part.strip() for part in text.split("=", 1))
    name = ALIASES.get(label, label)
    known = set(estimator.get_params()) if estimator is not None else set(
        _WHOLE + _REAL + _FLAGS + _TEXT + ("hidden_layer_sizes",))
    if name in _FIXED:
        raise ValueError(f"{label} cannot be searched" + (" (the seed sets it)"
                                                          if name == "random_state" else ""))
    if name not in known:
        names = sorted({_SHORT.get(n, n) for n in known} - set(_FIXED))
        raise ValueError(f"unknown parameter {label!r}; known: {', '.join(names)}")
    if not spec:
        raise ValueError(f"{label}: no values after '='")
    if ":" in spec:
        values, low, high = _parse_range(label, name, spec)
        check = [(v,) if name == "hidden_layer_sizes" else v for v in (low, high)]
    else:
        values = [_parse_value(label, name, item.strip()) for item in spec.split(",")]
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"{label}: a value is listed twice in {spec!r}")
        check = values
    if estimator is not None:
        for value in check:
            _check_value(estimator, label, name, value)
    return name, values


def _parse_range(label, name, spec):
    from scipy import stats

    parts = spec.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
        raise ValueError(f"{label}: expected a range low:high or low:high:log, got {spec!r}")
    log = len(parts) == 3
    whole = name in _WHOLE or name == "hidden_layer_sizes"
    if not whole and name not in _REAL:
        raise ValueError(f"{label} takes a list of values, not a range ({spec!r})")
    try:
        low, high = (int(p) if whole else float(p) for p in parts[:2])
    except ValueError:
        kind = "whole numbers" if whole else "numbers"
        raise ValueError(f"{label}: the ends of the range {spec!r} must be {kind}") from None
    if not low < high:
        raise ValueError(f"{label}: a range needs low < high, got {spec!r}")
    if log and low <= 0:
        raise ValueError(f"{label}: a log range needs low > 0, got {spec!r}")
    if name == "hidden_layer_sizes":
        distribution = WholeNumbers(low, high, log=log, layer=True)
    elif whole:
        distribution = WholeNumbers(low, high) if log else stats.randint(low, high + 1)
    else:
        distribution = stats.loguniform(low, high) if log else stats.uniform(low, high - low)
    return distribution, low, high


def _parse_value(label, name, item):
    try:
        if name == "hidden_layer_sizes":
            return tuple(int(size) for size in item.lower().split("x"))
        if name == "batch_size" and item == "auto":
            return item
        if name in _WHOLE:
            return int(item)
        if name in _REAL:
            return float(item)
        if name in _FLAGS:
            return {"true": True, "false": False}[item.lower()]
    except (ValueError, KeyError):
        wanted = {"hidden_layer_sizes": "layer sizes like 32 or 32x16", "batch_size":
                  "a whole number or auto"}.get(name, "true or false" if name in _FLAGS else
                                                "a whole number" if name in _WHOLE else
                                                "a number")
        raise ValueError(f"{label}: expected {wanted}, got {item!r}") from None
    if name in _TEXT or not item:
        return item
    for convert in (int, float):  # another estimator parameter: its natural type
        try:
            return convert(item)
        except ValueError:
            pass
    return item


def _check_value(estimator, label, name, value):
    candidate = clone(estimator).set_params(**{name: value})
    try:
        candidate._check_params()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{label}={describe_value(value)}: {exc}") from None


def plain_value(value):
    """A parameter value for a file: numbers in full, hidden layers as ``32x16``."""
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value


def describe_value(value):
    """A parameter value as the command line writes it: ``32x16``, ``0.001``, ``adam``."""
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def is_log(values):
    """True for a log-uniform range (drawn on a logarithmic axis in ``search.png``)."""
    if isinstance(values, WholeNumbers):
        return values.log
    return getattr(getattr(values, "dist", None), "name", None) == "loguniform"


def is_grid(space):
    """True when every parameter of ``space`` is a list of values (a grid search)."""
    return all(isinstance(values, list) for values in space.values())


# -- the pipeline --------------------------------------------------------------------
class TableEncoder(TransformerMixin, BaseEstimator):
    """Raw feature columns to the network's inputs, the encoding learnt from the
    rows it is fitted on (the same encoding as :mod:`glassnet.tables`).

    Each column of ``X`` is one raw feature, as :func:`raw_features` gives it:
    a numeric column holds its values, a categorical one the index of its value
    in ``schema``'s ``categories``; NaN marks a missing cell. ``schema`` (from
    :func:`glassnet.tables.prepare`) gives each column's name, kind and every
    category the file holds. Fitting learns, from the fitted rows only, each
    numeric column's fill value (the median, when ``missing='median'``), each
    categorical column's categories (those present) and its fill value (the
    most frequent). ``schema_`` is that encoding in a model file's format, and
    ``transform`` matches :func:`glassnet.datasets.encode` with it: numbers
    as they are, one indicator column per category, a category the fitted
    rows never held as all zeros.
    """

    def __init__(self, schema=None, missing="error"):
        self.schema = schema
        self.missing = missing

    def fit(self, X, y=None):
        X = self._check(X)
        self.schema_, self.positions_ = [], []
        for j, column in enumerate(self.schema):
            values = X[:, j]
            present = values[~np.isnan(values)]
            if column["kind"] == "numeric":
                fill = column.get("fill")
                if self.missing == "median":  # these rows' median, as glassnet.tables computes it
                    fill = float(np.median(present)) if present.size else 0.0
                self.schema_.append({"name": column["name"], "kind": "numeric", "fill": fill})
                self.positions_.append(None)
                continue
            categories = column["categories"]
            counts = np.bincount(present.astype(np.int64), minlength=len(categories))
            seen = np.flatnonzero(counts)
            if not seen.size:
                raise ValueError(f"column {column['name']!r} has no values in the "
                                 f"{len(X)} rows it is fitted on")
            position = np.full(len(categories), -1)
            position[seen] = np.arange(seen.size)
            self.schema_.append({"name": column["name"], "kind": "categorical",
                                 "categories": [categories[i] for i in seen],
                                 "fill": categories[int(np.argmax(counts))]})
            self.positions_.append(position)
        self.feature_names_ = feature_names(self.schema_)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = self._check(X)
        parts = []
        for j, (column, position) in enumerate(zip(self.schema_, self.positions_)):
            values = X[:, j]
            gaps = np.isnan(values)
            if position is None:
                fill = column["fill"]
                parts.append(np.where(gaps, fill, values) if fill is not None else values)
                continue
            fill_code = self.schema[j]["categories"].index(column["fill"])
            index = position[np.where(gaps, fill_code, values).astype(np.int64)]
            block = np.zeros((len(X), len(column["categories"])))
            known = index >= 0  # a category these rows never held encodes as all zeros
            block[np.flatnonzero(known), index[known]] = 1.0
            parts.append(block)
        return np.column_stack(parts) if parts else np.empty((len(X), 0))

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.feature_names_, dtype=object)

    def _check(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.schema):
            raise ValueError(f"expected {len(self.schema)} raw feature columns "
                             f"({', '.join(c['name'] for c in self.schema)}), got shape "
                             f"{X.shape}")
        return X


class FeatureScaler(TransformerMixin, BaseEstimator):
    """:class:`glassnet.io.Scaler` as a scikit-learn transformer: fitted on the rows
    it is given (in a search, each fold's training rows); ``scaler_`` is what a
    model file stores."""

    def __init__(self, kind="standard"):
        self.kind = kind

    def fit(self, X, y=None):
        self.scaler_ = Scaler(self.kind).fit(np.asarray(X, dtype=np.float64))
        self.n_features_in_ = self.scaler_.offset.shape[0]
        return self

    def transform(self, X):
        return self.scaler_.transform(np.asarray(X, dtype=np.float64))


def make_pipeline(estimator, schema=None, missing="error", scale="standard"):
    """``Pipeline([("encode", TableEncoder), ("scale", FeatureScaler), ("model", estimator)])``.

    Without ``schema`` the input is already numeric and there is no ``encode``
    step. In a search every step is refitted on each fold's training rows.
    """
    steps = [] if schema is None else [("encode", TableEncoder(schema, missing))]
    steps += [("scale", FeatureScaler(scale)), ("model", estimator)]
    return Pipeline(steps)


def raw_features(prepared, data=None, sep=None):
    """The rows of a :class:`glassnet.tables.Prepared` as raw columns for a
    :class:`TableEncoder`: one column per ``prepared.schema`` entry, numbers as
    they are and categories as their index in the column's ``categories``.

    With ``missing='median'`` the cells that were missing in DATA (the file
    ``prepared`` was read from) are NaN again, so that each fold learns its own
    fill values.
    """
    columns, start = [], 0
    for column in prepared.schema:
        if column["kind"] == "numeric":
            columns.append(prepared.X[:, start])
            start += 1
        else:
            width = len(column["categories"])
            columns.append(prepared.X[:, start:start + width].argmax(axis=1).astype(np.float64))
            start += width
    raw = np.column_stack(columns) if columns else np.empty((len(prepared.y), 0))
    if prepared.missing == "median" and data is not None:
        from .tables import BUNDLED, read_data

        if data not in BUNDLED:  # bundled sets arrive filled by their loaders
            table = read_data(data, sep=sep)
            rows = ~table.parsed(prepared.target).missing  # prepare() drops these only
            for j, column in enumerate(prepared.schema):
                raw[table.parsed(column["name"]).missing[rows], j] = np.nan
    return raw


# -- the search ------------------------------------------------------------------------
@dataclass
class SearchProgress:
    """Where a search stands after a round: ``fits_done`` of ``fits_total`` (for
    successive halving, of the iterations started so far), the best mean score so
    far and its parameters (``None`` before any), and scikit-learn's
    ``cv_results_``-style ``results`` of every configuration evaluated."""

    fits_done: int
    fits_total: int
    best_score: float | None
    best_params: dict | None
    results: dict


class _InRounds:
    """Evaluate a scikit-learn search's candidates a round at a time.

    ``BaseSearchCV._run_search(evaluate_candidates)`` is scikit-learn's hook for
    custom searches: ``evaluate_candidates`` fits and scores a list of
    candidates through joblib and returns the results of every candidate so
    far. Here each call is split into rounds, so that ``on_round`` hears after
    each round and ``progress_`` always holds everything finished: what a
    progress line shows, and what is kept when Ctrl-C stops the search.

    Rounds cost time: the workers wait for a round's slowest fit, and each
    round hands joblib its arguments again. The first round is four fits per
    worker; later ones are as many fits as took ``round_seconds`` (2 s) at the
    pace measured so far, and never fewer than the first, so that this costs a
    few per cent while a long search still reports every couple of seconds.
    ``round_fits`` fixes the size instead.

    A round whose fits were cancelled is evaluated again (up to ``round_retries``
    times; ``rounds_repeated_`` counts them). On Dask this is how a search
    survives a lost worker: the scheduler reschedules the fits that were running
    there, but joblib's Dask backend scatters each call's arguments (the rows,
    each fold's indices) to one worker, and when that worker dies the fits that
    needed them are cancelled ("lost dependencies"); the repeated round scatters
    them again to the workers still alive. With a ``watchdog`` (the command
    line's ``--dask`` sets one; ``stall_seconds`` makes one for a fit under
    joblib's Dask backend), a round that lost a worker is stopped and run again
    at once, and one that makes no progress for ``stall_seconds`` stops the
    search with :class:`SearchStalledError` (see :mod:`glassnet._dask_watchdog`).
    """

    on_round = None
    watchdog = stall_seconds = None
    round_fits = None
    round_seconds = 2.0
    round_retries = 3

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        import time

        from joblib import effective_n_jobs

        n_splits = self.n_splits_
        smallest = self.round_fits or 4 * max(1, effective_n_jobs(self.n_jobs))
        pace = {"fits": smallest}  # the next round's size, in fits
        self.progress_ = SearchProgress(0, 0, None, None, {})
        self.rounds_repeated_ = 0

        def in_rounds(candidate_params, cv=None, more_results=None, callback_ctx=None):
            candidates = list(candidate_params)
            self.progress_.fits_total += len(candidates) * n_splits
            results, start = None, 0
            while start < len(candidates):
                size = max(1, math.ceil(pace["fits"] / n_splits))
                chunk = candidates[start:start + size]
                more = None if more_results is None else {
                    key: values[start:start + size] for key, values in more_results.items()}
                started = time.perf_counter()
                results = self._evaluate_round(evaluate_candidates, chunk, cv, more)
                fits = len(chunk) * n_splits
                if self.round_fits is None:
                    per_second = fits / max(time.perf_counter() - started, 1e-3)
                    pace["fits"] = max(smallest, per_second * self.round_seconds)
                start += len(chunk)
                self.progress_ = _progress(results, n_splits, self.progress_.fits_total,
                                           self.progress_.fits_done + fits)
                if self.on_round is not None:
                    self.on_round(self.progress_)
            return results

        context = {} if callback_ctx is None else {"callback_ctx": callback_ctx}
        super()._run_search(in_rounds, **context)

    def fit(self, X, y=None, **params):
        from ._dask_watchdog import watched_calls, watching

        with watching(self), watched_calls(self.watchdog):
            return super().fit(X, y, **params)

    def _evaluate_round(self, evaluate_candidates, chunk, cv, more):
        """One round, run again when a Dask worker was lost in it (at most
        ``round_retries`` times); under ``watchdog`` (a
        :class:`glassnet._dask_watchdog.RoundWatchdog`) a round that makes no
        progress raises :class:`SearchStalledError`."""
        from ._dask_watchdog import RoundStopped

        for attempt in range(1 + self.round_retries):
            try:  # the watchdog watches joblib's wait only (see fit): a stop raises from it
                return evaluate_candidates(chunk, cv, more)
            except CancelledError:
                # a Dask worker died holding data this round's fits needed
                if attempt == self.round_retries:
                    raise
            except RoundStopped:
                reason = self.watchdog.reason
                if not self.watchdog.lost:
                    raise SearchStalledError(reason) from None
                if attempt == self.round_retries:
                    raise SearchStalledError(f"{reason}, and the round was lost "
                                             f"{attempt + 1} times") from None
            self.rounds_repeated_ += 1


def _progress(results, n_splits, fits_total, fits_done):
    scores = np.asarray(results["mean_test_score"], dtype=np.float64)
    best_score = best_params = None
    if np.isfinite(scores).any():
        best = int(np.nanargmax(scores))
        best_score, best_params = float(scores[best]), results["params"][best]
    return SearchProgress(fits_done, fits_total, best_score, best_params, results)


# -- stacks: the candidates that share a shape, fitted together ------------------------------
#: Estimator parameters whose values may differ inside one stack (each member keeps
#: its own); candidates that differ in anything else go to different stacks.
STACKABLE = ("learning_rate_init", "alpha", "l1", "momentum", "nesterovs_momentum", "beta_1",
             "beta_2", "epsilon", "power_t", "tol", "n_iter_no_change", "max_iter",
             "learning_rate", "schedule", "random_state", "shuffle", "verbose")


def stack_groups(candidates, n_splits):
    """``{(split, shape): [(candidate index, params), …]}``: the fits of one fold whose
    candidates differ only in :data:`STACKABLE` parameters, in candidate order."""
    groups = {}
    for i, params in enumerate(candidates):
        shape = tuple(sorted((name, repr(value)) for name, value in params.items()
                             if name.rsplit("__", 1)[-1] not in STACKABLE))
        for split in range(n_splits):
            groups.setdefault((split, shape), []).append((i, params))
    return groups


def fit_stack_group(estimator, X, y, train, test, candidates, scorer, memory_budget=None):
    """Fit ``candidates`` (parameter dicts for ``estimator``) on the rows ``train``
    and score them on ``test``: one task of a stacked search.

    The preprocessing steps of a pipeline (the same for every candidate of a
    group) are fitted once; the models then go to
    :func:`glassnet.estimators.fit_many`, which trains those of one shape as
    one stack. Returns one dict per candidate in the form scikit-learn's
    searches record a fit (``test_scores``, ``n_test_samples``, ``fit_time``,
    ``score_time``, ``fit_error``); ``fit_time`` is the group's time shared
    equally among its members. A member whose scoring raises scores NaN with a
    ``UserWarning`` (its ``fit_error`` stays None), as scikit-learn's
    ``_fit_and_score`` does with ``error_score=np.nan``.
    """
    import time
    import traceback
    import warnings

    from sklearn.utils import _safe_indexing

    from .estimators import fit_many

    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    members = [clone(estimator).set_params(**clone(params, safe=False)) for params in candidates]
    started = time.time()
    failures = {}
    if isinstance(estimator, Pipeline):
        head = members[0][:-1]
        try:
            features = head.fit_transform(X_train, y_train)
        except Exception as exc:  # noqa: BLE001 - every member fails as its fit would
            failures = dict.fromkeys(range(len(members)), exc)
            features = None
        for member in members[1:]:
            member.steps[:-1] = members[0].steps[:-1]
        models = [member.steps[-1][1] for member in members]
    else:
        features, models = X_train, members
    if features is not None:
        fitted = fit_many([(model, features, y_train) for model in models], memory_budget)
        failures = {k: r for k, r in enumerate(fitted) if isinstance(r, BaseException)}
    fit_time = (time.time() - started) / len(members)
    out = []
    for k, member in enumerate(members):
        record = {"n_test_samples": len(test), "fit_time": fit_time, "score_time": 0.0,
                  "fit_error": None}
        if k in failures:
            exc = failures[k]
            record.update(test_scores=np.nan, fit_error="".join(
                traceback.format_exception(type(exc), exc, exc.__traceback__)))
        else:
            started = time.time()
            try:
                record["test_scores"] = scorer(member, X_test, y_test)
            except Exception:  # noqa: BLE001 - scikit-learn's _score with error_score=nan
                record["test_scores"] = np.nan
                warnings.warn("Scoring failed. The score on this train-test partition for these "
                              "parameters will be set to nan. Details: \n"
                              + traceback.format_exc(), UserWarning, stacklevel=2)
            record["score_time"] = time.time() - started
        out.append(record)
    return out


def _report_failures(out):
    """scikit-learn's rule for failed fits: a warning naming them, an error when all failed."""
    import warnings
    from collections import Counter

    from sklearn.exceptions import FitFailedWarning

    errors = [o["fit_error"] for o in out if o["fit_error"] is not None]
    if not errors:
        return
    summary = "\n".join(f"{n} fits failed with the following error:\n{error}"
                        for error, n in Counter(errors).items())
    if len(errors) == len(out):
        raise ValueError(f"All the {len(out)} fits failed.\n{summary}")
    warnings.warn(f"{len(errors)} fits failed out of a total of {len(out)}. The score on "
                  f"these train-test partitions for these parameters will be set to nan.\n"
                  f"{summary}", FitFailedWarning, stacklevel=3)


class _StackedFits:
    """A scikit-learn search whose fits run in stacks (:mod:`glassnet.stack`).

    ``fit`` is ``BaseSearchCV.fit`` for one score (``scoring`` a single
    scorer), with one change: the candidates of each round are grouped by
    fold and by shape (:func:`stack_groups`) and each group is one joblib
    task (:func:`fit_stack_group`), on this machine or a Dask cluster. The
    numbers are those of fitting one candidate and fold at a time (the
    weights to within the rounding of the matrix products); ``fit_time`` is
    each group's time shared among its fits. A group whose stacked arrays
    would pass ``memory_budget`` bytes (1 GiB by default) is trained as
    several stacks.
    """

    memory_budget = None
    #: Rounds of about 20 s instead of 2 (see :class:`_InRounds`; the first round
    #: stays four fits per worker): a stack costs far less than its members one
    #: at a time, and the pace measured on the small first round underestimates
    #: it, so the later rounds are made large enough to hold real stacks.
    round_seconds = 20.0

    def fit(self, X, y=None, **params):
        import time
        from collections import defaultdict

        from joblib import Parallel, delayed
        from sklearn.base import is_classifier
        from sklearn.model_selection import check_cv

        if params:  # sample weights, groups, routed metadata: scikit-learn's own way
            return super().fit(X, y, **params)
        self._validate_params()
        base = clone(self.estimator)
        self._checked_cv_orig = check_cv(self.cv, y, classifier=is_classifier(base))
        self.n_splits_ = n_splits = self._checked_cv_orig.get_n_splits(X, y)
        done = {"params": [], "out": [], "more": defaultdict(list), "results": {}}

        def evaluate_candidates(candidate_params, cv=None, more_results=None):
            candidates = list(candidate_params)
            splits = list((cv or self._checked_cv_orig).split(X, y))
            groups = stack_groups(candidates, n_splits)
            outs = parallel(delayed(fit_stack_group)(
                base, X, y, splits[split][0], splits[split][1], [p for _, p in members],
                self.scoring, self.memory_budget) for (split, _), members in groups.items())
            by_fit = {}
            for ((split, _), members), out in zip(groups.items(), outs):
                for (i, _), record in zip(members, out):
                    by_fit[i, split] = record
            out = [by_fit[i, split] for i in range(len(candidates)) for split in range(n_splits)]
            _report_failures(out)
            done["params"].extend(candidates)
            done["out"].extend(out)
            for key, values in (more_results or {}).items():
                done["more"][key].extend(values)
            done["results"] = self._format_results(done["params"], n_splits, done["out"],
                                                   done["more"])
            return done["results"]

        context = {}
        if hasattr(self, "_init_callback_context"):  # scikit-learn 1.9's callbacks
            root = self._init_callback_context(max_subtasks=1 + (self.refit is not False))
            context["callback_ctx"] = root.call_on_fit_task_begin(estimator=self, X=X, y=y,
                                                                  metadata=None)
        from ._dask_watchdog import watched_calls, watching

        with watching(self), watched_calls(self.watchdog):  # a lost worker costs a round
            parallel = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)
            with parallel:
                self._run_search(evaluate_candidates, **context)
        results = done["results"]
        self.multimetric_ = False
        self.best_index_ = self._select_best_index(self.refit, "score", results)
        self.best_score_ = results["mean_test_score"][self.best_index_]
        self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(base).set_params(**clone(self.best_params_, safe=False))
            started = time.time()
            self.best_estimator_.fit(X, y)
            self.refit_time_ = time.time() - started
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = self.scoring
        self.cv_results_ = results
        if context:
            context["callback_ctx"].call_on_fit_task_end(estimator=self, X=X, y=y, metadata=None)
        return self


class GridSearch(_InRounds, GridSearchCV):
    """``GridSearchCV`` evaluating its grid in rounds (see :class:`_InRounds`)."""


class RandomSearch(_InRounds, RandomizedSearchCV):
    """``RandomizedSearchCV`` evaluating its candidates in rounds."""


class StackedGridSearch(_StackedFits, GridSearch):
    """:class:`GridSearch` fitting its candidates in stacks (see :class:`_StackedFits`)."""


class StackedRandomSearch(_StackedFits, RandomSearch):
    """:class:`RandomSearch` fitting its candidates in stacks."""


class HalvingGridSearch(_InRounds, HalvingGridSearchCV):
    """``HalvingGridSearchCV`` evaluating each iteration's candidates in rounds."""


class HalvingRandomSearch(_InRounds, HalvingRandomSearchCV):
    """``HalvingRandomSearchCV`` evaluating each iteration's candidates in rounds."""


def make_search(estimator, space, *, n_iter=40, cv=5, halving=False, scoring=None,
                n_jobs=None, random_state=0, on_round=None, round_fits=None, refit=True,
                stall_seconds=None, stack=True, memory_budget=None):
    """The scikit-learn search for ``space`` over ``estimator``.

    ``space`` maps estimator parameters to lists or distributions (see
    :func:`parse_param`); when ``estimator`` is a :func:`make_pipeline`
    pipeline they are set on its ``model`` step. Every parameter a list: a grid
    search (``GridSearchCV``); any a distribution: ``n_iter`` random
    configurations (``RandomizedSearchCV``); ``halving=True``: successive
    halving over training rows (``HalvingGridSearchCV`` or
    ``HalvingRandomSearchCV`` with ``n_iter`` starting candidates, factor 3).
    ``cv`` is a number of folds (stratified for a classifier) shuffled by
    ``random_state``, or a splitter. ``on_round`` is called with a
    :class:`SearchProgress` after each round of fits (``round_fits`` fixes a
    round's size; see :class:`_InRounds`). Fits that fail (a diverging
    configuration) score NaN and rank last. After ``KeyboardInterrupt``, the
    search's ``progress_.results`` holds every configuration finished.

    On a Dask cluster (``with joblib.parallel_config(backend="dask"):``),
    ``stall_seconds`` puts a watchdog on the rounds: a round that lost a worker
    runs again on the others, and one that makes no progress for that long
    raises :class:`SearchStalledError` (``progress_``
    still holds what finished) instead of waiting forever.

    With ``stack=True`` (the default) and a glassnet estimator, a grid or
    random search fits the candidates of each round that share a shape and a
    fold as one stack (:class:`StackedGridSearch`, :mod:`glassnet.stack`):
    the same ``cv_results_`` as one fit at a time, in a fraction of the
    time; each group is one joblib (or Dask) task, and a group whose stacked
    arrays would pass ``memory_budget`` bytes (default
    :data:`glassnet.stack.MEMORY_BUDGET`, 1 GiB) is trained as several
    stacks. Successive halving fits one at a time.
    """
    from sklearn.base import is_classifier

    model = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    prefix = f"{estimator.steps[-1][0]}__" if isinstance(estimator, Pipeline) else ""
    space = {prefix + name: values for name, values in space.items()}
    if isinstance(cv, int):
        splitter = StratifiedKFold if is_classifier(model) else KFold
        cv = splitter(n_splits=cv, shuffle=True, random_state=random_state)
    common = {"scoring": _Scorer(scoring), "n_jobs": n_jobs, "cv": cv, "refit": refit,
              "error_score": np.nan}
    grid = is_grid(space)
    if halving:
        if grid:
            search = HalvingGridSearch(estimator, space, factor=3, min_resources="exhaust",
                                       random_state=random_state, **common)
        else:
            search = HalvingRandomSearch(estimator, space, n_candidates=n_iter, factor=3,
                                         min_resources="exhaust", random_state=random_state,
                                         **common)
    elif grid:
        search = (StackedGridSearch if stack and _stackable(model) else GridSearch)(
            estimator, space, **common)
    else:
        search = (StackedRandomSearch if stack and _stackable(model) else RandomSearch)(
            estimator, space, n_iter=n_iter, random_state=random_state, **common)
    search.on_round, search.round_fits = on_round, round_fits
    search.stall_seconds = stall_seconds
    search.memory_budget = memory_budget
    return search


def _stackable(model):
    from .estimators import MLPClassifier, MLPRegressor

    return isinstance(model, (MLPClassifier, MLPRegressor))


class _Scorer:
    """scikit-learn's scorer ``scoring`` (the estimator's own ``score`` when None),
    refusing the score of a fit that Ctrl-C cut short.

    glassnet's estimators, like scikit-learn's MLPs, treat Ctrl-C during ``fit``
    as "stop training here" and return the network as it is. In a search that
    fit is not a result: scoring it raises ``KeyboardInterrupt`` so that the
    search stops instead of recording a truncated fit and carrying on.
    """

    def __init__(self, scoring=None):
        self.scoring = scoring

    def __call__(self, estimator, X, y):
        from sklearn.metrics import check_scoring

        model = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
        history = getattr(model, "history_", None)
        if history is not None and getattr(history, "interrupted", False):
            raise KeyboardInterrupt
        return check_scoring(estimator, self.scoring)(estimator, X, y)


def results_rows(results, names=None):
    """``cv_results_`` as one row per configuration and fold (dicts, in order).

    Each row: ``config`` (the configuration's index), ``rank``, one column per
    parameter (named by ``names``, a mapping from the search's parameter names
    that also orders them, else the names with any ``model__`` prefix removed;
    values in full, hidden layers as ``32x16``), ``fold``, ``score``, the
    configuration's ``mean_score``, ``std_score``, ``mean_fit_time`` and
    ``mean_score_time`` (seconds), and for successive halving ``iteration`` and
    ``n_resources``. Folds not run (an interrupted search has none) are left out.
    """
    searched = [key[len("param_"):] for key in results if key.startswith("param_")]
    names = names or {p: p.split("__", 1)[-1] for p in searched}
    folds = sorted(int(key[5:].split("_")[0]) for key in results
                   if key.startswith("split") and key.endswith("_test_score"))
    halving = "iter" in results
    rows = []
    for i, config in enumerate(results["params"]):
        for fold in folds:
            row = {"config": i, "rank": int(results["rank_test_score"][i])}
            row.update({label: plain_value(config[p]) if p in config else ""
                        for p, label in names.items()})
            row.update(fold=fold, score=float(results[f"split{fold}_test_score"][i]),
                       mean_score=float(results["mean_test_score"][i]),
                       std_score=float(results["std_test_score"][i]),
                       mean_fit_time=float(results["mean_fit_time"][i]),
                       mean_score_time=float(results["mean_score_time"][i]))
            if halving:
                row.update(iteration=int(results["iter"][i]),
                           n_resources=int(results["n_resources"][i]))
            rows.append(row)
    return rows


def split_raw(prepared, raw, test_size, seed):
    """Training and test rows of ``raw`` as :func:`glassnet.tables.split` holds them out
    (the same rows as ``glassnet train`` with the same seed), unscaled: a
    :class:`glassnet.tables.Split`."""
    from .tables import split

    return split(replace(prepared, X=raw), test_size, seed, scale="none")
