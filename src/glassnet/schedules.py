"""Learning-rate schedules.

A schedule maps a clock ``t`` and the initial rate ``lr0`` to the rate used
during the next epoch: ``lr = schedule(lr0, t)``. The clock counts epochs
(0 for the first) or, for a schedule whose ``unit`` is ``'sample'``, the
training rows seen so far (scikit-learn's ``invscaling`` counts those). The
training loop (:class:`glassnet.Trainer`) sets ``optimizer.lr`` from it at
the start of every epoch and reports each epoch's monitored value to
:meth:`Schedule.observe`, which the plateau schedules use; a schedule that
has nothing left to try (:class:`Adaptive` at its smallest rate) says so with
``finished`` and the loop stops.

:class:`Plateau` is the one rule for "the monitored value stopped
improving", shared by :class:`ReduceOnPlateau`, :class:`Adaptive` and
:class:`glassnet.EarlyStopping`.
"""

from __future__ import annotations

import math

__all__ = [
    "SCHEDULES",
    "Adaptive",
    "Constant",
    "Cosine",
    "ExponentialDecay",
    "InverseScaling",
    "Plateau",
    "ReduceOnPlateau",
    "Schedule",
    "StepDecay",
    "Warmup",
    "check_monitor",
    "get_schedule",
]


class Plateau:
    """Counts epochs without improvement of a monitored value (scikit-learn's rule).

    An epoch *improves* when its value beats the best so far by at least
    ``min_delta``: ``value <= best − min_delta`` for a loss, or
    ``value >= best + min_delta`` for a score (``higher_is_better``).
    ``best`` follows every new best value, whether or not it improved by
    ``min_delta``, so a run of gains each smaller than ``min_delta`` counts
    as a plateau. ``bad_epochs`` is the number of epochs since the last
    improvement.
    """

    def __init__(self, min_delta=0.0, higher_is_better=False):
        self.min_delta = float(min_delta)
        self.higher_is_better = bool(higher_is_better)
        self.best = -math.inf if higher_is_better else math.inf
        self.bad_epochs = 0

    def update(self, value):
        """Count one epoch's ``value``; returns True when it is a new best."""
        if self.higher_is_better:
            improved = value >= self.best + self.min_delta
            new_best = value > self.best
        else:
            improved = value <= self.best - self.min_delta
            new_best = value < self.best
        self.bad_epochs = 0 if improved else self.bad_epochs + 1
        if new_best:
            self.best = value
        return new_best

    def __repr__(self):
        return (f"Plateau(best={self.best!r}, bad_epochs={self.bad_epochs}, "
                f"min_delta={self.min_delta!r})")


def check_monitor(monitor):
    """``monitor`` if it names an epoch log the loop can watch, else a ValueError."""
    if monitor not in ("val_loss", "loss", "val_score"):
        raise ValueError(f"monitor must be 'val_loss', 'loss' or 'val_score', got {monitor!r}")
    return monitor


class Schedule:
    """Base class: ``__call__(lr0, t)`` and ``observe(value)``.

    Class attributes the loop reads: ``unit`` (``'epoch'`` or ``'sample'``,
    what ``t`` counts), ``monitor`` (which epoch log :meth:`observe` receives:
    ``'val_loss'``, falling back to ``'loss'`` without validation data,
    ``'loss'`` or ``'val_score'``) and ``finished``.
    """

    name = "schedule"
    unit = "epoch"
    monitor = "val_loss"

    def __call__(self, lr0, t):  # pragma: no cover - interface
        raise NotImplementedError

    def observe(self, value):
        """Called with each epoch's monitored value; most schedules ignore it."""

    @property
    def finished(self):
        """True when the schedule has nothing left to try; the loop then stops."""
        return False

    def config(self):
        return {"name": self.name, **{k: v for k, v in vars(self).items()
                                      if not k.startswith("_")}}

    def __repr__(self):
        cfg = self.config()
        cfg.pop("name")
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in cfg.items())})"


class Constant(Schedule):
    """``lr = lr0``."""

    name = "constant"

    def __call__(self, lr0, t):
        return lr0


class StepDecay(Schedule):
    """``lr = lr0 · γ^⌊t / step_size⌋``: drop by ``γ`` every ``step_size`` epochs."""

    name = "step"

    def __init__(self, step_size=100, gamma=0.5):
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)

    def __call__(self, lr0, t):
        return lr0 * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """Annealing: ``lr = lr0 · γ^t`` with ``0 < γ <= 1``."""

    name = "exponential"

    def __init__(self, gamma=0.99):
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        self.gamma = float(gamma)

    def __call__(self, lr0, t):
        return lr0 * self.gamma ** t


class InverseScaling(Schedule):
    """``lr = lr0 / (t + 1)^power`` (``lr0 / t^power`` counting from 1).

    With ``unit='epoch'`` (the default) ``t`` counts epochs; with
    ``unit='sample'`` it counts the training rows seen before the epoch,
    which is scikit-learn's ``learning_rate='invscaling'``
    (``learning_rate_init / (t_ + 1)^power_t``).
    """

    name = "invscaling"

    def __init__(self, power=0.5, unit="epoch"):
        if power < 0:
            raise ValueError(f"power must be >= 0, got {power}")
        if unit not in ("epoch", "sample"):
            raise ValueError(f"unit must be 'epoch' or 'sample', got {unit!r}")
        self.power = float(power)
        self.unit = unit

    def __call__(self, lr0, t):
        return lr0 / (t + 1) ** self.power


