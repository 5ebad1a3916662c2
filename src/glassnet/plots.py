"""Figures for training reports (matplotlib, an extra).

Figures are built with ``matplotlib.figure.Figure`` directly, never
``pyplot``, so nothing touches a global backend or opens a window, and each
``save_*`` function writes its PNG atomically.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.figure import Figure

from .io import write_bytes

__all__ = ["confusion_figure", "loss_figure", "regression_figure", "roc_figure", "save_figure",
           "search_figure"]


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


def search_figure(configs, parameters, score_name, log_scale=(), best=None, title=None):
    """A hyper-parameter search: mean cross-validated score (± its standard
    deviation over the folds) against each searched parameter, one panel each.

    ``configs`` is a list of dicts: ``values`` (parameter -> value), ``mean``,
    ``std`` and, for successive halving, ``iteration`` and ``n_resources``
    (each iteration gets its own colour). ``parameters`` orders the panels;
    numbers get a numeric axis (logarithmic for the names in ``log_scale``),
    anything else (solvers, layer sizes such as ``"32x16"``) one position per
    value. ``best`` is the index of the configuration to mark (default: the
    highest mean).
    """
    from matplotlib.ticker import NullFormatter

    n = max(1, len(parameters))
    columns = min(n, 3)
    rows = math.ceil(n / columns)
    figure = Figure(figsize=(4.2 * columns, 3.4 * rows), layout="constrained")
    means = np.array([c["mean"] for c in configs], dtype=float)
    stds = np.array([c["std"] for c in configs], dtype=float)
    iterations = np.array([c.get("iteration", 0) for c in configs])
    if best is None and np.isfinite(means).any():
        best = int(np.nanargmax(means))
    for k, name in enumerate(parameters):
        ax = figure.add_subplot(rows, columns, k + 1)
        values = [c["values"].get(name) for c in configs]
        numeric = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                      for v in values)
        if numeric:
            x = np.asarray(values, dtype=float)
        else:
            labels = list(dict.fromkeys(str(v) for v in values))
            x = np.array([labels.index(str(v)) for v in values], dtype=float)
            ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 4 else 0)
            x = x + np.linspace(-0.15, 0.15, len(x)) if len(x) > 1 else x  # spread repeats
        ax.errorbar(x, means, yerr=stds, fmt="none", ecolor=(0.5, 0.5, 0.5, 0.4), zorder=1)
        for i, iteration in enumerate(np.unique(iterations)):
            mine = iterations == iteration
            label = None
            if len(np.unique(iterations)) > 1:
                rows_used = next(c["n_resources"] for c, m in zip(configs, mine) if m)
                label = f"iteration {iteration} ({rows_used} rows)"
            ax.scatter(x[mine], means[mine], s=22, color=PATH_COLOURS[1 + i % 6], alpha=0.75,
                       zorder=2, label=label)
        if best is not None:
            ax.scatter([x[best]], [means[best]], s=110, marker="*", color=PATH_COLOURS[0],
                       zorder=3, label="best")
        if numeric and name in log_scale:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # no overlapping 2x10^-3 labels
        ax.set_xlabel(name)
        ax.set_ylabel(f"mean {score_name}")
        ax.grid(alpha=0.3)
        if k == 0 and best is not None:
            ax.legend(loc="lower right", fontsize="small")
    figure.suptitle(title or f"Hyper-parameter search: {len(configs)} configurations")
    return figure


# -- loss landscapes ----------------------------------------------------------------------
PATH_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]


def _axis_labels(landscape):
    if landscape.explained is not None:
        return (f"PC1 ({landscape.explained[0]:.1%} of the path variance)",
                f"PC2 ({landscape.explained[1]:.1%})")
    return "direction 1 (filter-normalised)", "direction 2 (filter-normalised)"


def _legend_label(landscape, name):
    suffix = ", diverged" if landscape.diverged[name] else ""
    return f"{name} (final loss {landscape.final_loss[name]:.4f}{suffix})"


def landscape_figure(landscape, title="Loss landscape with optimiser paths"):
    """Contours of the loss on the plane, each optimiser's projected path,
    its start (circle) and end (star)."""
    figure = Figure(figsize=(7.2, 5.8))
    ax = figure.add_subplot()
    X, Y = np.meshgrid(landscape.x, landscape.y)
    Z = landscape.loss
    levels = np.geomspace(max(Z.min(), 1e-12), Z.max(), 25) if Z.min() > 0 else 25
    contours = ax.contourf(X, Y, Z, levels=levels, cmap="viridis", alpha=0.85)
    ax.contour(X, Y, Z, levels=levels, colors="white", linewidths=0.3, alpha=0.5)
    figure.colorbar(contours, ax=ax, label="loss")
    for colour, (name, path) in zip(PATH_COLOURS, landscape.paths.items()):
        ax.plot(path[:, 0], path[:, 1], "-", color=colour, lw=1.8,
                label=_legend_label(landscape, name))
        ax.plot(*path[0], "o", color=colour, ms=7, mec="black")
        ax.plot(*path[-1], "*", color=colour, ms=14, mec="black")
    ax.set_xlim(landscape.x[0], landscape.x[-1])
    ax.set_ylim(landscape.y[0], landscape.y[-1])
    xlabel, ylabel = _axis_labels(landscape)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}\n(circle: start, star: end; centre: {next(iter(landscape.paths))}'s "
                 f"final weights)", fontsize=10)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    return figure


def _surface_axes(figure, landscape):
    ax = figure.add_subplot(projection="3d")
    X, Y = np.meshgrid(landscape.x, landscape.y)
    ax.plot_surface(X, Y, landscape.loss, cmap="viridis", alpha=0.55, linewidth=0,
                    antialiased=True, rstride=1, cstride=1)
    xlabel, ylabel = _axis_labels(landscape)
    ax.set_xlabel(xlabel.split(" (")[0])
    ax.set_ylabel(ylabel.split(" (")[0])
    ax.set_zlabel("loss")
    ax.view_init(elev=35, azim=-60)
    return ax


def landscape_surface_figure(landscape, title="Loss surface with optimiser paths"):
    """The loss surface in 3-D, each path drawn on it (at the plane's loss)."""
    figure = Figure(figsize=(7.6, 6.0))
    ax = _surface_axes(figure, landscape)
    for colour, (name, path) in zip(PATH_COLOURS, landscape.paths.items()):
        z = landscape.plane_loss[name]
        ax.plot(path[:, 0], path[:, 1], z, "-", color=colour, lw=2,
                label=_legend_label(landscape, name), zorder=10)
        ax.scatter(*path[-1], z[-1], color=colour, s=40, edgecolor="black", zorder=11)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=7)
    return figure


