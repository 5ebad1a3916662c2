"""Figures for training reports (matplotlib, an extra).

Figures are built with ``matplotlib.figure.Figure`` directly, never
``pyplot``, so nothing touches a global backend or opens a window, and each
``save_*`` function writes its PNG atomically.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .io import write_bytes

__all__ = ["PATH_COLOURS", "confusion_figure", "landscape_figure", "landscape_line_figure",
           "landscape_surface_figure",
           "lockstep_figure", "loss_figure", "regression_figure", "roc_figure",
           "save_descent_animation", "save_figure", "search_figure", "sharpness_figure"]


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


def lockstep_figure(result, title="glassnet and the libraries, step for step"):
    """A :class:`glassnet.lockstep.Lockstep`: each library's loss per epoch over
    glassnet's, and the largest weight difference from glassnet's on a log axis."""
    figure = Figure(figsize=(10.0, 4.0))
    losses, gaps = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    epochs = np.arange(1, result.epochs + 1)
    styles = {"glassnet": {"lw": 4, "alpha": 0.35, "color": "tab:blue"},
              "torch": {"ls": "--", "color": "tab:orange"},
              "sklearn": {"ls": ":", "color": "tab:green"}}
    for name, curve in result.loss.items():
        losses.plot(epochs, curve, label=name, **styles.get(name, {}))
    losses.set(xlabel="epoch", ylabel="mean training loss", title="Loss (the curves overlap)")
    losses.legend()
    for name, diff in result.weight_diff.items():
        # an exact agreement (0) is drawn at the smallest positive float64 step
        gaps.semilogy(epochs, np.maximum(diff, np.finfo(np.float64).tiny), marker="o", ms=3,
                      label=f"{name} (worst {max(diff):.1e})", **styles.get(name, {}))
    gaps.set(xlabel="epoch", ylabel="max |W − W_glassnet|",
             title="Largest weight difference from glassnet")
    gaps.axhline(1e-10, color="grey", lw=0.8, ls="--")
    gaps.annotate("1e-10", (epochs[0], 1e-10), xytext=(2, 3), textcoords="offset points",
                  color="grey", fontsize=8)
    if result.weight_diff:  # nothing to name when no library ran beside glassnet
        gaps.legend()
    for ax in (losses, gaps):
        ax.grid(alpha=0.3)
    figure.suptitle(title)
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
    numbers get a numeric axis (logarithmic for the names in ``log_scale`` and for
    positive values spanning a factor of 10 or more),
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
        spread = numeric and (x > 0).all() and x.max() >= 10 * x.min()
        if numeric and (name in log_scale or spread):
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
# Okabe and Ito's colour-blind-safe palette: distinct from each other and from the
# grey surface, and kept exactly in the GIF's palette.
PATH_COLOURS = ["#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"]
SURFACE_CMAP = "bone_r"  # light valleys, dark hills: coloured paths stay readable on both


def _colours(landscape):
    return dict(zip(landscape.paths, PATH_COLOURS * (1 + len(landscape.paths) // 7)))


def _axis_labels(landscape):
    if getattr(landscape, "eigenvalues", None) is not None:
        return tuple(f"Hessian eigenvector {k + 1} (λ = {value:.3g}), scaled to ‖θ‖"
                     for k, value in enumerate(landscape.eigenvalues[:2]))
    if landscape.explained is not None:
        return (f"direction 1 ({landscape.explained[0]:.0%} of the paths' squared displacement)",
                f"direction 2 ({landscape.explained[1]:.0%})")
    return "random direction 1 (filter-normalised)", "random direction 2 (filter-normalised)"


def _legend_label(landscape, name):
    suffix = ", diverged" if landscape.diverged[name] else ""
    rate = landscape.rates.get(name)
    rate = f" ({rate})" if rate else ""
    return f"{name}{rate}: final {_quantity(landscape)} {landscape.final_loss[name]:.3f}{suffix}"


def _truth_note(landscape):
    """One line saying how far the drawing is from the truth."""
    if not landscape.drawn:
        fractions = [np.mean(f[f > 0]) if np.any(f > 0) else 0.0
                     for f in landscape.off_plane.values()]
        low, high = f"{min(fractions):.0%}", f"{max(fractions):.0%}"
        share = low if low == high else f"{low}–{high}"
        kind = "the Hessian's" if landscape.directions == "hessian" else "a random"
        return (f"paths not drawn: on average {share} of "
                f"each path's displacement lies off {kind} plane")
    worst = landscape.worst_gap
    off = np.mean(np.concatenate([landscape.off_plane[n][1:] for n in landscape.drawn]))
    if worst is None:
        return ""
    gap, name, step = worst
    return (f"worst |true − drawn| {_quantity(landscape)} along the paths: {gap:.3f} ({name}, "
            f"step {step}); "
            f"on average {off:.0%} of a displacement lies off the plane")


def _centre_label(landscape):
    return f"centre: {landscape.center} ({_quantity(landscape)} {landscape.center_loss:.3f})"


def _quantity(landscape):
    """What the surface shows: 'loss', 'test loss', 'test accuracy'."""
    return getattr(landscape, "quantity", "loss")


def _surface_cmap(quantity):
    """Light where training heads: low loss, high accuracy."""
    return "bone" if "accuracy" in quantity else SURFACE_CMAP


def _levels(Z, quantity):
    """Contour levels: geometric for a positive loss (its valleys are deep and
    narrow), even steps for an accuracy or a loss that touches 0."""
    if "accuracy" not in quantity and Z.min() > 0:
        return np.geomspace(max(Z.min(), 1e-12), Z.max(), 25)
    return 25


def landscape_figure(landscape, title="Loss landscape"):
    """Contours of the loss on the plane with each optimiser's path (circle:
    the shared start, stars: the ends) and, below, each path's true loss
    (solid) beside the loss the surface shows under it (dotted); on a random
    plane, the basin alone. The title states how true the drawing is."""
    figure = Figure(figsize=(7.6, 8.4) if landscape.drawn else (7.6, 6.2))
    if landscape.drawn:
        grid = figure.add_gridspec(2, 1, height_ratios=[3.2, 1.1], hspace=0.28)
        ax, below = figure.add_subplot(grid[0]), figure.add_subplot(grid[1])
    else:
        ax, below = figure.add_subplot(), None
    X, Y = np.meshgrid(landscape.x, landscape.y)
    Z = landscape.loss
    quantity = _quantity(landscape)
    levels = _levels(Z, quantity)
    contours = ax.contourf(X, Y, Z, levels=levels, cmap=_surface_cmap(quantity))
    ax.contour(X, Y, Z, levels=levels, colors="white", linewidths=0.3, alpha=0.6)
    figure.colorbar(contours, ax=ax, label=quantity, format="%.2g")
    colours = _colours(landscape)
    for i, name in enumerate(landscape.drawn):
        path = landscape.paths[name]
        # wider lines first, so a path that shares its start with a later one
        # (annealing and large-lr) still shows as a border around it
        ax.plot(path[:, 0], path[:, 1], "-", color=colours[name], lw=max(1.2, 3.2 - 0.6 * i),
                label=_legend_label(landscape, name))
        ax.plot(*path[-1], "*", color=colours[name], ms=15, mec="black", mew=0.8)
    if landscape.drawn:
        ax.plot(0, 0, "o", color="white", ms=9, mec="black", mew=1.2, label="shared start")
    else:
        ax.plot(0, 0, "*", color="white", ms=16, mec="black", mew=1.0,
                label=_centre_label(landscape))
    ax.set_xlim(landscape.x[0], landscape.x[-1])
    ax.set_ylim(landscape.y[0], landscape.y[-1])
    xlabel, ylabel = _axis_labels(landscape)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    plane = ("plane through the shared start" if landscape.drawn
             else f"top Hessian eigenvectors through {landscape.center}"
             if landscape.directions == "hessian"
             else f"random plane through {landscape.center}")
    if quantity != "loss":
        title = f"{title}, {quantity}"
    ax.set_title(f"{title}: {plane}\n{_truth_note(landscape)}", fontsize=9)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    if below is not None:
        per_epoch = max(1, landscape.steps_per_epoch)
        for name in landscape.drawn:
            epochs = np.asarray(landscape.steps[name]) / per_epoch
            below.plot(epochs, landscape.path_loss[name], "-", color=colours[name], lw=1.4)
            below.plot(epochs, landscape.plane_loss[name], ":", color=colours[name], lw=1.2)
        if "accuracy" not in quantity:
            below.set_yscale("log")
            below.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.2g}"))
            below.yaxis.set_minor_formatter(FuncFormatter(_sparse_log_label))
        below.tick_params(axis="y", which="both", labelsize=7)
        below.set_xlabel("epoch", fontsize=9)
        below.set_ylabel(quantity, fontsize=9)
        below.set_title(f"{quantity} along each path: true (solid) and drawn by the surface "
                        f"(dotted)", fontsize=9)
        below.grid(alpha=0.3, which="both")
    return figure


def _sparse_log_label(value, _):
    """Label a log axis's minor ticks at 2, 3 and 5 times a power of ten only."""
    if value <= 0:
        return ""
    leading = round(value / 10 ** np.floor(np.log10(value)), 6)
    return f"{value:.2g}" if leading in (2, 3, 5) else ""


