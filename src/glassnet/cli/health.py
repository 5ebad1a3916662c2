"""``glassnet train --dynamics``: the training-dynamics figures and the layers' health
(histograms inside the layers at chosen epochs, the update-to-data ratio per step),
with the numbers in metrics.json and history.csv for whatever reads a run."""

from __future__ import annotations

import math

import click
import numpy as np

__all__ = ["DYNAMICS_HELP", "dynamics_option", "health_epochs", "health_metrics",
           "health_recorder", "network_targets", "update_ratio_columns", "write_health"]

DYNAMICS_HELP = (
    "Record how the layers train: per-layer gradient norms and dead/saturated units "
    "(gradient_norms.png, unit_health.png), histograms of each hidden layer's "
    "pre-activations, activations and gradients at chosen epochs (health_histograms.png; "
    "EPOCHS like 1,50,200, default the first, a quarter, half way and the last) and the "
    "update-to-data ratio ||ΔW||/||W|| of every layer at every step against the usual 1e-3 "
    "(update_ratio.png). The numbers go to metrics.json (health) and history.csv "
    "(update_ratio_1, ...).")


def dynamics_option(command):
    """``--dynamics [EPOCHS]``: EPOCHS a comma-separated list (counting from 1);
    no value, the default epochs (:func:`health_epochs`)."""
    return click.option("--dynamics", type=str, is_flag=False, flag_value="default",
                        default=None, metavar="[EPOCHS]", help=DYNAMICS_HELP)(command)


def health_epochs(text, epochs):
    """The epochs to take histograms at: ``text`` like ``'1,50,200'``, or for
    ``'default'`` the first, a quarter, half way (the last is always added)."""
    if text == "default":
        return sorted({1, max(1, math.ceil(epochs / 4)), max(1, math.ceil(epochs / 2))})
    try:
        chosen = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise click.BadParameter(f"expected epochs like 1,50,200, got {text!r}",
                                 param_hint="'--dynamics'") from None
    if not chosen or chosen[0] < 1 or chosen[-1] > epochs:
        raise click.BadParameter(f"epochs must be between 1 and --epochs ({epochs}), got "
                                 f"{text!r}", param_hint="'--dynamics'")
    return chosen


def network_targets(prepared, y, scale_target):
    """``y`` as the network sees it: one-hot or 0/1 classes, or the values
    (standardised with ``scale_target``), one column per output."""
    from ..io import Scaler
    from ..tables import encode_targets

    Y = encode_targets(prepared, y)
    return Scaler("standard").fit(Y).transform(Y) if scale_target else Y


def health_recorder(dynamics, epochs, prepared, X, y, scale_target):
    """A :class:`glassnet.dynamics.TrainingHealth` on the training rows, or None."""
    if dynamics is None:
        return None
    from ..dynamics import TrainingHealth

    return TrainingHealth(X, network_targets(prepared, y, scale_target),
                          epochs=health_epochs(dynamics, epochs))


def update_ratio_columns(health, n_epochs):
    """history.csv's ``update_ratio_<layer>`` columns: each epoch's mean ratio."""
    if health is None:
        return {}
    table = health.update_ratio_by_epoch(n_epochs)
    return {f"update_ratio_{k + 1}": table[:, k] for k in range(table.shape[1])}


def health_metrics(health):
    """metrics.json's ``health``: per dense layer the update-to-data ratio (last,
    median and largest over the run, steps above 1e-2), and per hidden layer
    and histogram epoch the summaries (saturated or dead share, spreads)."""
    from ..dynamics import UPDATE_RATIO_REFERENCE

    ratios = np.array(health.update_ratios, dtype=float)
    layers = []
    for k in range(ratios.shape[1] if ratios.ndim == 2 else 0):
        column = ratios[:, k]
        layers.append({"layer": k + 1, "last": float(column[-1]),
                       "median": float(np.median(column)), "max": float(column.max()),
                       "steps_above_1e-2": int(np.sum(column > 1e-2))})
    return {"update_ratio_reference": UPDATE_RATIO_REFERENCE,
            "update_ratio": layers, "activations": health.activations,
            "layers": {str(epoch): summary for epoch, summary in
                       sorted(health.summaries.items())}}


def write_health(outputs, health):
    """health_histograms.png and update_ratio.png."""
    from ..dynamics import health_histogram_figure, update_ratio_figure
    from ..plots import save_figure

    if health.histograms:
        save_figure(health_histogram_figure(health), outputs.path("health_histograms.png"))
    if health.update_ratios:
        save_figure(update_ratio_figure(health), outputs.path("update_ratio.png"))
