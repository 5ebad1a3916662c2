"""``glassnet search``: a hyper-parameter search on this machine or on a Dask cluster.

The search is scikit-learn's (see :mod:`glassnet.search`), its fits run by
joblib: in this process, in local worker processes (``--n-jobs``), or on a Dask
cluster (``--dask``) through joblib's ``"dask"`` backend.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import replace

import click
import numpy as np

from ..baselines import fit_baselines, primary_metric
from ..io import Scaler, save_model, write_text
from ..tables import prepare
from .advice import as_search_params, run_notes
from .engine import fitted_network
from .errors import CLIError, debug_option
from .options import (
    EARLY_STOPPING_HELP,
    SCALE_CHOICES,
    SCALE_TARGET_HELP,
    data_options,
    early_stopping_for,
)
from .outputs import OutDir, Outputs, follow_symlinks_option, run_directory
from .report import baseline_metrics, evaluate_rows, fmt, print_report
from .stopping import stop_record
from .train import model_metadata


@click.command("search")
@click.argument("data")
@data_options(missing_help="Missing values: fail, drop those rows, or fill with medians "
              "learnt inside each fold.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUES",
              help="A parameter and its values, repeatable: a list (hidden=15,32,64,32x16; "
              "solver=adam,sgd) or a range, uniform (momentum=0.5:0.99) or log-uniform "
              "(lr=1e-4:1e-1:log). NAME is hidden, lr, solver, alpha, batch_size, activation, "
              "momentum, epochs, patience or any MLPClassifier/MLPRegressor parameter; one "
              "value fixes it (epochs=50).")
@click.option("--n-iter", type=click.IntRange(min=1), default=40, show_default=True,
              help="Configurations drawn by a random search (starting ones for --halving).")
@click.option("--cv", type=click.IntRange(min=2), default=5, show_default=True,
              help="Cross-validation folds (stratified for classification).")
@click.option("--halving", is_flag=True, help="Successive halving: all configurations on a "
              "few rows, the best third on three times as many, and so on.")
@click.option("--scoring", help="A scikit-learn scorer name (roc_auc, f1_macro, "
              "neg_mean_absolute_error, ...).  [default: accuracy; r2 for regression]")
@click.option("--n-jobs", type=int, help="Fits at once on this machine (-1: one per core); "
              "with --dask local, the number of worker processes.  [default: 1]")
@click.option("--dask", "dask_address", metavar="tcp://HOST:PORT|local",
              help="Run the fits on the Dask scheduler at this address, or on a local "
              "Dask cluster started for this search (needs the dask extra).")
@click.option("--connect-timeout", type=click.FloatRange(min=0, min_open=True), default=5.0,
              show_default=True, help="Seconds to wait for the Dask scheduler and a worker.")
@click.option("--stall-timeout", type=click.FloatRange(min=0, min_open=True), default=300.0,
              show_default=True, help="With --dask: stop with an error (keeping the results "
              "so far) when a round of fits makes no progress for this many seconds; a round "
              "that lost a worker runs again at once.")
@click.option("--scale", type=click.Choice(SCALE_CHOICES), default="standard",
              show_default=True, help="Feature scaling, fitted on each fold's training rows.")
@click.option("--scale-target/--no-scale-target", default=True,
              help=SCALE_TARGET_HELP.replace("training rows", "training rows of each fold"))
@click.option("--early-stopping/--no-early-stopping", default=None, help=EARLY_STOPPING_HELP)
@click.option("--test-size", type=click.FloatRange(0, 1, max_open=True), default=0.2,
              show_default=True, help="Fraction held out (stratified) for the best "
              "configuration's test metrics; the search never sees these rows.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the split, the folds, the random draws and every network.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Configurations shown in the printed table.")
@click.option("--out", "out_dir", type=OutDir(),
              help="Output directory; default runs/search-<data>-<timestamp>.")
@click.option("--quiet", is_flag=True, help="No progress output, only the report.")
@follow_symlinks_option
@debug_option
def search(data, target, params, n_iter, cv, halving, scoring, n_jobs, dask_address,
           connect_timeout, stall_timeout, scale, scale_target, early_stopping, test_size, seed, missing,
           one_hot, task, sep, top, out_dir, quiet, debug):
    """Search hyper-parameters on DATA by cross-validation, then refit the best.

    A grid search when every --param is a list, a random search of --n-iter
    configurations when any is a range; --halving for successive halving. The
    encoding and scaling are learnt inside each fold. Writes results.csv (every
    configuration and fold), search.png (score against each parameter),
    search.json, and the best configuration refitted on the training rows as
    model.glassnet with its held-out metrics.json and baselines. A regression
    target is standardised and regression stops early by default, as in
    glassnet train. Ctrl-C stops the search and writes the results gathered so
    far, marked incomplete.

    \b
    Examples:
      glassnet search wisconsin --param hidden=15,32,64,32x16 --param lr=1e-4:1e-1:log \\
          --param solver=adam,sgd --n-iter 40 --cv 5 --n-jobs 2
      glassnet search my.csv --target label --param alpha=1e-5:1e-1:log --dask local
      glassnet search wisconsin --param hidden=8:256:log --halving --dask tcp://10.0.0.5:8786
    """
    from sklearn.metrics import get_scorer_names

    from ..estimators import MLPClassifier, MLPRegressor
    from ..search import (
        SearchStalledError,
        describe_value,
        is_grid,
        is_log,
        make_pipeline,
        make_search,
        plain_value,
        raw_features,
        split_raw,
    )

    if not params:
        raise click.UsageError("give at least one --param NAME=VALUES to search over, e.g. "
                               "--param hidden=15,32 --param lr=1e-4:1e-1:log")
    if scoring is not None and scoring not in get_scorer_names():
        raise click.BadParameter(f"{scoring!r} is not a scikit-learn scorer name; e.g. "
                                 f"accuracy, roc_auc, f1_macro, r2, neg_mean_absolute_error",
                                 param_hint="'--scoring'")
    loading_started = time.perf_counter()
    prepared = prepare(data, target=target, missing=missing, one_hot=one_hot, sep=sep, task=task)
    classification = prepared.task == "classification"
    estimator = MLPClassifier(random_state=seed) if classification else MLPRegressor(
        random_state=seed, scale_target=scale_target)
    space, labels, varying = _space(params, estimator)
    rows = split_raw(prepared, raw_features(prepared, data, sep), test_size, seed)
    estimator.set_params(early_stopping=early_stopping_for(  # as train does, on a fold's rows
        prepared.task, early_stopping, len(rows.y_train) * (cv - 1) // cv))
    loading = time.perf_counter() - loading_started
    smallest = np.unique(rows.y_train, return_counts=True)[1].min() if classification else len(
        rows.y_train)
    if smallest < cv:
        raise CLIError(f"--cv {cv} is more than the smallest class has training rows "
                       f"({smallest})" if classification else
                       f"--cv {cv} is more than the {smallest} training rows")
    kind = ("halving " if halving else "") + ("grid" if is_grid(space) else "random")
    score_name = scoring or ("accuracy" if classification else "r2")
    display = _Display(score_name, varying, describe_value, quiet)
    found = make_search(make_pipeline(estimator, prepared.schema, prepared.missing, scale),
                        space, n_iter=n_iter, cv=cv, halving=halving, scoring=scoring,
                        n_jobs=-1 if dask_address else n_jobs, random_state=seed,
                        on_round=display.update)

    interrupted, stalled = False, None
    with _backend(dask_address, n_jobs, connect_timeout, stall_timeout) as (where, watchdog):
        found.watchdog = watchdog
        display.start(f"{kind} search on {len(rows.y_train)} rows of {data}, {cv} folds, "
                      f"{where}")
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                _quiet_fit_warnings()
                found.fit(rows.X_train, rows.y_train)
        except KeyboardInterrupt:
            interrupted = True
        except SearchStalledError as exc:
            interrupted, stalled = True, str(exc)
        finally:
            display.stop()
        seconds = time.perf_counter() - started
    reporting_started = time.perf_counter()
    progress = getattr(found, "progress_", None)
    results = (progress.results if progress is not None else {}) if interrupted else \
        found.cv_results_
    summary = {
        "search": kind, "data": data, "target": prepared.target, "task": prepared.task,
        "scoring": score_name, "cv": cv, "seed": seed, "where": where,
        "parameters": {label: text.split("=", 1)[1].strip()
                       for label, text in zip(labels.values(), params)},
        "configurations": len({repr(sorted(p.items())) for p in results.get("params", [])}),
        "fits_done": progress.fits_done if progress else 0,
        "fits_total": progress.fits_total if progress else 0,
        "complete": not interrupted, "interrupted": interrupted and not stalled,
        "error": stalled, "seconds": round(seconds, 3),
        "rounds_repeated": getattr(found, "rounds_repeated_", 0),
    }
    configs = _configurations(results, varying, describe_value)
    best = None
    if configs:
        best = configs[found.best_index_] if not interrupted else min(
            configs, key=lambda c: (c["rank"], c["config"]))
        summary["best"] = {"config": best["config"],
                           "params": {labels[k]: plain_value(v) for k, v in
                                      results["params"][best["config"]].items()},
                           "mean_score": best["mean"], "std_score": best["std"]}

    with Outputs(out_dir or run_directory(data, prefix="search-")) as outputs:
        write_text(outputs.path("results.csv"), _results_csv(results, labels))
        write_text(outputs.path("search.json"), json.dumps(summary, indent=2) + "\n")
        if configs:
            from .. import plots as figures

            log_scale = [labels[f"model__{n}"] for n, v in space.items() if is_log(v)]
            title = (f"{kind.capitalize()} search: {summary['configurations']} configurations, "
                     f"{cv}-fold {score_name}" + (" (incomplete)" if interrupted else ""))
            figure = figures.search_figure(configs, list(varying.values()), score_name,
                                           log_scale, best=best["config"], title=title)
            figures.save_figure(figure, outputs.path("search.png"))
        if not interrupted:
            metrics, fitted, model_path = _save_best(found, prepared, rows, data, summary,
                                                     outputs, loading)
        written = list(outputs.written)

    _print_search(summary, configs, varying, score_name, top)
    if stalled:
        click.echo("wrote:\n" + "\n".join(f"  {path}" for path in written))
        raise CLIError(f"the search stopped after {summary['fits_done']} of "
                       f"{summary['fits_total']} fits: {stalled}. The results so far are "
                       f"incomplete (search.json: \"complete\": false) and no model was "
                       f"refitted")
    if interrupted:
        click.echo(f"note: interrupted by Ctrl-C after {summary['fits_done']} of "
                   f"{summary['fits_total']} fits; the outstanding fits were cancelled. "
                   f"The results are incomplete (search.json: \"complete\": false) and no "
                   f"model was refitted")
        click.echo("wrote:\n" + "\n".join(f"  {path}" for path in written))
        raise click.exceptions.Exit(130)
    click.echo(f"best configuration, refitted on the {len(rows.y_train)} training rows:")
    print_report(metrics, fitted, written, outputs.final(model_path), data,
                 time.perf_counter() - reporting_started, held_out=rows.note is None)


def _space(params, estimator):
    """The ``--param`` options as a search space (estimator parameter -> values), the
    name each was given by (keyed by pipeline parameter, ``model__...``), and those of
    them searched over (more than one value; one value is a fixed setting)."""
    from ..search import parse_param

    space, labels = {}, {}
    for text in params:
        try:
            name, values = parse_param(text, estimator)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--param'") from None
        if name in space:
            raise click.BadParameter(f"{name} is given twice", param_hint="'--param'")
        space[name], labels[f"model__{name}"] = values, text.split("=", 1)[0].strip()
    varying = {f"model__{name}": labels[f"model__{name}"] for name, values in space.items()
               if not (isinstance(values, list) and len(values) == 1)}
    return space, labels, varying


def _save_best(found, prepared, rows, data, summary, outputs, loading):
    """The refitted best pipeline as ``model.glassnet`` (its encoding and scaler learnt
    on the training rows) and ``metrics.json`` (train and held-out test metrics, as
    ``train`` writes them). Returns ``(metrics, prepared as the model encodes it,
    model path)``."""
    best = found.best_estimator_
    model, encoder = best.named_steps["model"], best.named_steps["encode"]
    fitted = replace(prepared, schema=encoder.schema_, feature_names=encoder.feature_names_)
    stopped = stop_record(model, model.max_iter, [])  # in metrics.json, as train writes it
    notes = [*prepared.notes] + ([rows.note] if rows.note else [])
    if stopped["reason"] == "interrupted":
        notes.insert(0, f"the refit of the best configuration was interrupted by Ctrl-C after "
                        f"{model.n_iter_} epoch(s); the model is what was trained")
    notes += _failure_notes(found.cv_results_)
    if summary["rounds_repeated"]:
        notes.append(f"{summary['rounds_repeated']} round(s) of fits ran again after a Dask "
                     f"worker was lost with data they needed")
    refit = round(float(found.refit_time_), 4)
    metrics = {"train": evaluate_rows(best, fitted, rows.X_train, rows.y_train),
               "test": evaluate_rows(best, fitted, rows.X_test, rows.y_test),
               "task": prepared.task, "epochs": int(model.n_iter_), "stopped": stopped,
               "seconds": refit, "interrupted": stopped["reason"] == "interrupted",
               "notes": notes, "timings": {"loading": round(loading, 4), "training": refit,
                                           "search": summary["seconds"]}}
    features = best[:-1]  # the encoding and scaling the refit learnt: the baselines' input
    seen = replace(rows, X_train=features.transform(rows.X_train),
                   X_test=features.transform(rows.X_test))
    metrics["baselines"] = baseline_metrics(
        fit_baselines(prepared.task, seen.X_train, rows.y_train, prepared.classes), fitted, seen)
    # the notes train prints, from the refit's own history, in --param terms
    notes += [as_search_params(note) for note in run_notes(model, {
        "task": prepared.task, "epochs": model.max_iter, "lr": model.learning_rate_init,
        "solver": model.solver, "hidden": tuple(np.atleast_1d(model.hidden_layer_sizes)),
        "alpha": model.alpha, "dropout": model.dropout,
        "scale": best.named_steps["scale"].kind,
        "scale_target": bool(getattr(model, "scale_target", False)),
        "early_stopping": model.early_stopping, "metric": primary_metric(prepared.task),
        "rows": "test" if rows.note is None else "training"}, metrics, stopped,
        X=seen.X_train)]
    target_scaler = None
    if getattr(model, "target_offset_", None) is not None:
        target_scaler = Scaler("standard", model.target_offset_, model.target_scale_)
    model_path = outputs.path("model.glassnet")
    save_model(model_path, fitted_network(model), best.named_steps["scale"].scaler_,
               model_metadata(fitted, model, data, len(rows.y_train), stopped),
               target_scaler=target_scaler)
    write_text(outputs.path("metrics.json"), json.dumps(metrics, indent=2) + "\n")
    return metrics, fitted, model_path


@contextmanager
def _backend(address, n_jobs, timeout, stall_timeout):
    """Where the fits run, as the ``joblib`` backend of the block: this process or
    local processes (``address`` None), a local Dask cluster started for the block
    (``'local'``), or the Dask scheduler at ``address``. Yields a description and,
    on Dask, a :class:`~glassnet._dask_watchdog.RoundWatchdog` (else None)."""
    if address is None:
        from joblib import effective_n_jobs

        workers = effective_n_jobs(n_jobs)
        yield ("in this process" if workers == 1 else f"{workers} local processes"), None
        return
    try:
        from distributed import Client, LocalCluster
        from joblib import parallel_config
    except ImportError as exc:
        raise CLIError(f"--dask needs the dask extra ({exc.name} is missing): "
                       f"pip install 'glassnet[dask]'") from None
    if address == "local":
        n_workers = n_jobs if n_jobs and n_jobs > 0 else os.cpu_count() or 1
        # Worker processes started while SIGINT is ignored keep ignoring it: Ctrl-C
        # at a terminal reaches the whole process group, and the search, not each
        # worker, handles it (by closing the cluster), without a traceback per worker.
        with _sigint_ignored():
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.ERROR)
        client = Client(cluster)
        where = f"a local Dask cluster of {n_workers} worker processes"
    else:
        cluster = None
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise CLIError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                           f"({' '.join(str(exc).split()) or type(exc).__name__}); is "
                           f"`dask scheduler` running there?") from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            client.close()
            raise CLIError(f"the Dask scheduler at {address} has no workers (waited "
                           f"{timeout:g} s); start some with: dask worker {address}") from None
        threads = sum(client.nthreads().values())
        where = f"the Dask cluster at {address} ({threads} worker threads)"
    from .._dask_watchdog import RoundWatchdog

    watchdog = RoundWatchdog(client, stall_timeout)
    # joblib's Dask backend scatters a round's arguments in callbacks on the
    # client's event loop; when a worker dies there, the error is logged there
    # with a traceback and reaches nothing else: the watchdog runs that round again
    loop_log = logging.getLogger("tornado.application")
    level, loop_log.level = loop_log.level, logging.CRITICAL
    try:
        with parallel_config(backend="dask"):
            yield where, watchdog
    finally:
        watchdog.close()
        loop_log.setLevel(level)
        # Closing the client releases every task it still wanted: after Ctrl-C
        # the scheduler starts no more fits of this search.
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def _sigint_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _quiet_fit_warnings():
    """The fits' own warnings (ConvergenceWarning for a short --param epochs, failed
    fits) are summarised in the report instead of printed once per fold."""
    from sklearn.exceptions import ConvergenceWarning, FitFailedWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", FitFailedWarning)
    warnings.filterwarnings("ignore", message="Training interrupted by user")


def _configurations(results, labels, describe):
    """One dict per configuration of ``cv_results_`` for the table and the figure."""
    configs = []
    for i, params in enumerate(results.get("params", [])):
        values = {labels.get(k, k): (v if isinstance(v, (int, float, np.number))
                                     and not isinstance(v, bool) else describe(v))
                  for k, v in params.items() if k in labels}
        config = {"config": i, "rank": int(results["rank_test_score"][i]),
                  "values": values, "shown": {k: describe(v) for k, v in values.items()},
                  "mean": float(results["mean_test_score"][i]),
                  "std": float(results["std_test_score"][i]),
                  "fit_time": float(results["mean_fit_time"][i])}
        if "iter" in results:
            config["iteration"] = int(results["iter"][i])
            config["n_resources"] = int(results["n_resources"][i])
        configs.append(config)
    return configs


def _results_csv(results, labels):
    from ..search import results_rows

    rows = results_rows(results, labels) if results else []
    buffer = io.StringIO()
    columns = list(rows[0]) if rows else ["config", "rank", *labels.values(), "fold", "score"]
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return buffer.getvalue()


def _failure_notes(results):
    failed = int(np.sum(~np.isfinite(np.asarray(results["mean_test_score"], dtype=float))))
    if not failed:
        return []
    note = (f"{failed} configuration(s) failed to fit on some fold (training diverged, say) "
            f"and rank last, their score nan in results.csv")
    return [note]


def _print_search(summary, configs, labels, score_name, top):
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"glassnet: {summary['search']} search of {summary['target']!r} on "
                  f"{summary['data']}: {summary['configurations']} configurations, "
                  f"{summary['fits_done']} fits in {summary['seconds']:.2f} s "
                  f"({summary['where']})")
    fixed = [f"{label}={value}" for label, value in summary["parameters"].items()
             if label not in labels.values()]
    if fixed:
        console.print(f"every fit with {', '.join(fixed)}")
    if not configs:
        return
    halving = "iteration" in configs[0]
    # successive halving: the last iteration (on the most rows) decides, so it comes first
    shown = sorted(configs, key=lambda c: (-c.get("iteration", 0), c["rank"], c["config"]))[:top]
    console.print(f"top {len(shown)} by mean {score_name} over {summary['cv']} folds"
                  + (" (successive halving's last iteration first)" if halving else "") + ":")
    table = RichTable()
    table.add_column("rank", justify="right")
    for label in labels.values():
        table.add_column(label, justify="right")
    if halving:
        table.add_column("rows", justify="right")
    table.add_column(score_name, justify="right")
    table.add_column("fit time (s)", justify="right")
    for position, config in enumerate(shown, start=1):
        rank = position if halving else config["rank"]
        cells = [str(rank), *[config["shown"].get(label, "") for label in labels.values()]]
        if halving:
            cells.append(str(config["n_resources"]))
        cells += [f"{fmt(config['mean'])} ± {fmt(config['std'])}", f"{config['fit_time']:.2f}"]
        table.add_row(*cells)
    console.print(table)


class _Display:
    """The live progress line on standard error: fits done of the total and the best
    mean score so far, as a rich bar on a terminal, else a plain line every 10% of
    the fits (and whenever the best improves)."""

    def __init__(self, score_name, labels, describe, quiet):
        self.score_name, self.labels, self.describe, self.quiet = (score_name, labels, describe,
                                                                   quiet)
        self.bar = None
        self.printed_at = -1.0
        self.best = None

    def start(self, what):
        from rich.console import Console

        if self.quiet:
            return
        click.echo(f"searching: {what}", err=True)
        console = Console(stderr=True)
        if console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn("fits"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[best]}"), TimeElapsedColumn(),
                                console=console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("search", total=None, best="")

    def update(self, progress):
        if self.quiet:
            return
        best = ""
        if progress.best_score is not None:
            shown = ", ".join(f"{label}={self.describe(progress.best_params[key])}"
                              for key, label in self.labels.items())
            best = f"best {self.score_name} {progress.best_score:.4f} ({shown})"
        if self.bar is not None:
            self.bar.update(self.task, completed=progress.fits_done, total=progress.fits_total,
                            best=best)
            return
        share = progress.fits_done / max(1, progress.fits_total)
        if (share - self.printed_at >= 0.1 or progress.best_score != self.best
                or progress.fits_done == progress.fits_total):
            click.echo(f"fits {progress.fits_done}/{progress.fits_total}: {best}", err=True)
            self.printed_at, self.best = share, progress.best_score

    def stop(self):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


command = search
