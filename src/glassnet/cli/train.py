"""``glassnet train``: train a network on a CSV or a bundled data set, write a model,
metrics, history and plots, and print a report."""

from __future__ import annotations

import json
import math
import time
import warnings
from datetime import datetime

import click
import numpy as np

from ..baselines import fit_baselines, primary_metric
from ..io import Scaler, save_model, write_text
from ..tables import encode_targets, prepare, split
from ..training import LossLogger
from .advice import DivergenceGuard, LossExploded, run_notes
from .curvature import sharpness_metrics, sharpness_option, sharpness_tracker, write_sharpness
from .engine import fitted_network
from .errors import debug_option
from .health import (
    dynamics_option,
    health_metrics,
    health_recorder,
    update_ratio_columns,
    write_health,
)
from .options import (
    EARLY_STOPPING_HELP,
    SCALE_CHOICES,
    SCALE_TARGET_HELP,
    SCHEDULE_CHOICES,
    SOLVER_CHOICES,
    data_options,
    early_stopping_for,
    parse_activation,
    parse_batch_size,
    parse_hidden,
)
from .outputs import OutDir, Outputs, follow_symlinks_option, run_directory
from .progress import EpochCount, HeldOutCurve, PlainProgress, PrintSummary, RichProgress
from .report import baseline_metrics, evaluate_rows, history_csv, print_report, write_plots
from .stopping import diverged_message, exploded_message, stop_record

# Settings for bundled data sets where the general defaults do not fit: the
# four-row XOR problem needs a bigger learning rate and many full-batch epochs.
PRESETS = {
    "xor": {"hidden": "4", "activation": "tanh", "solver": "adam", "lr": 0.05,
            "epochs": 1000, "batch_size": "full", "scale": "none", "alpha": 0.0},
}
DEFAULTS = {"hidden": "100", "activation": "relu", "solver": "adam", "lr": 0.001,
            "epochs": 200, "batch_size": "auto", "scale": "standard", "alpha": 0.0001}


@click.command("train")
@click.argument("data")
@data_options()
@click.option("--out", "out_dir", type=OutDir(),
              help="Output directory; default runs/<data>-<timestamp>.")
@click.option("--hidden", help="Hidden layer sizes, e.g. 15 or 64,32.  [default: 100]")
@click.option("--activation", help="Hidden activation(s): relu, tanh, logistic, identity, "
              "leaky_relu; one, or one per layer (relu,tanh).  [default: relu]")
@click.option("--solver", type=click.Choice(SOLVER_CHOICES), help="Optimiser.  [default: adam]")
@click.option("--lr", type=float, help="Initial learning rate.  [default: 0.001]")
@click.option("--momentum", type=click.FloatRange(0, 1, max_open=True), default=0.9,
              show_default=True, help="Momentum for --solver sgd (0: plain gradient descent).")
@click.option("--nesterov/--no-nesterov", default=True, show_default=True,
              help="Nesterov momentum for --solver sgd.")
@click.option("--batch-size", help="Rows per step: an integer, 'full' (full-batch gradient "
              "descent) or 'auto' (min(200, rows)).  [default: auto]")
@click.option("--epochs", type=click.IntRange(min=1), help="Maximum epochs.  [default: 200]")
@click.option("--schedule", type=click.Choice(SCHEDULE_CHOICES), default="constant",
              show_default=True, help="Learning-rate schedule.")
@click.option("--alpha", type=click.FloatRange(min=0), help="L2 penalty.  [default: 0.0001]")
@click.option("--l1", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="L1 penalty on the weights, beside --alpha's L2.")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0,
              show_default=True, help="Probability of dropping each hidden unit in training.")
@click.option("--batch-norm", is_flag=True,
              help="Batch normalisation between each hidden layer's X·W + b and its activation.")
@click.option("--scale", type=click.Choice(SCALE_CHOICES), help="Feature scaling, fitted on the "
              "training rows.  [default: standard]")
@click.option("--scale-target/--no-scale-target", default=True, help=SCALE_TARGET_HELP)
@click.option("--test-size", type=click.FloatRange(0, 1, max_open=True), default=0.2,
              show_default=True, help="Fraction held out for testing (stratified); 0 trains "
              "and reports on all rows, as do data sets under 10 rows.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--seeds", "n_seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Also train seeds --seed+1 .. --seed+N-1 of the same configuration, "
              "together as one stack, and report each test metric's mean ± std over the N.")
