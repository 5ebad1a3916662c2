"""Figures for training reports (matplotlib, an extra).

Figures are built with ``matplotlib.figure.Figure`` directly, never
``pyplot``, so nothing touches a global backend or opens a window, and each
``save_*`` function writes its PNG atomically.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from .io import write_bytes

__all__ = ["confusion_figure", "loss_figure", "regression_figure", "roc_figure", "save_figure"]


def save_figure(figure, path, dpi=110):
    """Render ``figure`` to PNG and write it atomically to ``path``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    write_bytes(path, buffer.getvalue())
    return path


def loss_figure(history, title="Loss per epoch"):
    """Train loss per epoch, with validation and test curves when recorded.

    ``history`` is a dict of equal-length lists: ``loss`` and optionally
    ``val_loss``, ``test_loss``.
    """
    figure = Figure(figsize=(6.4, 4.0))
    ax = figure.add_subplot()
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="train")
    for key, label in (("val_loss", "validation"), ("test_loss", "test")):
        values = history.get(key) or []
        if len(values) == len(epochs):
            ax.plot(epochs, values, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if np.all(np.asarray(history["loss"]) > 0):
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return figure


def confusion_figure(y_true, y_pred, labels, title="Confusion matrix (test)"):
    """scikit-learn's ``ConfusionMatrixDisplay`` on a glassnet figure."""
    from sklearn.metrics import ConfusionMatrixDisplay

    figure = Figure(figsize=(4.8, 4.2))
    ax = figure.add_subplot()
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=labels, ax=ax,
                                            colorbar=False)
    ax.set_title(title)
    return figure


def roc_figure(y_true, proba, classes, title="ROC curve (test)"):
    """ROC curve(s) via scikit-learn's ``RocCurveDisplay``: one curve for a
    binary target, one per class (one-vs-rest) otherwise."""
    from sklearn.metrics import RocCurveDisplay

    figure = Figure(figsize=(5.2, 4.4))
    ax = figure.add_subplot()
    y_true = np.asarray(y_true)
    if len(classes) == 2:
        RocCurveDisplay.from_predictions(y_true, proba[:, 1], pos_label=classes[1], ax=ax,
                                         name=f"class {classes[1]}")
    else:
        for k, label in enumerate(classes):
            if (y_true == label).any() and not (y_true == label).all():
                RocCurveDisplay.from_predictions(y_true == label, proba[:, k], ax=ax,
                                                 name=f"class {label} vs rest")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    return figure


def regression_figure(y_true, y_pred, title="Predicted vs actual (test)"):
    """Scatter of predictions against targets with the identity line."""
    figure = Figure(figsize=(4.8, 4.4))
    ax = figure.add_subplot()
    ax.scatter(y_true, y_pred, s=12, alpha=0.7)
    low = float(min(np.min(y_true), np.min(y_pred)))
    high = float(max(np.max(y_true), np.max(y_pred)))
    ax.plot([low, high], [low, high], linestyle=":", color="grey")
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    ax.set_title(title)
    return figure
