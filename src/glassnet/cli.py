"""The ``glassnet`` command: train on a CSV or a bundled data set, predict, evaluate.

Every failure prints one line ``error: …`` on stderr and exits non-zero, with
no traceback unless ``--debug`` is given, and leaves no half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime

import click
import numpy as np

from ._version import __version__
from .datasets import BUNDLED, DataError, load
from .datasets._csv import (
    Table,
    check_missing,
    encode,
    feature_names,
    infer_schema,
    missing_mask,
    parse_target,
    read_table,
    resolve_target,
)
from .io import ModelFileError, Scaler, load_model, save_model, write_text
from .training import Callback, LossLogger
from .training import evaluate as evaluate_network

ACTIVATION_CHOICES = ("relu", "tanh", "logistic", "sigmoid", "identity", "leaky_relu")
SOLVER_CHOICES = ("sgd", "adam", "lbfgs", "rmsprop", "adamw")
SCHEDULE_CHOICES = ("constant", "invscaling", "adaptive", "step", "exponential", "cosine",
                    "plateau")

# Settings for bundled data sets where the general defaults do not fit: the
# four-row XOR problem needs a bigger learning rate and many full-batch epochs.
PRESETS = {
    "xor": {"hidden": "4", "activation": "tanh", "solver": "adam", "lr": 0.05,
            "epochs": 1000, "batch_size": "full", "scale": "none", "alpha": 0.0},
}
DEFAULTS = {"hidden": "100", "activation": "relu", "solver": "adam", "lr": 0.001,
            "epochs": 200, "batch_size": "auto", "scale": "standard", "alpha": 0.0001}
BUNDLED_TARGET = {"wisconsin": "class", "heart": "class", "xor": "y"}


class CLIError(Exception):
    """A user-facing failure: printed as ``error: <message>``."""


# -- loading data -------------------------------------------------------------------
@dataclass
class Prepared:
    """Data ready for a network: encoded features, targets and how they were made."""

    source: str
    X: np.ndarray
    y: np.ndarray
    target: str
    schema: list
    feature_names: list
    task: str
    classes: list | None
    missing: str
    notes: list = field(default_factory=list)
    one_hot: bool = False


def bundled_table(name, missing="drop", one_hot=False):
    """A bundled data set as a :class:`Table` of text cells, the target column last."""
    options = {}
    if name == "wisconsin":
        options["missing"] = "median" if missing == "median" else "drop"
    if name == "heart":
        options["one_hot"] = one_hot
    bunch = load(name, **options)
    target = BUNDLED_TARGET[name]
    labels = bunch.target_names[bunch.target] if name != "xor" else bunch.target
    columns = [[repr(float(v)) for v in bunch.data[:, j]] for j in range(bunch.data.shape[1])]
    columns.append([str(v) for v in labels])
    return Table(name, list(bunch.feature_names) + [target], columns,
                 list(range(1, bunch.data.shape[0] + 1)), ",", True)


def read_data(data, sep=None, missing="error", one_hot=False):
    if data in BUNDLED:
        return bundled_table(data, missing=missing, one_hot=one_hot)
    if not os.path.exists(data) and os.sep not in data and "." not in data:
        raise CLIError(f"no bundled data set or file named {data!r}; bundled: "
                       f"{', '.join(BUNDLED)}")
    return read_table(data, sep=sep)


def infer_task(y):
    """'classification' for text or a few whole-number values, else 'regression'."""
    if y.dtype.kind in "OUS":
        return "classification"
    values = np.unique(y)
    if np.issubdtype(y.dtype, np.integer) and len(values) <= 20:
        return "classification"
    return "regression"


def prepare(data, target=None, missing="error", one_hot=False, sep=None, task="auto"):
    table = read_data(data, sep=sep, missing=missing, one_hot=one_hot)
    if data in BUNDLED:
        target = target or BUNDLED_TARGET[data]
        missing = "drop" if missing == "error" else missing
    target_name = resolve_target(table, target)
    features = [n for n in table.names if n != target_name]
    if not features:
        raise DataError(f"{table.path}: no feature columns besides the target {target_name!r}")
    counts = check_missing(table, features + [target_name], missing)
    notes = []
    keep = ~missing_mask(table, features + [target_name] if missing == "drop" else [target_name])
    if counts and missing != "error":
        dropped = int((~keep).sum())
        notes.append(f"{sum(counts.values())} missing value(s); "
                     + (f"dropped {dropped} row(s)" if missing == "drop" else
                        f"filled with column medians, dropped {dropped} row(s) without a target"))
    if not keep.any():
        raise DataError(f"{table.path}: no rows left after dropping those with missing values")
    kept = table.take(keep)
    schema = infer_schema(kept, features, one_hot=one_hot, missing=missing)
    X = encode(kept, schema, missing=missing)
    y = parse_target(kept, target_name, slice(None))
    if task == "auto":
        task = infer_task(y)
    classes = None
    if task == "classification":
        classes = [_plain(v) for v in np.unique(y)]
        if len(classes) < 2:
            raise DataError(f"{table.path}: the target column {target_name!r} has one class "
                            f"only ({classes[0]!r}); a classifier needs at least two")
    else:
        if y.dtype.kind in "OUS":
            raise DataError(f"{table.path}: target column {target_name!r} holds text; use "
                            f"--task classification")
        y = y.astype(np.float64)
        if np.unique(y).size < 2:
            raise DataError(f"{table.path}: the target column {target_name!r} has a single "
                            f"value; nothing to learn")
    return Prepared(table.path, X, y, target_name, schema, feature_names(schema), task,
                    classes, missing, notes, one_hot)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# -- option parsing -------------------------------------------------------------------
def parse_hidden(text):
    try:
        sizes = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"expected layer sizes like 15 or 64,32, got {text!r}",
                                 param_hint="'--hidden'") from None
    if not sizes or any(s < 1 for s in sizes):
        raise click.BadParameter(f"layer sizes must be positive integers, got {text!r}",
                                 param_hint="'--hidden'")
    return tuple(sizes)


def parse_activation(text, n_layers):
    names = [a.strip() for a in str(text).split(",")]
    names = ["logistic" if a == "sigmoid" else a for a in names]
    for name in names:
        if name not in ACTIVATION_CHOICES:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(ACTIVATION_CHOICES)}",
                                     param_hint="'--activation'")
    if len(names) == 1:
        return names[0]
    if len(names) != n_layers:
        raise click.BadParameter(f"{len(names)} activations for {n_layers} hidden layers",
                                 param_hint="'--activation'")
    return names


def parse_batch_size(text, n_train):
    if text in ("auto", None):
        return "auto"
    if text == "full":
        return n_train
    try:
        value = int(text)
    except ValueError:
        raise click.BadParameter(f"expected a positive integer, 'full' or 'auto', got {text!r}",
                                 param_hint="'--batch-size'") from None
    if value < 1:
        raise click.BadParameter(f"must be >= 1, got {value}", param_hint="'--batch-size'")
    return value


# -- callbacks used while training ------------------------------------------------------
class RichProgress(Callback):
    """A live progress bar with the current loss (terminals only)."""

    def __init__(self, epochs, console):
        self.epochs = epochs
        self.console = console

    def on_train_begin(self, trainer):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("epochs  loss {task.fields[loss]}"),
                                 TimeElapsedColumn(), console=self.console, transient=True)
        self.progress.start()
        self.task = self.progress.add_task("train", total=self.epochs, loss="-")

    def on_epoch_end(self, trainer, epoch, logs):
        self.progress.update(self.task, advance=1, loss=f"{logs['loss']:.6f}")

    def on_train_end(self, trainer):
        self.progress.stop()


class PlainProgress(Callback):
    """Plain ``epoch k/N: loss L`` lines for logs and pipes."""

    def __init__(self, epochs, every, echo):
        self.epochs = epochs
        self.every = max(1, every)
        self.echo = echo

    def on_epoch_end(self, trainer, epoch, logs):
        k = epoch + 1
        if k % self.every == 0 or k == 1 or k == self.epochs:
            extra = "".join(f"  {key} {logs[key]:.6f}" for key in ("val_loss", "val_score")
                            if key in logs)
            self.echo(f"epoch {k}/{self.epochs}: loss {logs['loss']:.6f}{extra}")


class HeldOutCurve(Callback):
    """Record the loss and score on held-out rows after every epoch (reporting only:
    nothing here steers training)."""

    def __init__(self, X, Y):
        self.X, self.Y = X, Y
        self.loss, self.score = [], []

    def on_epoch_end(self, trainer, epoch, logs):
        network = trainer.network
        loss, value = evaluate_network(network, self.X.astype(network.dtype, copy=False),
                                       self.Y.astype(network.dtype, copy=False))
        self.loss.append(float(loss))
        self.score.append(value)


# -- output files -------------------------------------------------------------------------
class Outputs:
    """Tracks the files a command writes so that a failure removes all of them."""

    def __init__(self, directory):
        self.directory = directory
        self.created_dir = not os.path.exists(directory)
        self.written = []

    def __enter__(self):
        os.makedirs(self.directory, exist_ok=True)
        return self

    def path(self, name):
        path = os.path.join(self.directory, name)
        self.written.append(path)
        return path

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for path in self.written:
                if os.path.exists(path):
                    os.unlink(path)
            if self.created_dir and os.path.isdir(self.directory) and not os.listdir(
                    self.directory):
                os.rmdir(self.directory)
        return False


def history_csv(history, curve):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = ["epoch", "train_loss"]
    has_val = len(history.val_loss) == len(history.loss) and history.val_loss
    has_test = curve is not None and len(curve.loss) == len(history.loss)
    if has_val:
        columns += ["val_loss", "val_score"]
    if has_test:
        columns += ["test_loss", "test_score"]
    writer.writerow(columns)
    for i, loss in enumerate(history.loss):
        row = [i + 1, f"{loss:.10g}"]
        if has_val:
            row += [f"{history.val_loss[i]:.10g}", f"{history.val_score[i]:.10g}"]
        if has_test:
            row += [f"{curve.loss[i]:.10g}", f"{curve.score[i]:.10g}"]
        writer.writerow(row)
    return buffer.getvalue()


# -- the commands -------------------------------------------------------------------------
def debug_option(function):
    return click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="glassnet")
def cli():
    """glassnet: neural networks from scratch in NumPy, every gradient by hand.

    \b
    Examples:
      glassnet train wisconsin
      glassnet train my.csv --target label --hidden 64,32 --epochs 300
      glassnet predict runs/wisconsin-*/model.glassnet new.csv --out predictions.csv
      glassnet datasets
    """


@cli.command()
@click.argument("data")
@click.option("--target", help="Target column (name or 0-based index); default: the last column.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
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
@click.option("--scale", type=click.Choice(Scaler.KINDS), help="Feature scaling, fitted on the "
              "training rows.  [default: standard]")
@click.option("--test-size", type=click.FloatRange(0, 1, max_open=True), default=0.2,
              show_default=True, help="Fraction held out for testing (stratified); 0 trains "
              "and reports on all rows, as do data sets under 10 rows.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--log-every", type=click.IntRange(min=1),
              help="Print 'iteration N: loss X' every N steps (the tutorials' log).")
@click.option("--early-stopping", is_flag=True,
              help="Hold out 10%% of the training rows; stop when their score stops improving.")
@click.option("--patience", type=click.IntRange(min=1), default=10, show_default=True,
              help="Epochs without improvement (by --tol) before stopping.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-4, show_default=True,
              help="Improvement that counts for --patience.")
@click.option("--missing", type=click.Choice(["error", "drop", "median"]), default="error",
              show_default=True, help="Missing values: fail, drop those rows, or fill with "
              "column medians (bundled Wisconsin drops its 16 incomplete rows by default).")
@click.option("--one-hot", is_flag=True, help="One-hot encode text (categorical) columns.")
@click.option("--task", type=click.Choice(["auto", "classification", "regression"]),
              default="auto", show_default=True,
              help="auto: text or up to 20 whole-number values is classification.")
@click.option("--sep", help="CSV separator (',', ';', 'tab' or 'space'); detected by default.")
@click.option("--plots", type=click.Choice(["basic", "all", "none"]), default="basic",
              show_default=True, help="basic: loss curve, confusion matrix and ROC curve "
              "(predicted vs actual for regression); all: also per-layer gradient norms, "
              "dead/saturated units and, for 2-D data, the decision boundary.")
@click.option("--quiet", is_flag=True, help="No progress output, only the report.")
@debug_option
def train(data, target, out_dir, hidden, activation, solver, lr, momentum, nesterov, batch_size,
          epochs, schedule, alpha, scale, test_size, seed, log_every, early_stopping, patience,
          tol, missing, one_hot, task, sep, plots, quiet, debug):
    """Train a network on DATA and write a model, metrics, history and plots.

    DATA is a bundled data set (wisconsin, heart, xor) or a CSV file.

    \b
    Examples:
      glassnet train wisconsin
      glassnet train wisconsin --hidden 15 --solver sgd --momentum 0 --batch-size full \\
          --lr 0.07 --epochs 3000 --scale minmax --log-every 500
      glassnet train patients.csv --target outcome --one-hot --missing median --out run1
    """
    from rich.console import Console

    preset = {**DEFAULTS, **PRESETS.get(data, {})}
    hidden = parse_hidden(hidden or preset["hidden"])
    activation = parse_activation(activation or preset["activation"], len(hidden))
    solver = solver or preset["solver"]
    lr = preset["lr"] if lr is None else lr
    if not lr > 0:
        raise click.BadParameter(f"must be > 0, got {lr}", param_hint="'--lr'")
    epochs = epochs or preset["epochs"]
    alpha = preset["alpha"] if alpha is None else alpha
    scale = scale or preset["scale"]
    sep = {"tab": "\t", "space": " "}.get(sep, sep)

    prepared = prepare(data, target=target, missing=missing, one_hot=one_hot, sep=sep, task=task)
    console = Console(stderr=True)
    echo = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    X_train, X_test, y_train, y_test, split_note = split(prepared, test_size, seed)
    batch = parse_batch_size(batch_size or preset["batch_size"], len(X_train))
    scaler = Scaler(scale).fit(X_train)
    Xs_train, Xs_test = scaler.transform(X_train), scaler.transform(X_test)

    estimator = make_estimator(prepared.task, hidden, activation, solver, lr, momentum, nesterov,
                               batch, epochs, schedule, alpha, seed, early_stopping, patience, tol)
    callbacks = []
    if log_every and not quiet:
        callbacks.append(LossLogger(every=log_every, print_fn=echo))
    elif not quiet and console.is_terminal:
        callbacks.append(RichProgress(epochs, console))
    elif not quiet:
        callbacks.append(PlainProgress(epochs, epochs // 10, echo))
    recorder = None
    if plots == "all":
        from .dynamics import DynamicsRecorder

        steps_per_epoch = 1 if batch == "auto" and len(X_train) <= 200 else math.ceil(
            len(X_train) / (min(200, len(X_train)) if batch == "auto" else batch))
        recorder = DynamicsRecorder(every=max(1, epochs * steps_per_epoch // 300))
        callbacks.append(recorder)
    curve = None
    if split_note is None:
        curve = HeldOutCurve(Xs_test, encode_targets(prepared, y_test))
        callbacks.append(curve)
    estimator.set_params(callbacks=callbacks)
    echo(f"training {describe(prepared, hidden, activation, solver)} on {len(X_train)} rows"
         + (f", testing on {len(X_test)}" if split_note is None else f" ({split_note})"))
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(Xs_train, y_train)
    seconds = time.perf_counter() - started
    notes = list(prepared.notes)
    if split_note:
        notes.append(split_note)
    interrupted = estimator.history_.interrupted
    if interrupted:
        notes.append(f"interrupted by Ctrl-C after {estimator.n_iter_} epoch(s); the model "
                     f"and report are of what was trained")
    elif any("Maximum iterations" in str(w.message) or "failed to converge" in str(w.message)
             for w in caught):
        notes.append(f"stopped at --epochs {epochs} while the loss was still improving by "
                     f"more than --tol (ConvergenceWarning)")
    metrics = {"train": evaluate_rows(estimator, prepared, Xs_train, y_train),
               "test": evaluate_rows(estimator, prepared, Xs_test, y_test),
               "task": prepared.task, "epochs": int(estimator.n_iter_),
               "seconds": round(seconds, 4), "interrupted": bool(interrupted), "notes": notes}

    out_dir = out_dir or os.path.join(
        "runs", f"{_slug(data)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
    network = estimator._network(estimator.coefs_, estimator.intercepts_,
                                 estimator._hidden_activations())
    with Outputs(out_dir) as outputs:
        model_path = outputs.path("model.glassnet")
        save_model(model_path, network, scaler, model_metadata(prepared, estimator, data,
                                                               len(X_train), interrupted))
        write_text(outputs.path("metrics.json"), json.dumps(metrics, indent=2) + "\n")
        write_text(outputs.path("history.csv"), history_csv(estimator.history_, curve))
        if plots != "none":
            write_plots(outputs, estimator, prepared, Xs_test, y_test, curve)
        if recorder is not None and recorder.steps:
            from .dynamics import write_training_dynamics

            proba = estimator.predict_proba if prepared.task == "classification" else None
            write_training_dynamics(outputs, recorder, proba, Xs_train, y_train,
                                    prepared.classes, prepared.feature_names)
        written = list(outputs.written)
    print_report(metrics, prepared, written, model_path, data)


def split(prepared, test_size, seed):
    """Stratified train/test split, or all rows for both when too small to split."""
    from sklearn.model_selection import train_test_split

    n = len(prepared.y)
    if test_size == 0 or n < 10:
        reason = "too few rows to split" if n < 10 else "--test-size 0"
        return prepared.X, prepared.X, prepared.y, prepared.y, \
            f"{reason}: trained and reported on all {n} rows"
    stratify = None
    if prepared.task == "classification":
        _, counts = np.unique(prepared.y, return_counts=True)
        n_test = math.ceil(test_size * n)
        if counts.min() >= 2 and n_test >= len(counts) and n - n_test >= len(counts):
            stratify = prepared.y
    X_train, X_test, y_train, y_test = train_test_split(
        prepared.X, prepared.y, test_size=test_size, random_state=seed, stratify=stratify)
    return X_train, X_test, y_train, y_test, None


def make_estimator(task, hidden, activation, solver, lr, momentum, nesterov, batch, epochs,
                   schedule, alpha, seed, early_stopping, patience, tol):
    from .estimators import MLPClassifier, MLPRegressor
    from .schedules import get_schedule

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
    cls = MLPClassifier if task == "classification" else MLPRegressor
    return cls(hidden_layer_sizes=hidden, activation=activation, solver=solver,
               learning_rate_init=lr, momentum=momentum, nesterovs_momentum=nesterov and
               momentum > 0, batch_size=batch, max_iter=epochs, alpha=alpha, random_state=seed,
               early_stopping=early_stopping, n_iter_no_change=patience, tol=tol,
               learning_rate=learning_rate, schedule=glassnet_schedule)


def encode_targets(prepared, y):
    if prepared.task == "classification":
        from sklearn.preprocessing import label_binarize

        Y = label_binarize(np.asarray(y), classes=np.asarray(prepared.classes))
        return Y.astype(np.float64)
    return np.asarray(y, dtype=np.float64).reshape(-1, 1)


def engine_network(prepared, hidden, activation, scale, seed, init, alpha=0.0):
    """A float64 engine :class:`Network` for the prepared data, with its scaled
    features and encoded targets: ``(network, X, Y)``. The output is a sigmoid
    for two classes, a softmax for more, the identity for regression."""
    from .network import Network

    sizes = parse_hidden(hidden)
    act = parse_activation(activation, len(sizes))
    act = [("sigmoid" if a == "logistic" else a) for a in
           ([act] * len(sizes) if isinstance(act, str) else act)]
    X = Scaler(scale).fit_transform(prepared.X)
    Y = encode_targets(prepared, prepared.y)
    if prepared.task == "classification":
        output = "sigmoid" if Y.shape[1] == 1 else "softmax"
    else:
        output = "identity"
    network = Network.from_sizes([X.shape[1], *sizes, Y.shape[1]], activation=act,
                                 output_activation=output, init=init, alpha=alpha, seed=seed)
    return network, X, Y


def describe(prepared, hidden, activation, solver):
    sizes = "-".join(str(s) for s in [prepared.X.shape[1], *hidden,
                                       1 if prepared.task == "regression"
                                       or len(prepared.classes) == 2 else len(prepared.classes)])
    act = activation if isinstance(activation, str) else ",".join(activation)
    return f"a {sizes} {act} network ({solver})"


def evaluate_rows(predictor, prepared, X, y):
    from .report import classification_metrics, regression_metrics

    if prepared.task == "classification":
        proba = predictor.predict_proba(X)
        return classification_metrics(y, predicted_labels(proba, prepared.classes), proba,
                                      prepared.classes)
    return regression_metrics(y, predictor.predict(X))


def predicted_labels(proba, classes):
    """Labels from class probabilities: p > 0.5 for two classes (scikit-learn's
    threshold), the most probable class otherwise."""
    labels = np.asarray(classes)
    if proba.shape[1] == 2:
        return labels[(proba[:, 1] > 0.5).astype(int)]
    return labels[proba.argmax(axis=1)]


def model_metadata(prepared, estimator, data, n_train, interrupted):
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
                     "interrupted": bool(interrupted),
                     "created": datetime.now().isoformat(timespec="seconds")},
    }


def _jsonable(value):
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


def write_plots(outputs, estimator, prepared, X_test, y_test, curve):
    from . import plots as figures

    history = {"loss": estimator.history_.loss, "val_loss": estimator.history_.val_loss,
               "test_loss": curve.loss if curve is not None else []}
    figures.save_figure(figures.loss_figure(history), outputs.path("loss.png"))
    if prepared.task == "classification":
        proba = estimator.predict_proba(X_test)
        predicted = predicted_labels(proba, prepared.classes)
        figures.save_figure(figures.confusion_figure(y_test, predicted, prepared.classes),
                            outputs.path("confusion_matrix.png"))
        if len(np.unique(y_test)) > 1:
            figures.save_figure(figures.roc_figure(y_test, proba, prepared.classes),
                                outputs.path("roc.png"))
    else:
        figures.save_figure(figures.regression_figure(y_test, estimator.predict(X_test)),
                            outputs.path("predictions.png"))


def print_report(metrics, prepared, written, model_path, data):
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"glassnet: {prepared.task} of {prepared.target!r} on {data}: "
                  f"{metrics['epochs']} epochs in {metrics['seconds']:.2f} s")
    table = RichTable()
    table.add_column("metric")
    table.add_column("train", justify="right")
    table.add_column("test", justify="right")
    keys = (["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]
            if prepared.task == "classification" else ["r2", "mae", "rmse"])
    for key in ["n_samples", *keys]:
        table.add_row(key, _fmt(metrics["train"][key]), _fmt(metrics["test"][key]))
    console.print(table)
    if prepared.task == "classification":
        console.print("confusion matrix (test): rows are true labels, columns predicted")
        cm = RichTable()
        cm.add_column("")
        for label in prepared.classes:
            cm.add_column(str(label), justify="right")
        for label, row in zip(prepared.classes, metrics["test"]["confusion_matrix"]):
            cm.add_row(str(label), *[str(v) for v in row])
        console.print(cm)
    for note in metrics["notes"]:
        console.print(f"note: {note}")
    console.print("wrote:")
    for path in written:
        console.print(f"  {path}")
    source = data if data in BUNDLED else prepared.source
    console.print(f"predict with:\n  glassnet predict {model_path} {source} "
                  f"--out predictions.csv")


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}"


def _slug(data):
    base = os.path.splitext(os.path.basename(data))[0] or "data"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in base)


def encode_for_model(model, data, sep=None):
    """Read DATA and encode its feature columns exactly as the model's training data."""
    meta = model.metadata
    missing = meta.get("missing", "error")
    table = read_data(data, sep=sep, missing=missing, one_hot=meta.get("one_hot", False))
    needed = [c["name"] for c in meta["schema"]]
    absent = [n for n in needed if n not in table.names]
    if absent:
        raise DataError(f"{table.path}: missing feature column(s) {', '.join(map(repr, absent))}"
                        f"; the model needs: {', '.join(needed)}")
    return table, encode(table, meta["schema"], missing="median" if missing == "median"
                         else "error")


