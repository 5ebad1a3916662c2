"""The report of a run: metrics, the printed summary, history.csv and the plots."""

from __future__ import annotations

import csv
import io

import numpy as np

from ..datasets import BUNDLED

__all__ = ["baseline_metrics", "batched", "evaluate_rows", "fmt", "history_csv", "predicted_labels",
           "print_report", "write_plots"]


def batched(function, X, rows=65536):
    """``function(X)`` computed ``rows`` rows at a time: a million rows through a wide
    hidden layer at once would allocate gigabytes of activations."""
    if len(X) <= rows:
        return function(X)
    return np.concatenate([function(X[start:start + rows]) for start in range(0, len(X), rows)])


def evaluate_rows(predictor, prepared, X, y):
    """Metrics of ``predictor`` on rows ``X`` with labels or values ``y``."""
    from ..report import classification_metrics, regression_metrics

    if prepared.task == "classification":
        proba = batched(predictor.predict_proba, X)
        return classification_metrics(y, predicted_labels(proba, prepared.classes), proba,
                                      prepared.classes)
    return regression_metrics(y, batched(predictor.predict, X))


def baseline_metrics(baselines, prepared, rows):
    """metrics.json's ``baselines``: for each :class:`~glassnet.baselines.Baseline` by
    name, its ``kind`` and its ``train`` and ``test`` metrics on the run's :class:`Split`."""
    return {b.name: {"kind": b.kind,
                     "train": evaluate_rows(b.predictor, prepared, rows.X_train, rows.y_train),
                     "test": evaluate_rows(b.predictor, prepared, rows.X_test, rows.y_test)}
            for b in baselines}


def predicted_labels(proba, classes):
    """Labels from class probabilities: p > 0.5 for two classes (scikit-learn's
    threshold), the most probable class otherwise."""
    labels = np.asarray(classes)
    if proba.shape[1] == 2:
        return labels[(proba[:, 1] > 0.5).astype(int)]
    return labels[proba.argmax(axis=1)]


def history_csv(history, curve, extra=None):
    """history.csv: one row per epoch, training loss and any validation/test curves.

    ``extra`` maps more column names to one value per epoch (NaN, written as an
    empty cell, where an epoch has none, as ``sharpness`` between measurements)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = ["epoch", "train_loss"]
    has_val = len(history.val_loss) == len(history.loss) and history.val_loss
    has_test = curve is not None and len(curve.loss) == len(history.loss)
    if has_val:
        columns += ["val_loss", "val_score"]
    if has_test:
        columns += ["test_loss", "test_score"]
    extra = {name: values for name, values in (extra or {}).items()
             if len(values) == len(history.loss)}
    columns += list(extra)
    writer.writerow(columns)
    for i, loss in enumerate(history.loss):
        row = [i + 1, f"{loss:.10g}"]
        if has_val:
            row += [f"{history.val_loss[i]:.10g}", f"{history.val_score[i]:.10g}"]
        if has_test:
            row += [f"{curve.loss[i]:.10g}", f"{curve.score[i]:.10g}"]
        row += ["" if np.isnan(v) else f"{v:.10g}" for v in (values[i] for values in extra.values())]
        writer.writerow(row)
    return buffer.getvalue()


def write_plots(outputs, estimator, prepared, X_test, y_test, curve):
    """The ``--plots basic`` figures: loss curve, confusion matrix and ROC, or
    predicted vs actual for regression."""
    from .. import plots as figures

    history = {"loss": estimator.history_.loss, "val_loss": estimator.history_.val_loss,
               "test_loss": curve.loss if curve is not None else []}
    figures.save_figure(figures.loss_figure(history), outputs.path("loss.png"))
    if prepared.task == "classification":
        proba = batched(estimator.predict_proba, X_test)
        predicted = predicted_labels(proba, prepared.classes)
        figures.save_figure(figures.confusion_figure(y_test, predicted, prepared.classes),
                            outputs.path("confusion_matrix.png"))
        if len(np.unique(y_test)) > 1:
            figures.save_figure(figures.roc_figure(y_test, proba, prepared.classes),
                                outputs.path("roc.png"))
    else:
        figures.save_figure(figures.regression_figure(y_test, batched(estimator.predict, X_test)),
                            outputs.path("predictions.png"))


def print_report(metrics, prepared, written, model_path, data, report_seconds,
                 held_out=True):
    """The summary on standard output: metrics table, confusion matrix, notes, files, and
    the time spent loading the data, training, and computing and writing the report.
    ``held_out=False``: every row was used for training and for the report (too few to
    split), so the report speaks of training rows only."""
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"glassnet: {prepared.task} of {prepared.target!r} on {data}: "
                  f"{metrics['epochs']} epoch{'s' if metrics['epochs'] != 1 else ''} in "
                  f"{metrics['seconds']:.2f} s")
    rows = "test rows" if held_out else "training rows"
    table = RichTable()
    table.add_column("metric")
    table.add_column("train", justify="right")
    if held_out:
        table.add_column("test", justify="right")
    keys = (["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]
            if prepared.task == "classification" else ["r2", "mae", "rmse"])
    for key in ["n_samples", *keys]:
        table.add_row(key, fmt(metrics["train"][key]),
                      *([fmt(metrics["test"][key])] if held_out else []))
    console.print(table)
    if metrics.get("baselines"):
        console.print(f"{rows}: the network beside baselines fitted on its training rows")
        compared = RichTable()
        compared.add_column("model")
        shown = (["accuracy", "f1", "roc_auc", "log_loss"]
                 if prepared.task == "classification" else keys)
        for key in shown:
            compared.add_column(key, justify="right")
        for name, test in [("network", metrics["test"]),
                           *[(n, b["test"]) for n, b in metrics["baselines"].items()]]:
            compared.add_row(name, *[fmt(test[key]) for key in shown])
        console.print(compared)
    if prepared.task == "classification":
        console.print(f"confusion matrix ({rows}): rows are true labels, columns predicted")
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
    timings = metrics["timings"]
    console.print(f"time: loading {timings['loading']:.2f} s, training "
                  f"{timings['training']:.2f} s, report {report_seconds:.2f} s")
    source = data if data in BUNDLED else prepared.source
    console.print(f"predict with:\n  glassnet predict {model_path} {source} "
                  f"--out predictions.csv")


def fmt(value):
    """A metric for a table: ``-`` for None, integers as they are, else 4 decimals."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}"
