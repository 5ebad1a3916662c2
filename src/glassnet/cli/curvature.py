"""``glassnet train --track-sharpness``: the loss's sharpness ``λ_max`` during training,
beside the stability threshold ``2/η`` (the edge of stability), in history.csv,
metrics.json and sharpness.png."""

from __future__ import annotations

import math

import click
import numpy as np

__all__ = ["SHARPNESS_HELP", "sharpness_metrics", "sharpness_tracker", "write_sharpness"]

#: How many measurements ``--track-sharpness`` without a number aims at.
DEFAULT_MEASUREMENTS = 100

SHARPNESS_HELP = (
    "Measure the loss's sharpness λ_max (the Hessian's largest eigenvalue, by Lanczos on exact "
    "Hessian-vector products) every N epochs on the training rows; alone, about "
    f"{DEFAULT_MEASUREMENTS} times per run. Written to history.csv (sharpness), metrics.json "
    "and (unless --plots none) sharpness.png, beside the stability threshold 2/η of gradient descent at the "
    "epoch's rate η ((2+2β)/η with momentum β): full-batch gradient descent drives λ_max up "
    "to it and hovers there, the edge of stability.")


def sharpness_option(command):
    """The ``--track-sharpness [N]`` option (N: epochs between measurements; 0 or no
    value: about :data:`DEFAULT_MEASUREMENTS` per run)."""
    return click.option("--track-sharpness", "track_sharpness", type=click.IntRange(min=0),
                        is_flag=False, flag_value=0, default=None, metavar="[N]",
                        help=SHARPNESS_HELP)(command)


def measurement_interval(every, epochs):
    """``every`` epochs, or (0) the interval giving about 100 measurements in ``epochs``."""
    return every if every else max(1, math.ceil(epochs / DEFAULT_MEASUREMENTS))


def sharpness_tracker(every, epochs, prepared, X, y, scale_target):
    """A :class:`glassnet.curvature.SharpnessTracker` on the training rows ``X``, ``y``
    (encoded as the network sees them, standardised with ``scale_target``), or None
    when ``every`` is None (not asked for)."""
    if every is None:
        return None
    from ..curvature import SharpnessTracker
    from .health import network_targets

    return SharpnessTracker(X, network_targets(prepared, y, scale_target),
                            every=measurement_interval(every, epochs))


def _threshold(lr, solver, momentum, nesterov):
    """The stability threshold for each rate, or None for an adaptive optimiser."""
    from ..curvature import stability_threshold

    if solver != "sgd":
        return None
    return stability_threshold(lr, momentum, nesterov)


def sharpness_metrics(tracker, history, solver, momentum, nesterov):
    """metrics.json's ``sharpness``: every measurement and its threshold, and how
    the last one compares."""
    threshold = _threshold(np.asarray(tracker.lr), solver, momentum, nesterov)
    out = {"every": tracker.every, "epochs": tracker.epochs,
           "lambda_max": [round(v, 8) for v in tracker.values],
           "lr": tracker.lr, "products": int(sum(tracker.products))}
    if tracker.values:
        out["final"] = tracker.values[-1]
        out["max"] = max(tracker.values)
    if threshold is not None:
        out["threshold"] = [round(float(t), 8) for t in threshold]
        out["threshold_rule"] = ("2/lr" if not momentum else
                                 "(2+2m)/((1+2m)lr)" if nesterov else "(2+2m)/lr")
        if tracker.values:
            out["final_over_threshold"] = round(tracker.values[-1] / float(threshold[-1]), 6)
    else:
        out["threshold"] = None
        out["threshold_rule"] = f"none: {solver} adapts its step per weight"
    return out


def write_sharpness(outputs, tracker, history, solver, momentum, nesterov):
    """sharpness.png: λ_max against the threshold, the training loss beneath."""
    from ..plots import save_figure, sharpness_figure

    threshold = _threshold(np.asarray(history.lr, dtype=float), solver, momentum, nesterov)
    rule = ("2/η" if not momentum else f"(2+2β)/((1+2β)η), β = {momentum:g}" if nesterov
            else f"(2+2β)/η, β = {momentum:g}")
    label = None if threshold is None else f"stability threshold {rule}"
    figure = sharpness_figure(tracker.epochs, tracker.values, history.loss, threshold, label,
                              note=None if threshold is not None else
                              f"{solver} adapts its step per weight: no 2/η threshold applies")
    save_figure(figure, outputs.path("sharpness.png"))