@cli.command()
@click.argument("model_path", metavar="MODEL")
@click.argument("data")
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              help="Write the predictions CSV here (default: standard output).")
@click.option("--sep", help="CSV separator; detected by default.")
@debug_option
def predict(model_path, data, out_file, sep, debug):
    """Apply a saved model to the rows of DATA (a CSV or bundled name).

    The saved scaler and encoding are applied to the raw columns; a target
    column, if present, is ignored. The output keeps the input's row order:
    the row number, the predicted label (or value) and each class's probability.

    \b
    Example:
      glassnet predict runs/wisconsin-20260101-120000/model.glassnet wisconsin --out p.csv
    """
    model = load_model(model_path)
    sep = {"tab": "\t", "space": " "}.get(sep, sep)
    _, X = encode_for_model(model, data, sep)
    prediction = model.predict(X)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    target = model.metadata["target"]
    if model.task == "classification":
        proba = model.predict_proba(X)
        writer.writerow(["row", f"predicted_{target}",
                         *[f"probability_{c}" for c in model.classes]])
        for i, (label, row) in enumerate(zip(prediction, proba), start=1):
            writer.writerow([i, label, *[f"{p:.6f}" for p in row]])
    else:
        writer.writerow(["row", f"predicted_{target}"])
        for i, value in enumerate(prediction, start=1):
            writer.writerow([i, f"{value:.10g}"])
    if out_file:
        write_text(out_file, buffer.getvalue())
        click.echo(f"wrote {len(prediction)} predictions to {out_file}", err=True)
    else:
        click.echo(buffer.getvalue(), nl=False)


