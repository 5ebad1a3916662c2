"""What a run's evidence says, and what to try next: the advisor behind every note.

``glassnet train``, ``glassnet search``'s refit and anything else that reports on
a run print the notes this module writes. Each note is a claim about the run,
so each one is triggered by a measurement of the run's own history, never by a
setting alone:

| note | evidence (``L`` the training loss per epoch, ``V`` the held-out loss) |
| --- | --- |
| diverging | ``L`` ended ≥ :data:`DIVERGING_GROWTH` (10) times its lowest value and above its first: the rate is too large |
| unstable | ``L`` ended ≥ :data:`UNSTABLE_GROWTH` (1.5) times its lowest value and rose in at least :data:`UNSTABLE_RISES` (30 %) of the epochs of the run's second half, or ended more than :data:`STUCK_FALL` (3 %) above its first value: the steps overshoot |
| stuck | ``L`` never fell below its first value by :data:`STUCK_FALL` (3 %) |
| overfitting | ``V`` was lowest at epoch ``b``, no later than 80 % of the run, and ended ≥ :data:`OVERFIT_RISE` (10 %) above it while ``L`` kept falling after ``b`` (not when early stopping restored ``b``) |
| still learning | the run used all ``--epochs``, ``L`` was still falling by more than ``--tol`` and above :data:`LEARNT` (1 %) of its first value, and ``V`` (when there is one) was still falling and within 1 % of its lowest at the end |
| worse than linear | the network's score on the held-out rows is below the linear baseline's; what to try follows the diagnosis above |

A loss that grows past :data:`DIVERGENCE_FACTOR` (10⁶) times its first value
is not a run to report on: :func:`exploded` says so, and the command line ends
with an ``error:`` line naming a smaller ``--lr`` (see :func:`smaller_rate`).

Suggested values are chosen to be sensible for the run: a smaller rate is at
most a tenth of the one that misbehaved and, for full-batch gradient descent,
below ``2/λ_max`` (the sharpness, :func:`largest_stable_rate`): on the
quadratic ``L(w) = ½·λ·w²`` gradient descent ``w ← w − η·λ·w`` multiplies ``w``
by ``1 − η·λ`` each step, which shrinks only while ``η < 2/λ``. Fewer hidden
units are a quarter of each layer, never fewer than 2; more epochs are five
times as many, rounded up to 1, 2 or 5 times a power of ten.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DIVERGENCE_FACTOR",
    "Evidence",
    "Note",
    "advise",
    "dead_fraction",
    "diagnose",
    "exploded",
    "largest_stable_rate",
    "more_epochs",
    "smaller_rate",
]

#: A training loss above this many times its first value is divergence, even while finite.
DIVERGENCE_FACTOR = 1e6
#: ``L[-1] / min(L)`` from which a run is called diverging.
DIVERGING_GROWTH = 10.0
#: ``L[-1] / min(L)`` from which a run whose loss keeps rising and falling is unstable.
UNSTABLE_GROWTH = 1.5
#: The share of rising epochs in the second half of an unstable run.
UNSTABLE_RISES = 0.3
#: A run whose loss fell by less than this fraction of its first value is stuck.
STUCK_FALL = 0.03
#: How far above its lowest value the held-out loss must end to call a run overfitting.
OVERFIT_RISE = 0.10
#: A training loss below this fraction of its first value has learnt its rows: not
#: "still learning" however it falls.
LEARNT = 0.01
#: The fewest epochs for the diagnoses that read a trend.
MIN_EPOCHS = 5
#: The largest ``parameters × rows`` on which :func:`largest_stable_rate` runs.
SHARPNESS_BUDGET = 5_000_000


@dataclass
class Note:
    """One line of advice: ``kind`` (``"diverging"``, ``"unstable"``, ``"stuck"``,
    ``"overfitting"``, ``"still_learning"``, ``"worse_than_linear"``) and its ``text``."""

    kind: str
    text: str

    def __str__(self):
        return self.text


@dataclass
class Evidence:
    """What the advisor reads about a run.

    ``train_loss`` and ``held_out_loss`` are per epoch (``held_out_name`` says
    which rows: ``"test"`` or ``"validation"``); ``stop_reason`` is
    why the run ended, as metrics.json's ``stopped.reason`` says (``max_epochs``,
    ``tol``, ``early_stopping``, ...) and ``still_improving`` whether the loss was still
    falling by more than ``tol`` when the epochs ran out. ``metrics`` holds the
    network's ``train`` and ``test`` metrics, ``baselines`` maps each baseline's
    name to ``{"kind", "train", "test"}``, ``metric`` is the score compared and
    ``rows`` the rows it was measured on (``"test"``, or ``"training"`` when
    every row was used for both). ``stable_rate`` is ``2/λ_max`` and
    ``dead_fraction`` the share of ReLU units that output 0 for every training
    row (:func:`dead_fraction`), when they were measured.
    """

    train_loss: list
    held_out_loss: list | None = None
    held_out_name: str = "test"
    epochs: int = 200
    lr: float = 0.001
    solver: str = "adam"
    stop_reason: str = "max_epochs"
    still_improving: bool = False
    task: str = "classification"
    hidden: tuple = (100,)
    alpha: float = 0.0001
    dropout: float = 0.0
    early_stopping: bool = False
    scale: str = "standard"
    scale_target: bool = False
    metric: str = "accuracy"
    metrics: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    rows: str = "test"
    stable_rate: float | None = None
    dead_fraction: float | None = None


def more_epochs(epochs):
    """A value to try for ``--epochs`` when the loss was still falling: five times as
    many, rounded up to 1, 2 or 5 times a power of ten (200 -> 1000, 3000 -> 20000)."""
    wanted = 5 * int(epochs)
    power = 10 ** math.floor(math.log10(wanted))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= wanted)


def _round_down(value):
    """The largest 1, 2 or 5 times a power of ten at most ``value`` (0.37 -> 0.2)."""
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (5, 2, 1) if step * power <= value * (1 + 1e-12))


def smaller_rate(lr, stable_rate=None):
    """A rate to try after ``lr`` misbehaved: a tenth of it, rounded down to 1, 2 or 5
    times a power of ten, and below ``stable_rate`` (``2/λ_max``) when that is known."""
    wanted = lr / 10
    if stable_rate is not None and math.isfinite(stable_rate) and stable_rate > 0:
        wanted = min(wanted, stable_rate / 2)
    return _round_down(wanted)


def exploded(train_loss, factor=DIVERGENCE_FACTOR):
    """True when the last loss is non-finite or above ``factor`` times the first."""
    if len(train_loss) < 2:
        return False
    first, last = float(train_loss[0]), float(train_loss[-1])
    if not math.isfinite(last):
        return True
    return math.isfinite(first) and last > factor * max(first, np.finfo(np.float64).tiny)


def largest_stable_rate(network, X, y, budget=SHARPNESS_BUDGET, iterations=100, seed=0):
    """``2/λ_max`` at the network's current weights, the largest rate at which
    full-batch gradient descent does not run away along the sharpest direction
    (see the module docstring), or None when ``parameters × rows`` is above
    ``budget`` (too slow to measure for a note) or the curvature is not positive.

    ``λ_max`` comes from :func:`glassnet.curvature.sharpness` (power iteration on
    exact Hessian-vector products); ``y`` is encoded as the network trains on it.
    """
    from .curvature import sharpness

    n_parameters = sum(p.size for p in network.parameters())
    if n_parameters * len(X) > budget:
        return None
    with np.errstate(all="ignore"):
        value = float(sharpness(network, X, y, iterations=iterations, seed=seed).value)
    if not math.isfinite(value) or value <= 0:
        return None
    return 2.0 / value


def dead_fraction(network, X):
    """The share of hidden ReLU units whose output is 0 for every row of ``X`` (their
    gradient is 0 too, so they never recover), or None without ReLU layers. Measured
    on a copy in evaluation mode: the fitted network's running statistics and dropout
    generator stay as they were."""
    network = copy.deepcopy(network)
    network.eval()
    network.forward(X.astype(network.dtype, copy=False))
    dead = [np.all(layer.A <= 0, axis=0) for layer in network.layers[:-1]
            if getattr(getattr(layer, "activation", None), "name", None) == "relu"
            and getattr(layer, "A", None) is not None]
    if not dead:
        return None
    return float(np.concatenate(dead).mean())


def diagnose(evidence):
    """The run's state from its loss curves: ``"diverging"``, ``"unstable"``,
    ``"stuck"``, ``"overfitting"``, ``"still_learning"`` or None (see the module
    docstring for the evidence each needs; the first that holds wins)."""
    loss = np.asarray(evidence.train_loss, dtype=np.float64)
    if loss.size < 2 or not np.isfinite(loss).all():
        return "diverging" if loss.size and not np.isfinite(loss[-1]) else None
    lowest, first, last = loss.min(), loss[0], loss[-1]
    if last >= DIVERGING_GROWTH * lowest and last > first:
        return "diverging"
    if loss.size < MIN_EPOCHS:
        return None
    second_half = np.diff(loss[loss.size // 2:])
    if last >= UNSTABLE_GROWTH * lowest and (second_half > 0).mean() >= UNSTABLE_RISES:
        return "unstable"
    if last > (1 + STUCK_FALL) * first:
        return "unstable"  # it ended above where it started: the steps overshoot
    if lowest > (1 - STUCK_FALL) * first:
        return "stuck"
    if _overfitting(evidence, loss) is not None:
        return "overfitting"
    if _still_learning(evidence):
        return "still_learning"
    return None


def _overfitting(evidence, loss):
    """``(best epoch index, rise)`` when the held-out loss turned up while the
    training loss kept falling, else None."""
    held = evidence.held_out_loss
    if held is None or len(held) != len(loss) or len(held) < 2 * MIN_EPOCHS:
        return None
    if evidence.stop_reason == "early_stopping":
        return None  # the model is the best epoch's: early stopping did its work
    held = np.asarray(held, dtype=np.float64)
    if not np.isfinite(held).all():
        return None
    best = int(held.argmin())
    rise = held[-1] / held[best] - 1 if held[best] > 0 else 0.0
    if best + 1 > 0.8 * len(held) or rise < OVERFIT_RISE or not loss[-1] < loss[best]:
        return None
    return best, float(rise)


def _still_learning(evidence):
    if evidence.stop_reason != "max_epochs" or not evidence.still_improving:
        return False
    loss = evidence.train_loss
    if loss[-1] < LEARNT * loss[0]:
        return False  # the rows are learnt: more epochs only sharpen its confidence
    held = evidence.held_out_loss
    if held is None or len(held) < 2:
        return True
    held = np.asarray(held, dtype=np.float64)
    tail = max(2, len(held) // 10)
    return bool(held[-1] <= 1.01 * held.min() and held[-1] < held[-tail])


def _fewer_units(hidden):
    """A quarter of each hidden layer, at least 2; None when every layer is already small."""
    if max(hidden) <= 8:
        return None
    return ",".join(str(max(2, h // 4)) for h in hidden)


def _regularise(evidence):
    """What to try against overfitting: never more epochs."""
    tries = []
    if not evidence.early_stopping and evidence.solver != "lbfgs":  # L-BFGS has no epochs
        tries.append("--early-stopping")
    tries.append(f"--alpha {max(1.0, evidence.alpha * 10):g}")
    if not evidence.dropout and evidence.solver != "lbfgs":
        tries.append("--dropout 0.2")
    fewer = _fewer_units(evidence.hidden)
    if fewer:
        tries.append(f"--hidden {fewer}")
    return tries


def _fmt(value):
    return f"{value:.4g}"


def _dynamics_note(kind, evidence):
    loss = np.asarray(evidence.train_loss, dtype=np.float64)
    n, lr = len(loss), evidence.lr
    epoch = "iteration" if evidence.solver == "lbfgs" else "epoch"
    if kind in ("diverging", "unstable"):
        lowest = int(loss.argmin())
        what = "grew" if kind == "diverging" else "went up and down, rising"
        text = (f"the training loss {what} from {_fmt(loss[lowest])} at {epoch} {lowest + 1} "
                f"to {_fmt(loss[-1])} at {epoch} {n}: the learning rate {lr:g} is too large; try "
                f"--lr {smaller_rate(lr, evidence.stable_rate)}")
        return Note(kind, text + _stable_rate_clause(evidence))
    if kind == "stuck":
        tries = []
        if evidence.scale == "none":
            tries.append("--scale standard")
        if evidence.task == "regression" and not evidence.scale_target:
            tries.append("--scale-target")
        tries.append(f"--lr {lr * 10:g}")
        if evidence.dead_fraction is not None and evidence.dead_fraction >= 0.5:
            tries.append(f"--activation tanh ({evidence.dead_fraction:.0%} of the ReLU units "
                         f"output 0 for every training row and learn nothing)")
        return Note(kind, f"the training loss hardly moved in {n} {epoch}s ({_fmt(loss[0])} -> "
                          f"{_fmt(loss[-1])}): the network is not learning; try "
                          f"{', '.join(tries)}")
    if kind == "overfitting":
        best, rise = _overfitting(evidence, loss)
        held = evidence.held_out_loss
        return Note(kind, f"the {evidence.held_out_name} loss was lowest at {epoch} {best + 1} of "
                          f"{n} ({_fmt(held[best])}) and ended {rise:.0%} above it while the "
                          f"training loss kept falling ({_fmt(loss[best])} -> "
                          f"{_fmt(loss[-1])}): the network learns its training rows' noise, "
                          f"and more {epoch}s make it worse; try {', '.join(_regularise(evidence))}")
    held = ("" if evidence.held_out_loss is None else
            f" and the {evidence.held_out_name} loss")
    return Note(kind, f"the training loss{held} {'were' if held else 'was'} still falling "
                      f"when the {evidence.epochs} epochs ran out: the network is still "
                      f"learning; try --epochs {more_epochs(evidence.epochs)} or --lr "
                      f"{lr * 3:g}")


def _stable_rate_clause(evidence):
    if evidence.stable_rate is None:
        return ""
    return (f" (at the starting weights 2/λ_max = {evidence.stable_rate:.3g}, the largest "
            f"stable rate for full-batch gradient descent)")


def _worse_than_linear(evidence, kind):
    """The line comparing the network with the linear baseline, with what to try
    following the diagnosis ``kind``; None when the network is as good."""
    metric, metrics = evidence.metric, evidence.metrics
    linear = next(((name, b) for name, b in evidence.baselines.items()
                   if b["kind"] == "linear"), None)
    if linear is None or not metrics:
        return None
    name, baseline = linear
    ours, theirs = metrics["test"].get(metric), baseline["test"].get(metric)
    if ours is None or theirs is None or ours >= theirs:
        return None
    tries, why = [], ""
    if evidence.task == "regression" and not evidence.scale_target:
        tries.append("--scale-target")
    if evidence.scale == "none":
        tries.append("--scale standard")
    fits_train = metrics["train"].get(metric)
    linear_train = baseline["train"].get(metric)
    underfits = fits_train is not None and linear_train is not None and fits_train < linear_train
    if kind in ("diverging", "unstable"):
        why = " with a learning rate too large (see the note above)"
        tries.append(f"--lr {smaller_rate(evidence.lr, evidence.stable_rate)}")
    elif kind == "still_learning":
        why = ": it is still learning (see the note above)"
        tries.append(f"--epochs {more_epochs(evidence.epochs)}")
    elif kind == "stuck":
        why = ": it is not learning (see the note above)"
    elif underfits:
        why = (f" and on its training rows ({metric} {fits_train:.4f} vs {linear_train:.4f}): "
               f"it has not learnt enough yet")
        if evidence.still_improving:
            tries.append(f"--epochs {more_epochs(evidence.epochs)}")
        tries.append(f"--lr {evidence.lr * 3:g}")
    elif fits_train is not None and linear_train is not None and evidence.rows == "test":
        why = (f" although it fits its training rows better ({metric} {fits_train:.4f} vs "
               f"{linear_train:.4f}): it learns their noise")
        tries += _regularise(evidence)
    text = (f"the network does worse than {name} on the {evidence.rows} rows ({metric} "
            f"{ours:.4f} vs {theirs:.4f}){why}")
    return Note("worse_than_linear", text + (f"; try {', '.join(tries)}" if tries else ""))


def advise(evidence):
    """The notes for a run: at most one about its loss curves (:func:`diagnose`) and
    one comparing it with the linear baseline. Returns a list of :class:`Note`."""
    kind = diagnose(evidence)
    notes = [] if kind is None else [_dynamics_note(kind, evidence)]
    linear = _worse_than_linear(evidence, kind)
    if linear is not None:
        notes.append(linear)
    return notes
