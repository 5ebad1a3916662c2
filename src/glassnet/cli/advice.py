"""The advisor on the command line: the notes after ``train`` and ``search``'s refit,
and the guard that ends a run whose loss ran away.

The notes themselves come from :mod:`glassnet.advice`, which reads the run's
history; this module gathers that evidence from a fitted estimator and the
held-out curve, and measures the sharpness (``2/λ_max``) when a note about the
learning rate can use it.
"""

from __future__ import annotations

import copy
import re

from ..advice import (
    Evidence,
    advise,
    dead_fraction,
    diagnose,
    exploded,
    largest_stable_rate,
    more_epochs,
)
from ..training import Callback

__all__ = ["DivergenceGuard", "LossExploded", "as_search_params", "more_epochs", "run_notes"]


class LossExploded(Exception):
    """The training loss passed :data:`glassnet.advice.DIVERGENCE_FACTOR` times its
    first value (or became non-finite) at the end of epoch ``epoch`` (from 1)."""

    def __init__(self, epoch, first, last):
        super().__init__(f"the training loss grew from {first:.4g} to {last:.4g}")
        self.epoch, self.first, self.last = epoch, first, last


class DivergenceGuard(Callback):
    """Keep a copy of the starting network (to measure its sharpness if the run
    diverges) and raise :class:`LossExploded` when the epoch loss runs away."""

    def __init__(self):
        self.start, self.losses = None, []

    def on_train_begin(self, trainer):
        self.start, self.losses = copy.deepcopy(trainer.network), []

    def on_epoch_end(self, trainer, epoch, logs):
        self.losses.append(float(logs["loss"]))
        if exploded(self.losses):
            raise LossExploded(len(self.losses), self.losses[0], self.losses[-1])

    def stable_rate(self, solver, X, Y):
        """``2/λ_max`` at the starting weights for ``--solver sgd`` (the bound is
        gradient descent's; an adaptive solver rescales each step), else None."""
        if solver != "sgd" or self.start is None:
            return None
        dtype = self.start.dtype
        return largest_stable_rate(self.start, X.astype(dtype, copy=False),
                                   Y.astype(dtype, copy=False))


# a note's flag with its value: "--alpha 1", "--hidden 16,8", "--lr 0.003"
_FLAG = re.compile(r"--(alpha|hidden|lr|epochs|dropout|activation) ([\w.+-]+(?:,\d+)*)")


def as_search_params(text):
    """A note in ``glassnet search``'s terms: ``--alpha 1`` becomes ``--param alpha=1``
    (``--hidden 16,8`` becomes ``--param hidden=16x8``, search's way of writing layers)."""
    def param(match):
        name, value = match.groups()
        return f"--param {name}={value.replace(',', 'x') if name == 'hidden' else value}"

    return _FLAG.sub(param, text)


def run_notes(estimator, settings, metrics, stopped, curve=None, guard=None, X=None, Y=None):
    """The advisor's notes (strings) for a fitted estimator.

    ``settings`` holds the run's ``task``, ``epochs``, ``lr``, ``solver``,
    ``hidden``, ``alpha``, ``dropout``, ``scale``,
    ``scale_target``, ``early_stopping``, ``metric`` and ``rows``; ``curve`` is
    the held-out :class:`~glassnet.cli.progress.HeldOutCurve` (else the
    estimator's validation loss is read, when early stopping kept one);
    ``guard``, ``X`` and ``Y`` (encoded as the network trains on them) let a
    note about the learning rate give ``2/λ_max``.
    """
    history = estimator.history_
    held, name = None, "test"
    if curve is not None and len(curve.loss) == len(history.loss):
        held = curve.loss
    elif history.val_loss and len(history.val_loss) == len(history.loss):
        held, name = history.val_loss, "validation"
    evidence = Evidence(
        train_loss=list(history.loss), held_out_loss=held, held_out_name=name,
        stop_reason=stopped["reason"], still_improving=stopped.get("still_improving", False),
        metrics={"train": metrics["train"], "test": metrics["test"]},
        baselines=metrics.get("baselines", {}), **settings)
    kind = diagnose(evidence)
    if guard is not None and X is not None and kind in ("diverging", "unstable"):
        evidence.stable_rate = guard.stable_rate(evidence.solver, X, Y)
    if X is not None and kind == "stuck":
        evidence.dead_fraction = dead_fraction(estimator.network_, X)
    return [note.text for note in advise(evidence)]