@click.option("--log-every", type=click.IntRange(min=1),
              help="Print 'iteration N: loss X' every N steps (the tutorials' log).")
@click.option("--early-stopping/--no-early-stopping", default=None, help=EARLY_STOPPING_HELP)
@click.option("--patience", type=click.IntRange(min=1), default=10, show_default=True,
              help="Epochs without improvement (by --tol) before stopping.")
@click.option("--tol", type=click.FloatRange(min=0),
              help="Improvement that counts for --patience; 0 stops only when the loss stops "
              "falling.  [default: 0.0001, or 0 with --batch-size full, where an epoch is a "
              "single step and 10 small steps are no sign of convergence]")
@click.option("--plots", type=click.Choice(["basic", "all", "none"]), default="basic",
              show_default=True, help="basic: loss curve, confusion matrix and ROC curve "
              "(predicted vs actual for regression); all: also per-layer gradient norms, "
              "dead/saturated units and, for 2-D data, the decision boundary.")
@click.option("--quiet", is_flag=True, help="No progress output, only the report.")
@follow_symlinks_option
@sharpness_option
@dynamics_option
@debug_option
def train(data, target, out_dir, hidden, activation, solver, lr, momentum, nesterov, batch_size,
          epochs, schedule, alpha, l1, dropout, batch_norm, scale, scale_target, test_size, seed,
          n_seeds, log_every, early_stopping, patience, tol, missing, one_hot, task, sep, plots,
          quiet, track_sharpness, dynamics, debug):
    """Train a network on DATA and write a model, metrics, history and plots.

    DATA is a bundled data set (wisconsin, heart, xor) or a CSV file.

    A run ends after --epochs, or earlier when the loss stops improving by
    --tol for --patience epochs (or the held-out score, with early stopping);
    the report and metrics.json say which, and which flag changes it. The
    second example is the first tutorial's run: full-batch gradient descent
    (where --tol defaults to 0) for all 3000 iterations, logged every 500.

    A regression target is standardised for training and reported in its own
    units, and regression stops early by default (see --scale-target and
    --early-stopping). Beside the network's metrics the report shows
    baselines fitted on the same training rows: the majority class or the
    training mean, and logistic or ridge regression; when the network does
    worse than the linear model, a note says what to try.

    \b
    Examples:
      glassnet train wisconsin
      glassnet train wisconsin --hidden 15 --solver sgd --momentum 0 --batch-size full \\
          --lr 0.07 --epochs 3000 --scale minmax --log-every 500
      glassnet train patients.csv --target outcome --one-hot --missing median --out run1
      glassnet train heart --hidden 64,32 --batch-norm --dropout 0.2 --batch-size 32
    """
    from rich.console import Console

    preset = {**DEFAULTS, **PRESETS.get(data, {})}
    hidden = parse_hidden(hidden or preset["hidden"])
    activation = parse_activation(activation or preset["activation"], len(hidden))
    solver = solver or preset["solver"]
    lr = preset["lr"] if lr is None else lr
    for flag, value in (("--lr", lr), ("--alpha", alpha), ("--l1", l1), ("--tol", tol)):
        if value is not None and not math.isfinite(value):  # inf would blame --lr later
            raise click.BadParameter(f"must be a finite number, got {value}",
                                     param_hint=f"'{flag}'")
    if not lr > 0:
        raise click.BadParameter(f"must be > 0, got {lr}", param_hint="'--lr'")
    epochs = epochs or preset["epochs"]
    alpha = preset["alpha"] if alpha is None else alpha
    scale = scale or preset["scale"]
    batch_size = batch_size or preset["batch_size"]
    if tol is None:
        tol = 0.0 if batch_size == "full" else 1e-4

    from .. import estimators  # noqa: F401  (scikit-learn's import is not loading time)

    loading_started = time.perf_counter()
    prepared = prepare(data, target=target, missing=missing, one_hot=one_hot, sep=sep, task=task)
    console = Console(stderr=True)
    echo = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    rows = split(prepared, test_size, seed, scale=scale)
    Xs_train, Xs_test, y_train, y_test = rows.X_train, rows.X_test, rows.y_train, rows.y_test
    split_note = rows.note
    batch = parse_batch_size(batch_size, len(Xs_train))
    early_stopping = early_stopping_for(prepared.task, early_stopping, len(Xs_train))
    scale_target = scale_target and prepared.task == "regression"

    estimator = make_estimator(prepared.task, hidden, activation, solver, lr, momentum, nesterov,
                               batch, epochs, schedule, alpha, seed, early_stopping, patience, tol,
                               scale_target)
    estimator.set_params(l1=l1, dropout=dropout, batch_norm=batch_norm)
    if dropout and solver == "lbfgs":
        raise click.BadParameter("needs a stochastic --solver (sgd, adam, rmsprop, adamw)",
                                 param_hint="'--dropout'")
    counter, guard = EpochCount(), DivergenceGuard()
    callbacks = [counter, guard] if quiet else [counter, guard, PrintSummary(echo)]
    if log_every and not quiet:
        callbacks.append(LossLogger(every=log_every, print_fn=echo))
    elif not quiet and console.is_terminal:
        callbacks.append(RichProgress(epochs, console))
    elif not quiet:
        callbacks.append(PlainProgress(epochs, epochs // 10, echo))
    recorder = None
    if plots == "all" or dynamics is not None:
        from ..dynamics import DynamicsRecorder

        steps_per_epoch = 1 if batch == "auto" and len(Xs_train) <= 200 else math.ceil(
            len(Xs_train) / (min(200, len(Xs_train)) if batch == "auto" else batch))
        recorder = DynamicsRecorder(every=max(1, epochs * steps_per_epoch // 300))
        callbacks.append(recorder)
    curve, trained_on = None, encode_targets(prepared, y_train)
    # the losses in the units the network trains in
    in_units = Scaler("standard").fit(trained_on).transform if scale_target else np.asarray
    trained_on = in_units(trained_on)
    tracker = sharpness_tracker(track_sharpness, epochs, prepared, Xs_train, y_train, scale_target)
    if tracker is not None:
        callbacks.append(tracker)
    health = health_recorder(dynamics, epochs, prepared, Xs_train, y_train, scale_target)
    if health is not None:
        callbacks.append(health)
    if split_note is None:
        curve = HeldOutCurve(Xs_test, in_units(encode_targets(prepared, y_test)))
        callbacks.append(curve)
    estimator.set_params(callbacks=callbacks)
    echo(f"training {describe(prepared, hidden, activation, solver)} on {len(Xs_train)} rows"
         + (f", testing on {len(Xs_test)}" if split_note is None else f" ({split_note})")
         + (", target standardised" if scale_target else "")
         + (", stopping early on 10% of the training rows" if early_stopping else ""))
    started = time.perf_counter()
    loading = started - loading_started
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator.fit(Xs_train, y_train)
        except ValueError as exc:
            raise diverged_message(exc, counter.finished + 1, epochs, lr) or exc from None
        except LossExploded as exc:
            raise exploded_message(exc, epochs, lr, guard.stable_rate(
                solver, Xs_train, trained_on)) from None
    seconds = time.perf_counter() - started
    stopped = stop_record(estimator, epochs, caught)
    notes = [stopped["message"], *prepared.notes]
    if split_note:
        notes.append(split_note)
    interrupted = estimator.history_.interrupted
    metrics = {"train": evaluate_rows(estimator, prepared, Xs_train, y_train),
               "test": evaluate_rows(estimator, prepared, Xs_test, y_test),
               "task": prepared.task, "epochs": int(estimator.n_iter_), "stopped": stopped,
               "seconds": round(seconds, 4), "interrupted": bool(interrupted), "notes": notes,
               "timings": {"loading": round(loading, 4), "training": round(seconds, 4)}}
    if n_seeds > 1:  # the other seeds, trained together (glassnet.cli.seeds)
        from .seeds import seed_table

        metrics["seeds"] = seed_table(estimator, n_seeds, prepared, Xs_train, y_train, Xs_test,
                                      y_test, metrics["test"])
    baselines = fit_baselines(prepared.task, Xs_train, y_train, prepared.classes)
    metrics["baselines"] = baseline_metrics(baselines, prepared, rows)
    notes += run_notes(estimator, {
        "task": prepared.task, "epochs": epochs, "lr": lr, "solver": solver, "hidden": hidden,
        "alpha": alpha, "dropout": dropout, "scale": scale,
        "scale_target": scale_target, "early_stopping": early_stopping,
        "metric": primary_metric(prepared.task),
        "rows": "test" if split_note is None else "training"},
        metrics, stopped, curve, guard, Xs_train, trained_on)
    if tracker is not None:
        metrics["sharpness"] = sharpness_metrics(tracker, estimator.history_, solver, momentum,
                                                 nesterov)
    if health is not None:
        metrics["health"] = health_metrics(health)
    target_scaler = None
    if scale_target:
        target_scaler = Scaler("standard", estimator.target_offset_, estimator.target_scale_)

    out_dir = out_dir or run_directory(data)
    network = fitted_network(estimator)
    with Outputs(out_dir) as outputs:
        model_path = outputs.path("model.glassnet")
        save_model(model_path, network, rows.scaler, model_metadata(prepared, estimator, data,
                                                               len(Xs_train), stopped),
                   target_scaler=target_scaler)
        write_text(outputs.path("metrics.json"), json.dumps(metrics, indent=2) + "\n")
        n_epochs = len(estimator.history_.loss)
        write_text(outputs.path("history.csv"), history_csv(estimator.history_, curve, {
            **({"sharpness": tracker.by_epoch(n_epochs)} if tracker else {}),
            **update_ratio_columns(health, n_epochs)}))
        if plots != "none":
            write_plots(outputs, estimator, prepared, Xs_test, y_test, curve)
        if tracker is not None and plots != "none" and tracker.values:
            write_sharpness(outputs, tracker, estimator.history_, solver, momentum, nesterov)
        if health is not None:
            write_health(outputs, health)
        if recorder is not None and recorder.steps:
            from ..dynamics import write_training_dynamics

            proba = estimator.predict_proba if prepared.task == "classification" else None
            write_training_dynamics(outputs, recorder, proba, Xs_train, y_train,
                                    prepared.classes, prepared.feature_names)
        written = list(outputs.written)
    report = time.perf_counter() - started - seconds
    print_report(metrics, prepared, written, outputs.final(model_path), data, report,
                 held_out=split_note is None)
    if "seeds" in metrics:
        from .seeds import seeds_lines

        click.echo("\n".join(seeds_lines(metrics["seeds"])))


def make_estimator(task, hidden, activation, solver, lr, momentum, nesterov, batch, epochs,
                   schedule, alpha, seed, early_stopping, patience, tol, scale_target=False):
    from ..estimators import MLPClassifier, MLPRegressor
    from ..schedules import get_schedule

    learning_rate, glassnet_schedule = "constant", None
    if schedule in ("invscaling", "adaptive"):
        if solver != "sgd":
            raise click.BadParameter(f"--schedule {schedule} needs --solver sgd",
                                     param_hint="'--schedule'")
        learning_rate = schedule
    elif schedule == "step":
        glassnet_schedule = get_schedule("step", step_size=max(1, epochs // 4), gamma=0.5)
    elif schedule == "cosine":
        glassnet_schedule = get_schedule("cosine", period=epochs)
    elif schedule in ("exponential", "plateau"):
        glassnet_schedule = get_schedule(schedule)
    cls, extra = MLPClassifier, {}
    if task != "classification":
        cls, extra = MLPRegressor, {"scale_target": scale_target}
    return cls(**extra, hidden_layer_sizes=hidden, activation=activation, solver=solver,
               learning_rate_init=lr, momentum=momentum, nesterovs_momentum=nesterov and
               momentum > 0, batch_size=batch, max_iter=epochs, alpha=alpha, random_state=seed,
               early_stopping=early_stopping, n_iter_no_change=patience, tol=tol,
               learning_rate=learning_rate, schedule=glassnet_schedule)


def describe(prepared, hidden, activation, solver):
    sizes = "-".join(str(s) for s in [prepared.X.shape[1], *hidden,
                                       1 if prepared.task == "regression"
                                       or len(prepared.classes) == 2 else len(prepared.classes)])
    act = activation if isinstance(activation, str) else ",".join(activation)
    return f"a {sizes} {act} network ({solver})"


def model_metadata(prepared, estimator, data, n_train, stopped):
    params = {k: v for k, v in estimator.get_params().items()
              if k not in ("callbacks", "schedule") and _jsonable(v)}
    return {
        "task": prepared.task,
        "target": prepared.target,
        "classes": prepared.classes,
        "feature_names": prepared.feature_names,
        "schema": prepared.schema,
        "missing": prepared.missing,
        "one_hot": prepared.one_hot,
        "estimator": type(estimator).__name__,
        "params": params,
        "training": {"data": data, "rows": int(n_train), "epochs": int(estimator.n_iter_),
                     "interrupted": stopped["reason"] == "interrupted",
                     "created": datetime.now().isoformat(timespec="seconds")},
    }


def _jsonable(value):
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


command = train