@cli.command()
@click.argument("model_path", metavar="MODEL")
@click.argument("data")
@click.option("--target", help="Target column; default: the one the model was trained on.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              help="Also write the metrics as JSON here.")
@click.option("--sep", help="CSV separator; detected by default.")
@debug_option
def evaluate(model_path, data, target, out_file, sep, debug):
    """Metrics of a saved model on labelled rows of DATA.

    \b
    Example:
      glassnet evaluate runs/heart-20260101-120000/model.glassnet heart
    """
    from rich.console import Console
    from rich.table import Table as RichTable

    model = load_model(model_path)
    sep = {"tab": "\t", "space": " "}.get(sep, sep)
    table, X = encode_for_model(model, data, sep)
    target = target or model.metadata["target"]
    name = resolve_target(table, target)
    y = parse_target(table, name, slice(None))
    prepared = Prepared(table.path, X, y, name, model.metadata["schema"], model.feature_names,
                        model.task, model.classes, model.metadata.get("missing", "error"))
    if model.task == "classification":
        known = {str(c) for c in model.classes}
        unseen = sorted({str(v) for v in y} - known)
        if unseen:
            shown = ", ".join(unseen[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5
                                              else "")
            raise DataError(f"{table.path}: target {name!r} has {len(unseen)} label(s) the model "
                            f"never saw ({shown}); the model knows {', '.join(sorted(known))}")
        lookup = {str(c): c for c in model.classes}
        y = np.array([lookup[str(v)] for v in y])
    metrics = evaluate_rows(model, prepared, X, y)
    result = Console(highlight=False, soft_wrap=True)
    result.print(f"{model_path} on {data} ({len(y)} rows)")
    out = RichTable()
    out.add_column("metric")
    out.add_column("value", justify="right")
    for key, value in metrics.items():
        if key not in ("confusion_matrix", "labels"):
            out.add_row(key, _fmt(value))
    result.print(out)
    if "confusion_matrix" in metrics:
        result.print(f"confusion matrix (rows true, columns predicted; labels "
                     f"{metrics['labels']}):")
        for row in metrics["confusion_matrix"]:
            result.print("  " + " ".join(f"{v:>5}" for v in row))
    if out_file:
        write_text(out_file, json.dumps(metrics, indent=2) + "\n")


@cli.command()
@debug_option
def datasets(debug):
    """List the bundled data sets with their shapes.

    \b
    Example:
      glassnet datasets
    """
    for name in BUNDLED:
        bunch = load(name)
        classes = ", ".join(f"{label} {count}" for label, count in zip(
            bunch.target_names, np.bincount(bunch.target)))
        click.echo(f"{name:<10} {bunch.data.shape[0]:>4} rows x {bunch.data.shape[1]:>2} "
                   f"features   classes: {classes}")
        click.echo(f"{'':<10} {bunch.DESCR.splitlines()[0]}")


@cli.command()
@click.argument("data", default="wisconsin")
@click.option("--hidden", default="8", show_default=True, help="Hidden layer sizes.")
@click.option("--activation", default="tanh", show_default=True,
              help="Hidden activation(s) (smooth ones give the cleanest check).")
@click.option("--rows", type=click.IntRange(min=1), default=32, show_default=True,
              help="Rows of DATA to check on.")
@click.option("--alpha", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="L2 penalty, included in the check.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--target", help="Target column for a CSV.")
@debug_option
def gradcheck(data, hidden, activation, rows, alpha, seed, target, debug):
    """Check backpropagation against central finite differences, layer by layer.

    Builds a float64 network for DATA (default wisconsin) and prints, for each
    weight matrix and bias, the largest difference and the relative error
    between the analytic and numeric gradients. Exits 1 if any relative error
    is 1e-6 or more.

    \b
    Example:
      glassnet gradcheck heart --hidden 16,8 --activation relu,tanh
    """
    from rich.console import Console
    from rich.table import Table as RichTable

    from .gradcheck import gradient_check

    prepared = prepare(data, target=target, missing="drop" if data in BUNDLED else "error")
    net, X, Y = engine_network(prepared, hidden, activation, "standard", seed,
                               init="glorot_normal", alpha=alpha)
    X, Y = X[:rows], Y[:rows]
    if prepared.task == "regression":
        Y = (Y - Y.mean()) / (Y.std() or 1.0)
    result = gradient_check(net, X, Y)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"gradient check: {net} on {len(X)} rows of {data}")
    table = RichTable()
    for column in ("parameter", "shape", "max |analytic - numeric|", "relative error", "ok"):
        table.add_column(column, justify="right" if column != "parameter" else "left")
    for name, shape, diff, rel in zip(result.names, result.shapes, result.max_abs_differences,
                                      result.relative_errors):
        table.add_row(name, "x".join(map(str, shape)), f"{diff:.2e}", f"{rel:.2e}",
                      "yes" if rel < 1e-6 else "NO")
    console.print(table)
    if not result.passed(1e-6):
        raise CLIError(f"gradient check failed: largest relative error "
                       f"{result.max_relative_error:.2e} >= 1e-6")
    click.echo(f"all {len(result.names)} gradients agree (largest relative error "
               f"{result.max_relative_error:.2e})")


@cli.command()
@click.argument("data")
@click.option("--target", help="Target column for a CSV.")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--hidden", default="100", show_default=True, help="Hidden layer sizes (both MLPs).")
@click.option("--max-iter", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--scale", type=click.Choice(Scaler.KINDS), default="standard", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--missing", type=click.Choice(["error", "drop", "median"]), default="error")
@click.option("--one-hot", is_flag=True)
@debug_option
def compare(data, target, folds, hidden, max_iter, scale, seed, missing, one_hot, debug):
    """Cross-validate glassnet, scikit-learn's MLP and a linear model on DATA.

    All three see the same folds (stratified for classification) and the same
    scaling, fitted inside each fold.

    \b
    Example:
      glassnet compare heart --folds 10
    """
    from rich.console import Console
    from rich.table import Table as RichTable
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

    from .estimators import MLPClassifier, MLPRegressor

    prepared = prepare(data, target=target, missing=missing, one_hot=one_hot)
    sizes = parse_hidden(hidden)
    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler,
              "none": FunctionTransformer}[scale]
    settings = {"hidden_layer_sizes": sizes, "max_iter": max_iter, "random_state": seed}
    if prepared.task == "classification":
        _, counts = np.unique(prepared.y, return_counts=True)
        if counts.min() < folds:
            raise CLIError(f"--folds {folds} is more than the smallest class has rows "
                           f"({counts.min()})")
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        models = [("glassnet MLPClassifier", MLPClassifier(**settings)),
                  ("scikit-learn MLPClassifier", SkClassifier(**settings)),
                  ("scikit-learn LogisticRegression", LogisticRegression(max_iter=1000))]
        metric, y = "accuracy", np.asarray(prepared.y).astype(str)
    else:
        cv = KFold(folds, shuffle=True, random_state=seed)
        models = [("glassnet MLPRegressor", MLPRegressor(**settings)),
                  ("scikit-learn MLPRegressor", SkRegressor(**settings)),
                  ("scikit-learn Ridge", Ridge())]
        metric, y = "r2", prepared.y
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"{folds}-fold cross-validation on {data} ({len(y)} rows, {scale} scaling)")
    table = RichTable()
    for column in ("model", f"{metric} mean", "std", "fit time (s)"):
        table.add_column(column, justify="left" if column == "model" else "right")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in models:
            result = cross_validate(make_pipeline(scaler(), model), prepared.X, y, cv=cv,
                                    scoring=metric)
            scores = result["test_score"]
            table.add_row(name, f"{scores.mean():.4f}", f"{scores.std():.4f}",
                          f"{result['fit_time'].sum():.2f}")
    console.print(table)