class Cosine(Schedule):
    """Cosine annealing over ``period`` epochs:
    ``lr = min_lr + (lr0 − min_lr)·(1 + cos(π·t/period))/2``, then ``min_lr``."""

    name = "cosine"

    def __init__(self, period=100, min_lr=0.0):
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period = int(period)
        self.min_lr = float(min_lr)

    def __call__(self, lr0, t):
        progress = min(t, self.period) / self.period
        return self.min_lr + (lr0 - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class _OnPlateau(Schedule):
    """A schedule that acts once the monitored value has not improved by
    ``threshold`` (the :class:`Plateau` rule) for more than ``patience`` epochs."""

    def __init__(self, patience, threshold, min_lr, monitor):
        self.patience = patience
        self.threshold = float(threshold)
        self.min_lr = float(min_lr)
        self.monitor = check_monitor(monitor)
        self._plateau = Plateau(threshold, higher_is_better=monitor == "val_score")

    @property
    def plateau(self):
        return self._plateau

    def observe(self, value):
        self._plateau.update(value)
        if self._plateau.bad_epochs > self.patience:
            self._on_plateau()

    def _on_plateau(self):  # pragma: no cover - interface
        raise NotImplementedError


class ReduceOnPlateau(_OnPlateau):
    """Multiply the rate by ``factor`` after more than ``patience`` epochs in
    which the monitored value did not improve by ``threshold`` (the
    :class:`Plateau` rule); never below ``min_lr``.
    """

    name = "plateau"

    def __init__(self, factor=0.5, patience=10, threshold=1e-4, min_lr=0.0, monitor="val_loss"):
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        self.factor = float(factor)
        super().__init__(int(patience), threshold, min_lr, monitor)
        self._scale = 1.0

    def _on_plateau(self):
        self._scale *= self.factor
        self._plateau.bad_epochs = 0

    def __call__(self, lr0, t):
        return max(lr0 * self._scale, self.min_lr)


class Adaptive(_OnPlateau):
    """scikit-learn's ``learning_rate='adaptive'``: ``lr0`` while the monitored
    value keeps improving; after more than ``patience`` epochs without an
    improvement of ``threshold`` (the :class:`Plateau` rule), divide the rate
    by ``divisor`` (5). A plateau reached when the rate is already at or below
    ``min_lr`` (1e-6) finishes the schedule, and the loop stops.

    scikit-learn's estimators monitor the training loss, or the validation
    score with ``early_stopping=True`` (``monitor='val_score'``), with
    ``patience = n_iter_no_change`` and ``threshold = tol``.
    """

    name = "adaptive"

    def __init__(self, patience=10, threshold=1e-4, divisor=5.0, min_lr=1e-6, monitor="loss"):
        if not divisor > 1:
            raise ValueError(f"divisor must be > 1, got {divisor}")
        self.divisor = float(divisor)
        super().__init__(patience, threshold, min_lr, monitor)
        self._divisions = 0
        self._lr = math.inf  # the rate last handed out
        self._finished = False

    @property
    def finished(self):
        return self._finished

    def __call__(self, lr0, t):
        lr = lr0
        for _ in range(self._divisions):
            lr /= self.divisor  # divided once per plateau, as scikit-learn does
        self._lr = lr
        return lr

    def _on_plateau(self):
        if self._lr <= self.min_lr:
            self._finished = True
        else:
            self._divisions += 1
            self._plateau.bad_epochs = 0


class Warmup(Schedule):
    """Warm up, hold, then hand over to another schedule.

    The rate climbs geometrically from ``start_factor·lr0`` to ``lr0`` over
    ``epochs`` epochs, stays at ``lr0`` for ``hold`` epochs, then follows
    ``then`` counted from 0 (or stays at ``lr0`` without one)::

        lr = lr0 · start_factor^(1 − t/epochs)      t < epochs
        lr = lr0                                    epochs <= t < epochs + hold
        lr = then(lr0, t − epochs − hold)           afterwards

    A large rate applied from the first step can fling the weights far
    before the loss has settled into a valley; warming up takes the run there
    first. With ``then=Cosine(...)`` this is the warm-up, stable, decay shape.
    """

    name = "warmup"

    def __init__(self, epochs=5, start_factor=0.1, hold=0, then=None):
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        if not 0 < start_factor <= 1:
            raise ValueError(f"start_factor must be in (0, 1], got {start_factor}")
        if hold < 0:
            raise ValueError(f"hold must be >= 0, got {hold}")
        self.epochs = int(epochs)
        self.start_factor = float(start_factor)
        self.hold = int(hold)
        self.then = None if then is None else get_schedule(then)

    def __call__(self, lr0, t):
        if t < self.epochs:
            return lr0 * self.start_factor ** (1.0 - t / self.epochs)
        if self.then is None or t < self.epochs + self.hold:
            return lr0
        return self.then(lr0, t - self.epochs - self.hold)

    def observe(self, loss):
        if self.then is not None:
            self.then.observe(loss)

    @property
    def monitor(self):
        return Schedule.monitor if self.then is None else self.then.monitor

    @property
    def finished(self):
        return self.then is not None and self.then.finished

    def config(self):
        cfg = super().config()
        if self.then is not None:
            cfg["then"] = self.then.config()
        return cfg


SCHEDULES = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "annealing": ExponentialDecay,
    "invscaling": InverseScaling,
    "cosine": Cosine,
    "plateau": ReduceOnPlateau,
    "adaptive": Adaptive,
}


def get_schedule(spec, **options):
    """A :class:`Schedule` from an instance, ``None`` (constant) or a name."""
    if spec is None:
        return Constant()
    if isinstance(spec, Schedule):
        return spec
    try:
        cls = SCHEDULES[spec]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(SCHEDULES))
        raise ValueError(f"unknown schedule {spec!r}; valid names: {valid}") from None
    return cls(**options)