def _surface_axes(figure, landscape):
    ax = figure.add_subplot(projection="3d")
    ax.computed_zorder = False  # paths and balls always over the surface they sit on
    X, Y = np.meshgrid(landscape.x, landscape.y)
    stride = max(1, len(landscape.x) // 40)
    Z = landscape.loss
    quantity = _quantity(landscape)
    # as the contours' levels
    norm = LogNorm(Z.min(), Z.max()) if Z.min() > 0 and "accuracy" not in quantity else None
    ax.plot_surface(X, Y, Z, cmap=_surface_cmap(quantity), norm=norm, alpha=0.85, linewidth=0,
                    antialiased=True, rstride=stride, cstride=stride, zorder=1)
    xlabel, ylabel = _axis_labels(landscape)
    ax.set_xlabel(xlabel.split(" (")[0], fontsize=8)
    ax.set_ylabel(ylabel.split(" (")[0], fontsize=8)
    ax.set_zlabel(quantity, fontsize=8)
    ax.view_init(elev=35, azim=-60)
    return ax


def landscape_surface_figure(landscape, title="Loss surface"):
    """The loss surface in 3-D. Each path is drawn at its *true* loss (solid,
    ball at the end) and, dotted, where the surface lies under it: the
    vertical distance between the two is the drawing's error."""
    figure = Figure(figsize=(7.8, 6.2))
    ax = _surface_axes(figure, landscape)
    colours = _colours(landscape)
    for i, name in enumerate(landscape.drawn):
        path, true = landscape.paths[name], landscape.path_loss[name]
        ax.plot(path[:, 0], path[:, 1], true, "-", color=colours[name],
                lw=max(1.2, 3.2 - 0.6 * i), label=_legend_label(landscape, name), zorder=10)
        ax.plot(path[:, 0], path[:, 1], landscape.plane_loss[name], ":", color=colours[name],
                lw=1, zorder=9)
        ax.scatter(*path[-1], true[-1], color=colours[name], s=40, edgecolor="black", zorder=11,
                   depthshade=False)
    if not landscape.drawn:
        ax.scatter(0, 0, landscape.center_loss, color="white", s=60, edgecolor="black",
                   label=_centre_label(landscape), zorder=11, depthshade=False)
    ax.set_title(f"{title}: paths at their true {_quantity(landscape)} (solid), the surface "
                 f"under them (dotted)"
                 f"\n{_truth_note(landscape)}" if landscape.drawn else
                 f"{title}: random plane\n{_truth_note(landscape)}", fontsize=8)
    ax.legend(loc="upper left", fontsize=7)
    return figure


def _gif_palette(background, reserved):
    """A 256-colour palette: the reserved colours exactly, the rest fitted to
    the background (the surface) by median cut."""
    from PIL import Image

    reserved = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in reserved]
    fitted = background.quantize(colors=256 - len(reserved), method=Image.Quantize.MEDIANCUT)
    colours = fitted.getpalette()[:3 * (256 - len(reserved))]
    colours += [v for rgb in reserved for v in rgb]
    colours += [0] * (768 - len(colours))
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours)
    return palette


