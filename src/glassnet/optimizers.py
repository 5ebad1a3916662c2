"""Optimisers: how a gradient becomes a step.

An optimiser sees only a list of parameter arrays ``θ`` and their gradients
``g = ∂L/∂θ`` (same order, same shapes) and updates each ``θ`` in place (or
writes the new values into arrays it is given, ``out``). It
keeps its own state (velocities, moment estimates) in arrays aligned with the
parameters, created on the first :meth:`~Optimizer.step`. It never looks
inside a layer. ``lr`` is a plain attribute that a schedule may change
between steps; ``initial_lr`` keeps the rate it was built with, which
schedules scale.

The update rules are PyTorch's (``torch.optim``), the same as scikit-learn's
for a constant learning rate; where they differ it is said below.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field

import numpy as np

from .flat import SpanCache, pack

__all__ = [
    "PRESETS",
    "SGD",
    "Adam",
    "AdamW",
    "Optimizer",
    "Preset",
    "RMSProp",
    "get_optimizer",
    "rmsprop_step",
]


class Optimizer:
    """Base class: ``lr`` (and ``initial_lr``), per-parameter ``state`` and the step counter ``t``.

    Every update rule is element by element, so when the parameters and the
    gradients are each laid end to end in one buffer (as
    :meth:`glassnet.Network.pack` lays them, see :mod:`glassnet.flat`) a step
    applies the rule once to the whole buffer, with the state kept the same
    way; ``state[i]`` are then views of it. Otherwise it applies the rule to
    each array in turn. Both give the same numbers.
    """

    def __init__(self, lr):
        lr = float(lr)
        if not lr > 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        self.lr = lr
        self.initial_lr = lr
        self.t = 0
        self.state = None
        self._flat_state = None
        self._params_span = SpanCache()
        self._grads_span = SpanCache()
        self._out_span = SpanCache()
        self._pieces_cache = None
        self._scratch_buffer = None

    @property
    def learning_rate(self):
        """``lr`` under scikit-learn's name (its estimators' ``_optimizer.learning_rate``)."""
        return self.lr

    @learning_rate.setter
    def learning_rate(self, value):
        self.lr = value

    def _init_state(self, params):
        """Allocate the state: per slot, one zeroed buffer laid out like the
        parameters (``state[i][slot]`` its views), or separate arrays when the
        parameters differ in dtype."""
        zeros = {name: [np.zeros_like(p) for p in params] for name in self.slots}
        if len({p.dtype for p in params}) != 1:
            self._flat_state = None
            return [{name: zeros[name][i] for name in self.slots} for i in range(len(params))]
        return self._lay_out_state(zeros, len(params))

    def _lay_out_state(self, columns, n_params):
        """Copy each slot's arrays (``columns[slot]``, aligned with the
        parameters) end to end into one buffer; returns ``state`` of views."""
        state = [{} for _ in range(n_params)]
        self._flat_state, self._pieces_cache = {}, None
        for name, arrays in columns.items():
            buffer, views = pack(arrays)
            self._flat_state[name] = buffer
            for slots, view in zip(state, views):
                slots[name] = view
        return state

    #: The names of the state arrays kept from step to step, each shaped like
    #: its parameter (``()``: none, as for plain SGD).
    slots = ()

    def _stale(self, params):
        """True when the state was made for other arrays (or not yet made)."""
        return self.state is None or len(self.state) != len(params) or any(
            s and next(iter(s.values())).shape != p.shape for s, p in zip(self.state, params))

    def _scratch(self, size, dtype):
        """A work array of ``size`` elements, reused from step to step (one per
        dtype): one piece's worth for a whole-buffer step, so that it stays in
        the cache."""
        buffers = self._scratch_buffer
        if buffers is None:
            buffers = self._scratch_buffer = {}
        scratch = buffers.get(np.dtype(dtype))
        if scratch is None or scratch.size < size:
            scratch = buffers[np.dtype(dtype)] = np.empty(size, dtype)
        return scratch[:size]

    def step(self, params, grads, out=None):
        """Update every ``params[i]`` in place from ``grads[i]``.

        With ``out`` (arrays shaped like ``params``), the new values go there
        instead and ``params`` keep the old ones, at no extra cost: the last
        pass of every rule writes its result anyway. The training loop uses
        this to alternate between two buffers, the one not in use holding the
        weights of the step before (see :meth:`glassnet.Trainer.step`).
        """
        if self._stale(params):
            self.state = self._init_state(params)
        self.t += 1
        if type(self.lr) is not float:
            # a NumPy scalar (from a schedule or a user) is not a "weak" scalar:
            # np.float64 would turn every float32 pass into a float64 one, 7x slower
            self.lr = float(self.lr)
        if self._flat_state is not None:
            whole_params, whole_grads = self._params_span(params), self._grads_span(grads)
            whole_out = whole_params if out is None else self._out_span(out)
            if whole_params is not None and whole_grads is not None and whole_out is not None:
                for piece in self._pieces(whole_params, whole_grads, whole_out):
                    self._update(*piece)
                return
        for p, g, s, o in zip(params, grads, self.state, params if out is None else out):
            self._update(p, g, s, o, self._scratch(p.size, p.dtype).reshape(p.shape))

    def _update(self, p, g, s, out, scratch):  # pragma: no cover - interface
        """The rule on one array (or piece): read ``p``, ``g`` and the state
        ``s`` (a dict of arrays by slot), update the state in place and write
        the new ``p`` into ``out`` (which may be ``p``); ``scratch`` is a work
        array shaped like ``p``, its contents undefined."""
        raise NotImplementedError

    def config(self):
        keys = [k for k in vars(self)
                if k not in ("state", "t", "initial_lr") and not k.startswith("_")]
        return {"name": self.name, **{k: getattr(self, k) for k in keys}}

    def __repr__(self):
        cfg = self.config()
        cfg.pop("name")
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in cfg.items())})"

    #: Elements per piece of a whole-buffer step: the rule runs on one piece of
    #: the parameters, gradients and state at a time, so that its several
    #: passes find the piece still in the core's cache (on the MNIST-shaped
    #: fit this made Adam's update about a tenth faster; plain SGD, with two
    #: passes, gains nothing and loses nothing).
    piece_size = 32768

    def _pieces(self, whole_params, whole_grads, whole_out):
        """``(params, grads, state, out, scratch)`` slices of the buffers,
        ``piece_size`` elements each, all sharing one piece-sized scratch
        array; the last two sets asked for are kept (a loop that alternates
        between two parameter buffers asks for two)."""
        key = (whole_params, whole_grads, whole_out)
        for known, pieces in self._pieces_cache or ():
            if all(map(operator.is_, key, known)):  # the same arrays, not equal ones
                return pieces
        size = self.piece_size
        scratch = self._scratch(min(size, whole_params.size), whole_params.dtype)
        pieces = [(whole_params[a:a + size], whole_grads[a:a + size],
                   {k: v[a:a + size] for k, v in self._flat_state.items()},
                   whole_out[a:a + size], scratch[:min(size, whole_params.size - a)])
                  for a in range(0, whole_params.size, size)]
        # the key holds the three arrays, so no other array can take their place
        self._pieces_cache = [*(self._pieces_cache or [])[-1:], (key, pieces)]
        return pieces

    def __getstate__(self):
        # a copy (pickle, deepcopy) stores the per-parameter state; views of one
        # buffer would come back as separate arrays, so the buffer is rebuilt
        state = {k: v for k, v in vars(self).items()
                 if k not in ("_flat_state", "_params_span", "_grads_span", "_out_span",
                              "_pieces_cache", "_scratch_buffer")}
        return state

    def __setstate__(self, state):
        vars(self).update(state)
        self._params_span, self._grads_span, self._out_span = SpanCache(), SpanCache(), SpanCache()
        self._flat_state = self._pieces_cache = self._scratch_buffer = None
        if not self.state:  # not made yet, or made for no parameters
            return
        # (a file from before scratch arrays left the state has them as a slot)
        self.state = [{name: slots[name] for name in self.slots} for slots in self.state]
        if len({p.dtype for slots in self.state for p in slots.values()}) <= 1:
            self.state = self._lay_out_state(
                {name: [slots[name] for slots in self.state] for name in self.slots},
                len(self.state))


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Plain (``momentum = 0``), the tutorial's rule:  ``θ ← θ − lr·g``.

    With momentum ``μ`` (``v`` starts at the first ``g``)::

        v ← μ·v + g
        θ ← θ − lr·v                    (heavy ball)
        θ ← θ − lr·(g + μ·v)            (Nesterov: look one step ahead)

    ``weight_decay`` λ adds ``λ·θ`` to ``g`` first (coupled L2). This is
    PyTorch's form. scikit-learn keeps ``u = −lr·v`` instead
    (``u ← μ·u − lr·g``), which takes the same steps while ``lr`` is constant.
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)

    @property
    def slots(self):
        return ("velocity",) if self.momentum else ()

    def _update(self, p, g, s, out, scratch):
        if self.weight_decay:
            g = g + self.weight_decay * p
        step = scratch
        if self.momentum:
            v = s["velocity"]
            if self.t == 1:
                np.copyto(v, g)  # v starts at g, as in PyTorch
            else:
                v *= self.momentum
                v += g  # v ← μ·v + g
            if self.nesterov:
                np.multiply(v, self.momentum, out=step)
                step += g  # g + μ·v
                g = step
            else:
                g = v
        np.multiply(g, self.lr, out=step)
        np.subtract(p, step, out=out)  # θ ← θ − lr·g


class RMSProp(Optimizer):
    """RMSProp: scale each step by a running root-mean-square of the gradients.

    ::

        s ← ρ·s + (1 − ρ)·g²
        θ ← θ − lr·g / (√s + ε)

    ``rho`` is PyTorch's ``alpha`` (default 0.99); ``weight_decay`` as in SGD.
    """

    name = "rmsprop"
    slots = ("square_avg",)

    def __init__(self, lr=0.01, rho=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"rho must be in [0, 1), got {rho}")
        self.rho = float(rho)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _update(self, p, g, s, out, scratch):
        if self.weight_decay:
            g = g + self.weight_decay * p
        rmsprop_step(p, g, s["square_avg"], scratch, out, self.lr, self.rho, self.eps)


def rmsprop_step(p, g, sq, scratch, out, lr, rho, eps):
    """RMSProp's update in place: ``s ← ρ·s + (1 − ρ)·g²``, ``out ← θ − lr·g/(√s + ε)``.
    ``lr``, ``rho`` and ``eps`` are numbers, or columns of per-network values when
    :mod:`glassnet.stack` steps many networks at once (rows of ``p`` are networks)."""
    sq *= rho
    np.multiply(g, g, out=scratch)
    scratch *= 1.0 - rho
    sq += scratch  # s ← ρ·s + (1 − ρ)·g²
    np.sqrt(sq, out=scratch)
    scratch += eps
    np.divide(g, scratch, out=scratch)
    scratch *= lr
    np.subtract(p, scratch, out=out)  # θ ← θ − lr·g/(√s + ε)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): momentum on ``g`` and on ``g²``, bias-corrected.

    ::

        m ← β1·m + (1 − β1)·g            first moment
        v ← β2·v + (1 − β2)·g²           second moment
        m̂ = m/(1 − β1^t),  v̂ = v/(1 − β2^t)
        θ ← θ − lr·m̂ / (√v̂ + ε)

    ``weight_decay`` adds ``λ·θ`` to ``g`` (coupled L2, PyTorch's ``Adam``).
    scikit-learn folds the corrections into the rate,
    ``θ ← θ − lr·√(1 − β2^t)/(1 − β1^t)·m/(√v + ε)``, which puts ``ε`` on a
    slightly different scale; the two agree when ``ε`` is negligible.
    """

    name = "adam"
    slots = ("m", "v")
    decoupled = False

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{label} must be in [0, 1), got {beta}")
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _update(self, p, g, s, out, scratch):
        if self.weight_decay:
            if self.decoupled:
                # AdamW: θ ← θ − lr·λ·θ, then the Adam step from there
                p = np.multiply(p, 1.0 - self.lr * self.weight_decay, out=out)
            else:
                g = g + self.weight_decay * p
        m, v = s["m"], s["v"]
        m *= self.beta1
        np.multiply(g, 1.0 - self.beta1, out=scratch)
        m += scratch  # m ← β1·m + (1 − β1)·g
        v *= self.beta2
        np.multiply(g, g, out=scratch)
        scratch *= 1.0 - self.beta2
        v += scratch  # v ← β2·v + (1 − β2)·g²
        # lr·m̂/(√v̂ + ε) = m/d with d = (√v/√c2 + ε)/k, k = lr/c1, c_i = 1 − β_i^t:
        # the same quotient with the two scalings folded into one pass over d
        k = self.lr / (1.0 - self.beta1 ** self.t)
        # math.sqrt: a Python float keeps the pass in the array's dtype, where
        # np.sqrt's float64 scalar would make a float32 pass 7x slower
        scale = math.inf if k == 0.0 else 1.0 / (k * math.sqrt(1.0 - self.beta2 ** self.t))
        if scale > float(np.finfo(scratch.dtype).max):
            # a schedule may take lr to 0, or so near it that the folded scale
            # overflows the dtype (and the step is below its resolution anyway):
            # the moments move, θ does not
            if out is not p:
                np.copyto(out, p)
            return
        np.sqrt(v, out=scratch)
        scratch *= scale
        scratch += self.eps / k  # d
        np.divide(m, scratch, out=scratch)
        np.subtract(p, scratch, out=out)  # θ ← θ − lr·m̂/(√v̂ + ε)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    Before the Adam step, ``θ ← θ·(1 − lr·λ)``: the decay shrinks the weights
    directly instead of passing through the adaptive scaling of ``g``.
    Default ``weight_decay`` 0.01, as in PyTorch.
    """

    name = "adamw"
    decoupled = True

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(lr, beta1, beta2, eps, weight_decay)


# -- the registry: a name and its options give an optimiser ----------------------------
@dataclass(frozen=True)
class Preset:
    """A named optimiser: its class, a description, and options for the constructor."""

    optimizer: type
    description: str
    options: dict = field(default_factory=dict)


PRESETS = {
    "sgd": Preset(SGD, "plain gradient descent: θ ← θ − lr·g"),
    "gd": Preset(SGD, "plain gradient descent (the same as sgd)"),
    "momentum": Preset(SGD, "SGD with momentum 0.9", {"momentum": 0.9}),
    "nesterov": Preset(SGD, "SGD with Nesterov momentum 0.9", {"momentum": 0.9, "nesterov": True}),
    "rmsprop": Preset(RMSProp, "RMSProp: steps scaled by a running RMS of the gradients"),
    "adam": Preset(Adam, "Adam: bias-corrected moments of g and g²"),
    "adamw": Preset(AdamW, "AdamW: Adam with decoupled weight decay"),
}


def get_optimizer(spec, lr=None, **options):
    """An :class:`Optimizer` from an instance (returned as is) or a name in :data:`PRESETS`.

    This is the one table from a name to an optimiser: the estimators'
    ``solver``, :func:`glassnet.train`'s ``optimizer``, the command line's
    ``--solver`` and the landscape's presets all come through here. ``lr`` is
    the rate (the class default when None) and ``options`` go to the
    constructor over the preset's own (``momentum``, ``nesterov``, ``beta1``,
    ``eps``, …).
    """
    if isinstance(spec, Optimizer):
        return spec
    try:
        preset = PRESETS[spec]
    except (KeyError, TypeError):
        raise ValueError(f"unknown optimizer {spec!r}; valid names: "
                         f"{', '.join(sorted(PRESETS))}") from None
    options = {**preset.options, **options}
    if lr is not None:
        options["lr"] = lr
    return preset.optimizer(**options)