def save_descent_animation(landscape, path, frames=60, fps=12, dpi=80):
    """An animated GIF of a ball per optimiser rolling along its path on the surface
    (matplotlib's Pillow writer: no ffmpeg needed). Written atomically."""
    import os
    import tempfile

    from matplotlib.animation import PillowWriter
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = Figure(figsize=(6.4, 5.2))
    FigureCanvasAgg(figure)
    ax = _surface_axes(figure, landscape)
    ax.set_title("Gradient descent on your network's loss surface", fontsize=10)
    balls, trails = {}, {}
    for colour, name in zip(PATH_COLOURS, landscape.paths):
        (trails[name],) = ax.plot([], [], [], "-", color=colour, lw=2,
                                  label=_legend_label(landscape, name))
        (balls[name],) = ax.plot([], [], [], "o", color=colour, ms=9, mec="black")
    ax.legend(loc="upper left", fontsize=7)
    longest = max(len(p) for p in landscape.paths.values())
    frames = max(20, min(frames, 10 * longest))
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".gif", dir=directory)
    os.close(fd)
    try:
        writer = PillowWriter(fps=fps)
        with writer.saving(figure, tmp, dpi):
            for frame in range(frames):
                progress = frame / (frames - 1)
                for name, coords in landscape.paths.items():
                    k = round(progress * (len(coords) - 1))
                    z = landscape.plane_loss[name]
                    trails[name].set_data_3d(coords[:k + 1, 0], coords[:k + 1, 1], z[:k + 1])
                    balls[name].set_data_3d([coords[k, 0]], [coords[k, 1]], [z[k]])
                writer.grab_frame()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