@cli.command()
@click.argument("data")
@click.option("--optimizers", default="sgd,momentum,annealing,large-lr", show_default=True,
              help="Comma-separated: sgd, momentum, nesterov, annealing, large-lr, adam, rmsprop.")
@click.option("--hidden", default="15", show_default=True, help="Hidden layer sizes.")
@click.option("--activation", default="relu", show_default=True, help="Hidden activation(s).")
@click.option("--lr", type=float, default=0.1, show_default=True,
              help="Base learning rate (adam and rmsprop use a tenth; large-lr and annealing "
              "a large rate measured from the loss's sharpness).")
@click.option("--epochs", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--batch-size", default="full", show_default=True,
              help="Rows per step, or 'full' (smooth full-batch paths).")
@click.option("--resolution", type=click.IntRange(min=3), default=51, show_default=True,
              help="Grid points per axis.")
@click.option("--directions", type=click.Choice(["pca", "random"]), default="pca",
              show_default=True, help="pca: a plane through the shared start that follows the "
              "paths; random: two filter-normalised random directions through the first "
              "optimiser's final weights, on ±1 (no paths drawn).")
@click.option("--record-every", type=click.IntRange(min=1),
              help="Record the weights every N steps (default: about 100 points per path).")
@click.option("--scale", type=click.Choice(Scaler.KINDS), default="minmax", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--target", help="Target column for a CSV.")
@click.option("--missing", type=click.Choice(["error", "drop", "median"]), default="error")
@click.option("--one-hot", is_flag=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Output directory; default runs/landscape-<data>-<timestamp>.")
@debug_option
def landscape(data, optimizers, hidden, activation, lr, epochs, batch_size, resolution,
              directions, record_every, scale, seed, target, missing, one_hot, out_dir, debug):
    """Train one network with several optimisers from the same initial weights and
    draw every path on its loss landscape (Li et al., NeurIPS 2018).

    The plane passes through the start the paths share and follows them, so
    the loss drawn under each recorded point stays close to its true loss
    (the worst gap is printed and written on the figures). large-lr runs at
    1.35 x 2/λ_max, past the edge of stability, where λ_max is the largest
    eigenvalue of the loss's Hessian at plain SGD's final weights (power
    iteration on exact Hessian-vector products); annealing holds that rate for
    half the run, then decays to a tenth of the base rate.

    Writes landscape.png (contours with the paths), landscape_3d.png (the
    surface, paths at their true loss), descent.gif (balls rolling along the
    paths; PCA plane only) and landscape.npz (x, y, loss[i, j] at (x[j],
    y[i]), center_loss; per path path_, steps_, path_loss_ (true),
    plane_loss_ (drawn), off_plane_, rate_<name>; lambda_max, large_lr).

    \b
    Example:
      glassnet landscape wisconsin --optimizers sgd,momentum,annealing,large-lr
    """
    from rich.console import Console
    from rich.table import Table as RichTable

    from . import landscape as ls
    from . import plots as figures

    names = [n.strip() for n in optimizers.split(",") if n.strip()]
    unknown = [n for n in names if n not in ls.OPTIMIZER_PRESETS]
    if unknown or not names:
        raise click.BadParameter(f"unknown optimizer(s) {', '.join(unknown) or '(none)'}; "
                                 f"choose from {', '.join(ls.OPTIMIZER_PRESETS)}",
                                 param_hint="'--optimizers'")
    if len(set(names)) != len(names):
        raise click.BadParameter("each optimizer may appear once", param_hint="'--optimizers'")
    prepared = prepare(data, target=target, missing=missing, one_hot=one_hot)
    network, X, Y = engine_network(prepared, hidden, activation, scale, seed,
                                   init="scaled_normal")
    batch = None if batch_size == "full" else parse_batch_size(batch_size, len(X))
    started = time.perf_counter()
    result = ls.compare_optimizers(network, X, Y, optimizers=names, lr=lr, epochs=epochs,
                                   batch_size=batch, record_every=record_every,
                                   resolution=resolution, directions=directions, seed=seed)
    out_dir = out_dir or os.path.join(
        "runs", f"landscape-{_slug(data)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
    with Outputs(out_dir) as outputs:
        figures.save_figure(figures.landscape_figure(result), outputs.path("landscape.png"))
        figures.save_figure(figures.landscape_surface_figure(result),
                            outputs.path("landscape_3d.png"))
        if result.drawn:
            figures.save_descent_animation(result, outputs.path("descent.gif"))
        result.save_npz(outputs.path("landscape.npz"))
        written = list(outputs.written)
    console = Console(highlight=False, soft_wrap=True)
    plane = (f"plane through the shared start: {result.explained[0]:.1%} + "
             f"{result.explained[1]:.1%} of the paths' squared displacement"
             if result.explained is not None else
             f"two filter-normalised random directions through {result.center}")
    console.print(f"{network} on {len(X)} rows of {data}; {plane}; "
                  f"{resolution}x{resolution} grid; {time.perf_counter() - started:.1f} s")
    if result.sharpness is not None:
        console.print(f"sharpness at plain SGD's final weights: λ_max = {result.sharpness:.4g}, "
                      f"2/λ_max = {2 / result.sharpness:.4g}; large rate = "
                      f"{result.large_lr:.4g} ({ls.OVERSHOOT:g} x 2/λ_max)")
    steps = next(iter(result.steps.values()))
    every = int(steps[1] - steps[0]) if len(steps) > 1 else 1
    console.print(f"recorded every {every} step(s): "
                  f"{', '.join(str(len(p)) for p in result.paths.values())} points per path")
    table = RichTable()
    for column in ("optimizer", "rate", "final loss", "rises", "max gap", "off plane"):
        table.add_column(column, justify="left" if column in ("optimizer", "rate") else "right")
    for name in names:
        final = f"{result.final_loss[name]:.4f}" + (" diverged" if result.diverged[name] else "")
        table.add_row(name, result.rates[name], final,
                      str(ls.count_rises(result.path_loss[name])),
                      f"{result.gap(name):.4f}" if result.drawn else "not drawn",
                      f"{result.off_plane[name].mean():.0%}")
    console.print(table)
    worst = result.worst_gap
    if worst is not None:
        console.print(f"worst gap between the true and the drawn loss: {worst[0]:.4f} "
                      f"({worst[1]}, step {worst[2]})")
    else:
        console.print("random plane: paths not drawn (see off plane), descent.gif not written")
    console.print("wrote:")
    for path in written:
        console.print(f"  {path}")


def main(argv=None):
    """Entry point: run the command line and turn failures into one ``error:`` line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        cli.main(args=argv, prog_name="glassnet", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        _error("interrupted")
        return 130
    except click.ClickException as exc:
        if debug:
            raise
        _error(exc.format_message())
        return exc.exit_code or 2
    except (CLIError, DataError, ModelFileError, ValueError, OSError, ArithmeticError) as exc:
        if debug:
            raise
        _error(str(exc) or type(exc).__name__)
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    return 0


def _error(message):
    one_line = " ".join(str(message).split())
    click.echo(f"error: {one_line}", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