def _pillow_font(pixels):
    """Matplotlib's bold monospace font (DejaVu Sans Mono) for Pillow, ``pixels`` high."""
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family="monospace",
                                                             weight="bold"))
    return ImageFont.truetype(path, max(6, round(pixels)))


def save_descent_animation(landscape, path, fps=12, dpi=80, hold_seconds=2.0):
    """An animated GIF of a ball per optimiser rolling along its path on the
    surface, written atomically.

    Each ball sits at the loss its optimiser truly had; where the surface
    under it differs, a dashed stem joins the two. Every frame shows the
    epoch (and step) and each path's current loss. One frame per recorded
    point. The surface is rendered once and each frame draws only the balls,
    trails and text over it (blitting); all frames share one palette that
    keeps the path colours exact. Needs a plane that shows the paths
    (``landscape.drawn``); on a random plane it raises ``ValueError``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image, ImageDraw

    from .io import atomic_write

    if not landscape.drawn:
        raise ValueError("a random plane shows no paths to animate; use directions='pca'")
    names = landscape.drawn
    colours = _colours(landscape)
    figure = Figure(figsize=(6.4, 5.4), dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    ax = _surface_axes(figure, landscape)
    top = 0.9 - 0.03 * len(names)
    figure.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=top)
    figure.suptitle("Gradient descent on your network's loss surface", fontsize=10, y=0.985)
    artists, trails, balls, stems = [], {}, {}, {}
    for i, name in enumerate(names):
        width = max(2.0, 3.6 - 0.5 * i)  # thin lines lose their colour to the palette
        (trails[name],) = ax.plot([], [], [], "-", color=colours[name], lw=width)
        (stems[name],) = ax.plot([], [], [], "--", color=colours[name], lw=1)
        (balls[name],) = ax.plot([], [], [], "o", color=colours[name], ms=9, mec="black")
        artists += [trails[name], stems[name], balls[name]]
    labels = []
    for i, name in enumerate(names):
        rate = f" ({landscape.rates[name]})" if name in landscape.rates else ""
        labels.append(figure.text(0.02, 0.91 - 0.03 * i, f"{name}{rate}", fontsize=7.5,
                                  family="monospace", color=colours[name], weight="bold",
                                  va="baseline"))
    for artist in artists:
        artist.set_animated(True)
    canvas.draw()  # the surface and the labels, once: every frame starts from this
    background = canvas.copy_from_bbox(figure.bbox)
    still = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    palette = _gif_palette(still, PATH_COLOURS + ["#000000", "#ffffff", "#808080"])
    # the numbers that change every frame are drawn with Pillow, in the font
    # matplotlib uses: drawing text is most of what a frame costs in matplotlib
    width, height = still.size
    small, large = _pillow_font(7.5 * dpi / 72), _pillow_font(9 * dpi / 72)
    right = max(label.get_window_extent().x1 for label in labels) + 0.02 * width
    rows = {name: (right, (1 - (0.91 - 0.03 * i)) * height) for i, name in enumerate(names)}
    steps = np.unique(np.concatenate([landscape.steps[n] for n in names]))
    per_epoch = max(1, landscape.steps_per_epoch)
    total = int(steps[-1])
    frames = []
    for step in steps:
        canvas.restore_region(background)
        lines = {}
        for name in names:
            coords, true = landscape.paths[name], landscape.path_loss[name]
            drawn = landscape.plane_loss[name]
            k = max(0, int(np.searchsorted(landscape.steps[name], step, side="right")) - 1)
            a, b = coords[k]
            trails[name].set_data_3d(coords[:k + 1, 0], coords[:k + 1, 1], true[:k + 1])
            balls[name].set_data_3d([a], [b], [true[k]])
            stems[name].set_data_3d([a, a], [b, b], [drawn[k], true[k]])
            gap = true[k] - drawn[k]
            note = f" (surface {drawn[k]:.3f})" if abs(gap) >= 0.005 else ""
            lines[name] = f"loss {true[k]:.3f}{note}"
        for artist in artists:
            ax.draw_artist(artist)
        image = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
        pen = ImageDraw.Draw(image)
        if per_epoch == 1:
            counter = f"epoch {step} / {total}"
        else:
            counter = (f"epoch {step / per_epoch:.1f} / {total / per_epoch:g}  "
                       f"(step {step} / {total})")
        pen.text((0.02 * width, 0.06 * height), counter, font=large, fill="black", anchor="ls")
        for name, text in lines.items():
            pen.text(rows[name], text, font=small, fill=colours[name], anchor="ls")
        frames.append(image.quantize(palette=palette, dither=Image.Dither.NONE))
    durations = [round(1000 / fps)] * len(frames)
    durations[-1] = round(1000 * hold_seconds)
    with atomic_write(path, "wb") as handle:
        frames[0].save(handle, format="GIF", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0)
    return path


def sharpness_figure(epochs, values, loss, threshold=None, threshold_label="2/η", note=None,
                     title="Sharpness and the edge of stability"):
    """``λ_max`` at the measured ``epochs`` (from 1) over the threshold per epoch
    (``threshold``: one value per entry of ``loss``, or None), and the training
    loss per epoch beneath, on the same epoch axis."""
    figure = Figure(figsize=(6.8, 5.6))
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    everything = np.arange(1, len(loss) + 1)
    if threshold is not None:
        top.plot(everything, threshold, color="black", linestyle="--", linewidth=1.2,
                 label=threshold_label)
    top.plot(epochs, values, color="C3", marker="o", markersize=2.5, linewidth=1.2,
             label="λ_max, the Hessian's largest eigenvalue")
    finite = [v for v in values if np.isfinite(v)]
    if threshold is not None and finite:
        high = max(max(finite), float(np.nanmin(threshold))) * 1.25
        top.set_ylim(min(0.0, min(finite) * 1.1), high)
    top.set_ylabel("sharpness λ_max")
    top.set_title(title)
    top.grid(alpha=0.3)
    top.legend(fontsize=8, loc="best")  # λ_max may sit low (far below 2/η) or at the edge
    if note:
        top.text(0.02, 0.96, note, transform=top.transAxes, fontsize=8, va="top")
    bottom.plot(everything, loss, color="C0")
    if np.all(np.asarray(loss) > 0):
        bottom.set_yscale("log")
    bottom.set_xlabel("epoch")
    bottom.set_ylabel("training loss")
    bottom.grid(alpha=0.3)
    return figure


def landscape_line_figure(line, title="A line through the weights"):
    """A :class:`glassnet.landscape.LandscapeLine`: the quantity along the line
    and, for the paths it can show (the interpolation's), each recorded point at
    its true value over its projection; below, each drawn path's true value
    (solid) beside the line's value at its projection (dotted)."""
    drawn = line.drawn
    figure = Figure(figsize=(7.2, 7.4) if drawn else (7.2, 4.4), layout="constrained")
    if drawn:
        ax, below = figure.subplots(2, 1, height_ratios=[3, 1.4])
    else:
        ax, below = figure.add_subplot(), None
    ax.plot(line.coords, line.values, color="black", lw=1.6, label=f"{line.quantity} on the line")
    colours = dict(zip(line.path_values, PATH_COLOURS * (1 + len(line.path_values) // 7)))
    for name in drawn:
        ax.plot(line.path_coords[name], line.path_values[name], ".", ms=4, color=colours[name],
                label=f"{name}: recorded weights at their true {line.quantity}")
    ax.axvline(0, color="0.5", lw=0.8, ls=":")
    if line.kind == "interpolation":
        ax.axvline(1, color="0.5", lw=0.8, ls=":")
        xlabel = "α: θ(α) = (1 − α)·θ_start + α·θ_end"
        heading = "interpolation from the initial to the final weights (Goodfellow et al., 2015)"
    elif line.kind == "hessian":
        xlabel = f"a, along the top Hessian eigenvector (λ = {line.eigenvalue:.3g}) scaled to ‖θ‖"
        heading = f"top Hessian eigenvector through {line.center}"
    else:
        xlabel = "a, along a filter-normalised random direction"
        heading = f"random direction through {line.center}"
    if "accuracy" not in line.quantity and np.all(line.values > 0):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(line.quantity, fontsize=9)
    if drawn:
        worst = max(drawn, key=line.gap)
        note = (f"worst |true − drawn| {line.quantity} along the paths: {line.gap(worst):.3f} "
                f"({worst})")
    else:
        off = np.mean([np.mean(f[1:]) if len(f) > 1 else 0.0 for f in line.off_line.values()])
        note = f"paths not drawn: on average {off:.0%} of each displacement lies off the line"
    ax.set_title(f"{title}: {heading}\n{note}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    if below is not None:
        per_epoch = max(1, line.steps_per_epoch)
        for name in drawn:
            epochs = np.asarray(line.steps[name]) / per_epoch
            below.plot(epochs, line.path_values[name], "-", color=colours[name], lw=1.4,
                       label=name)
            below.plot(epochs, line.line_values[name], ":", color=colours[name], lw=1.2)
        if "accuracy" not in line.quantity:
            below.set_yscale("log")
        below.set_xlabel("epoch", fontsize=9)
        below.set_ylabel(line.quantity, fontsize=9)
        below.set_title(f"{line.quantity} along each path: true (solid) and on the line at its "
                        f"projection (dotted)", fontsize=9)
        below.grid(alpha=0.3, which="both")
        below.legend(fontsize=7)
    return figure
