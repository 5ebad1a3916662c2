"""Learning-rate schedules.

A schedule maps the epoch number ``t`` (0 for the first epoch) and the initial
rate ``lr0`` to the rate used during that epoch: ``lr = schedule(lr0, t)``.
The training loop sets ``optimizer.lr`` from it at the start of every epoch
and reports each epoch's loss with :meth:`Schedule.observe`, which only
:class:`ReduceOnPlateau` uses.
"""

from __future__ import annotations

import math

__all__ = [
    "SCHEDULES",
    "Constant",
    "Cosine",
    "ExponentialDecay",
    "InverseScaling",
    "ReduceOnPlateau",
    "Schedule",
    "StepDecay",
    "Warmup",
    "get_schedule",
]


class Schedule:
    """Base class: ``__call__(lr0, t)`` and ``observe(loss)``."""

    name = "schedule"

    def __call__(self, lr0, t):  # pragma: no cover - interface
        raise NotImplementedError

    def observe(self, loss):
        """Called with each epoch's monitored loss; most schedules ignore it."""

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
    """``lr = lr0 / (t + 1)^power`` (``lr0 / t^power`` counting epochs from 1)."""

    name = "invscaling"

    def __init__(self, power=0.5):
        if power < 0:
            raise ValueError(f"power must be >= 0, got {power}")
        self.power = float(power)

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


class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when the loss has not improved by more
    than ``threshold`` for ``patience`` epochs; never below ``min_lr``.

    scikit-learn's ``learning_rate='adaptive'`` is this with factor 1/5,
    patience ``n_iter_no_change``.
    """

    name = "plateau"

    def __init__(self, factor=0.5, patience=10, threshold=1e-4, min_lr=0.0):
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        self.factor = float(factor)
        self.patience = int(patience)
        self.threshold = float(threshold)
        self.min_lr = float(min_lr)
        self._scale = 1.0
        self._best = math.inf
        self._bad_epochs = 0

    def observe(self, loss):
        if loss < self._best - self.threshold:
            self._best = loss
            self._bad_epochs = 0
            return
        self._best = min(self._best, loss)
        self._bad_epochs += 1
        if self._bad_epochs > self.patience:
            self._scale *= self.factor
            self._bad_epochs = 0

    def __call__(self, lr0, t):
        return max(lr0 * self._scale, self.min_lr)


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
